/**
 * `@sa-unet/tfjs-kernels`: training kernels for TensorFlow.js.
 *
 * Stock `@tensorflow/tfjs-backend-wasm` cannot train convolutional networks (it has no
 * Conv2DBackpropFilter and no depthwise backprop kernels) and the pure-JS cpu backend computes
 * them very slowly. {@link registerTrainingKernels} registers fast, exact ones built from each
 * backend's own forward kernels.
 *
 * @packageDocumentation
 */
export {
  registerTrainingKernels,
  unregisterTrainingKernels,
  hasTrainingKernel,
  SUPPORTED_BACKENDS,
  type SupportedBackend,
  type RegisterTrainingKernelsOptions,
} from './register.js';
export {
  conv2dGradConfig, cumsumGradConfig, depthToSpaceGradConfig, depthwiseConv2dGradConfig, gatherNdGradConfig, reluGradConfig, sigmoidGradConfig,
} from './gradients.js';
export { stridedSliceGradConfig } from './strided-slice.js';
export { fusedBatchNormGradConfig } from './batchnorm-gradient.js';
export { setupNodeWebGPU, describeWebGPUAdapter, type SetupNodeWebGPUOptions, type WebGPUAdapterDescription } from './webgpu/setup.js';
export { sumGradConfig, meanGradConfig, prodGradConfig } from './reduction-gradients.js';
export { ZERO_GRADIENT_KERNELS, zeroGradConfigs } from './zero-gradients.js';
export { RESIDENT_INPUT_KERNELS, MAX_CONSTANT_SIZE, MAX_CACHED_CONSTANTS, residentConstantCount } from './webgpu/resident-constants.js';
export { FusedAdamOptimizer, defaultAdamEpsilon, fusedAdam } from './fused-adam.js';
export { WASM_COPY_KERNELS } from './wasm/copy-kernels.js';
export { WASM_CHANNEL_REDUCTIONS } from './wasm/channel-reductions.js';
export { WASM_CHANNEL_OPS } from './wasm/channel-ops.js';
export { WASM_CONV_FORWARD_KERNELS } from './wasm/conv-forward.js';
export { EMPTY_SAFE_REDUCTIONS } from './empty-reductions.js';
export { EMPTY_INNER_MATMUL_KERNELS } from './matmul-empty-inner.js';
export { WEBGPU_EMPTY_OPERAND_KERNELS } from './webgpu/empty-operands.js';
export { WEBGPU_CUMULATIVE_KERNELS } from './webgpu/cumulative.js';
export { BATCH_NORM_KERNELS } from './own-kernels.js';
export { SOFT_DICE_KERNELS } from './webgpu/soft-dice.js';
export { CHANNEL_ATTENTION_KERNELS } from './webgpu/channel-attention.js';
export { REDUCTION_LAYOUT, type ReductionLayoutSetting } from './webgpu/grid.js';
export { SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL } from './webgpu/separable-conv.js';
export { RELU_GRAD_KERNEL, SIGMOID_GRAD_KERNEL } from './own-kernels.js';
export {
  cacheBindGroups, uncacheBindGroups, bindGroupCacheStats, BIND_GROUP_CACHE_FLAG, BIND_GROUP_CACHE_CAPACITY, type BindGroupCacheStats,
} from './webgpu/bind-group-cache.js';
export { WebGPUReplay, replayPredict, type WebGPUReplayOptions, type WebGPUReplayCounts } from './webgpu/replay.js';
export { replayTrainStep, type TrainableModel } from './webgpu/replay-train.js';
