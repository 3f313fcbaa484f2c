/**
 * registerTrainingKernels(): the gradient kernels tfjs lacks, or has only slow, on the CPU backends.
 */
import {
  findBackendFactory,
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterKernel, conv2dBackpropInputKernel } from './conv2d-backprop.js';
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from './depthwise-backprop.js';
import { fusedBatchNormGradConfig } from './batchnorm-gradient.js';
import {
  conv2dGradConfig, conv3dBackpropInputGradConfig, cumsumGradConfig, depthToSpaceGradConfig, depthwiseConv2dGradConfig, gatherNdGradConfig,
  reluGradConfig, sigmoidGradConfig,
} from './gradients.js';
import { meanGradConfig, prodGradConfig, sumGradConfig } from './reduction-gradients.js';
import { zeroGradConfigs, type ZERO_GRADIENT_KERNELS } from './zero-gradients.js';
import { forget, isOurKernel, rememberOurs, stockKernel } from './registry-state.js';
import { stridedSliceGradConfig, stridedSliceKernel } from './strided-slice.js';
import {
  webgpuConv2dBackpropFilter,
  webgpuConv2dBackpropInput,
  webgpuDepthwiseBackpropFilter,
  webgpuDepthwiseBackpropInput,
} from './webgpu/kernels.js';
import { webgpuBatchMoments, webgpuBatchNormGrad, webgpuBatchNormRelu } from './webgpu/batch-norm.js';
import { BATCH_NORM_KERNELS, RELU_GRAD_KERNEL, SIGMOID_GRAD_KERNEL } from './own-kernels.js';
import { SOFT_DICE_KERNELS, webgpuSoftDice, webgpuSoftDiceGrad } from './webgpu/soft-dice.js';
import { webgpuCast } from './webgpu/cast.js';
import { webgpuSplitV } from './webgpu/split.js';
import {
  CHANNEL_ATTENTION_KERNELS,
  webgpuChannelAttention,
  webgpuChannelAttentionGrad,
  webgpuChannelAttentionInputGrad,
  webgpuChannelAttentionInputGradDepthwise,
} from './webgpu/channel-attention.js';
import { SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL, webgpuSeparableConv2D, webgpuSeparableConv2DTraining } from './webgpu/separable-conv.js';
import { webgpuReluGrad, webgpuSigmoidGrad } from './webgpu/activation-grads.js';
import { RESIDENT_INPUT_KERNELS, withResidentConstants } from './webgpu/resident-constants.js';
import { followBindGroupCacheFlag, registerBindGroupCacheFlag, uncacheBindGroups } from './webgpu/bind-group-cache.js';
import { WASM_COPY_KERNELS, wasmCopyKernel } from './wasm/copy-kernels.js';
import { WASM_CONV_FORWARD_KERNELS, wasmConvForwardKernel } from './wasm/conv-forward.js';
import { resizeBilinearGradKernel } from './resize-bilinear-grad.js';
import { webgpuResizeGrad } from './webgpu/resize-grads.js';
import { resizeNearestNeighborGradKernel } from './resize-nearest-grad.js';
import { wasmMaxPoolGrad } from './wasm/max-pool-grad.js';
import { wasmMaxPoolWithArgmax } from './wasm/max-pool-with-argmax.js';
import { wasmEinsumKernel } from './wasm/einsum.js';
import { wasmConv3dBackpropFilterKernel, wasmConv3dBackpropInputKernel, wasmConv3dKernel } from './wasm/conv3d-slices.js';
import { EMPTY_SAFE_REDUCTIONS, emptySafeReduction } from './empty-reductions.js';
import { WASM_CHANNEL_REDUCTIONS, wasmChannelReduction } from './wasm/channel-reductions.js';
import { wasmFusedBatchNorm } from './wasm/batch-norm.js';
import { wasmBatchMoments, wasmBatchNormGrad } from './wasm/batch-norm-training.js';
import { wasmReluGrad } from './wasm/relu-grad.js';
import { WASM_CHANNEL_OPS, wasmChannelOp } from './wasm/channel-ops.js';
import { EMPTY_INNER_MATMUL_KERNELS, emptyInnerMatMulKernel } from './matmul-empty-inner.js';
import { wasmGatherKernel } from './wasm/gather-empty.js';
import { wasmTopKKernel } from './wasm/topk-empty.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';
import { conv3dBackpropFilterKernel, conv3dBackpropInputKernel, maxPool3dGradKernel, maxPool3dKernel } from './volumetric.js';
import { WEBGPU_EMPTY_OPERAND_KERNELS, webgpuEmptyOperandKernel } from './webgpu/empty-operands.js';
import { webgpuConvForward } from './webgpu/conv-forward.js';
import { WEBGPU_CUMULATIVE_KERNELS, webgpuCumulativeKernel } from './webgpu/cumulative.js';
import { dilation2dBackpropFilterKernel, dilation2dBackpropInputKernel, dilation2dKernel } from './dilation2d.js';
import { transformKernel } from './transform.js';
import { flatBincountKernel } from './bincount.js';
import { webgpuCropAndResize } from './webgpu/crop-and-resize.js';

/** Backends this package has kernels for. */
export const SUPPORTED_BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;
/** One of {@link SUPPORTED_BACKENDS}: 'cpu', 'wasm' or 'webgpu'. */
export type SupportedBackend = (typeof SUPPORTED_BACKENDS)[number];

/** The kernels registered for each backend (kernel name -> factory of the kernel function). */
const KERNELS: Record<SupportedBackend, Record<string, (backendName: string) => unknown>> = {
  cpu: {
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
    Conv2DBackpropInput: conv2dBackpropInputKernel,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
    ResizeBilinearGrad: resizeBilinearGradKernel,
    ResizeNearestNeighborGrad: resizeNearestNeighborGradKernel,
    UnsortedSegmentSum: unsortedSegmentSumKernel,
    MaxPool3DGrad: maxPool3dGradKernel,
    StridedSlice: stridedSliceKernel, // wasm's is corrected in its copy kernel
    Transform: transformKernel,
  },
  wasm: {
    ResizeBilinearGrad: resizeBilinearGradKernel,
    ResizeNearestNeighborGrad: resizeNearestNeighborGradKernel,
    MaxPoolGrad: wasmMaxPoolGrad,
    MaxPoolWithArgmax: wasmMaxPoolWithArgmax,
    Einsum: wasmEinsumKernel,
    Conv3D: wasmConv3dKernel,
    Bincount: flatBincountKernel,
    Transform: transformKernel,
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
    Conv2DBackpropInput: conv2dBackpropInputKernel,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
    ...Object.fromEntries(WASM_COPY_KERNELS.map((name) => [name, () => wasmCopyKernel(name)])),
    ...Object.fromEntries(WASM_CONV_FORWARD_KERNELS.map((name) => [name, () => wasmConvForwardKernel(name)])),
    ...Object.fromEntries(EMPTY_SAFE_REDUCTIONS.map((name) => [name, (backendName: string) => emptySafeReduction(name, backendName)])),
    // Over those two: sums and means over middle axes without the stock kernels' transpose.
    ...Object.fromEntries(WASM_CHANNEL_REDUCTIONS.map((name) => [name, (backendName: string) => wasmChannelReduction(name, emptySafeReduction(name, backendName))])),
    ...Object.fromEntries(EMPTY_INNER_MATMUL_KERNELS.map((name) => [name, (backendName: string) => emptyInnerMatMulKernel(name, backendName)])),
    FusedBatchNorm: wasmFusedBatchNorm,
    ...Object.fromEntries(WASM_CHANNEL_OPS.map((name) => [name, () => wasmChannelOp(name)])),
    [BATCH_NORM_KERNELS.moments]: () => wasmBatchMoments,
    [BATCH_NORM_KERNELS.gradient]: () => wasmBatchNormGrad,
    [RELU_GRAD_KERNEL]: () => wasmReluGrad,
    GatherV2: wasmGatherKernel,
    TopK: wasmTopKKernel,
    UnsortedSegmentSum: unsortedSegmentSumKernel,
    Conv3DBackpropInputV2: () => wasmConv3dBackpropInputKernel(conv3dBackpropInputKernel()),
    Conv3DBackpropFilterV2: () => wasmConv3dBackpropFilterKernel(conv3dBackpropFilterKernel()),
    MaxPool3D: maxPool3dKernel,
    MaxPool3DGrad: maxPool3dGradKernel,
    Dilation2D: dilation2dKernel,
    Dilation2DBackpropInput: dilation2dBackpropInputKernel,
    Dilation2DBackpropFilter: dilation2dBackpropFilterKernel,
  },
  webgpu: {
    Conv2DBackpropFilter: () => webgpuConv2dBackpropFilter,
    Conv2DBackpropInput: () => webgpuConv2dBackpropInput,
    DepthwiseConv2dNativeBackpropFilter: () => webgpuDepthwiseBackpropFilter,
    DepthwiseConv2dNativeBackpropInput: () => webgpuDepthwiseBackpropInput,
    [BATCH_NORM_KERNELS.moments]: () => webgpuBatchMoments,
    [BATCH_NORM_KERNELS.gradient]: () => webgpuBatchNormGrad,
    [BATCH_NORM_KERNELS.normalizeRelu]: () => webgpuBatchNormRelu,
    [SOFT_DICE_KERNELS.forward]: () => webgpuSoftDice,
    [SOFT_DICE_KERNELS.gradient]: () => webgpuSoftDiceGrad,
    [CHANNEL_ATTENTION_KERNELS.forward]: () => webgpuChannelAttention,
    [CHANNEL_ATTENTION_KERNELS.gradient]: () => webgpuChannelAttentionGrad,
    [CHANNEL_ATTENTION_KERNELS.inputGrad]: () => webgpuChannelAttentionInputGrad,
    [CHANNEL_ATTENTION_KERNELS.inputGradDepthwise]: () => webgpuChannelAttentionInputGradDepthwise,
    [SEPARABLE_CONV_KERNEL]: () => webgpuSeparableConv2D,
    [SEPARABLE_CONV_TRAINING_KERNEL]: () => webgpuSeparableConv2DTraining,
    [RELU_GRAD_KERNEL]: () => webgpuReluGrad,
    [SIGMOID_GRAD_KERNEL]: () => webgpuSigmoidGrad,
    ResizeBilinearGrad: () => webgpuResizeGrad('ResizeBilinearGrad'),
    ResizeNearestNeighborGrad: () => webgpuResizeGrad('ResizeNearestNeighborGrad'),
    Cast: () => webgpuCast,
    SplitV: () => webgpuSplitV,
    ...Object.fromEntries(RESIDENT_INPUT_KERNELS.map((name) => [name, () => withResidentConstants(name)])),
    ...Object.fromEntries(EMPTY_SAFE_REDUCTIONS.map((name) => [name, (backendName: string) => emptySafeReduction(name, backendName)])),
    ...Object.fromEntries(EMPTY_INNER_MATMUL_KERNELS.map((name) => [name, (backendName: string) => emptyInnerMatMulKernel(name, backendName)])),
    ...Object.fromEntries(WEBGPU_EMPTY_OPERAND_KERNELS.map((name) => [name, () => webgpuEmptyOperandKernel(name)])),
    // Over those two: our tiled product where it is faster, else the empty-operand kernel.
    Conv2D: () => webgpuConvForward('Conv2D'),
    FusedConv2D: () => webgpuConvForward('FusedConv2D'),
    StridedSlice: stridedSliceKernel, // wasm's is corrected in its copy kernel
    Transform: transformKernel,
    Bincount: flatBincountKernel,
    CropAndResize: webgpuCropAndResize,
    ...Object.fromEntries(WEBGPU_CUMULATIVE_KERNELS.map((name) => [name, () => webgpuCumulativeKernel(name)])),
  },
};

/** A webgpu kernel that first turns the bind group cache on (or off) for its backend, as its flag says. */
function withBindGroupCache(kernelFunc: KernelFunc): KernelFunc {
  return (args) => {
    followBindGroupCacheFlag(args.backend);
    return kernelFunc(args);
  };
}

/** Kernels of ours that wrap the stock kernel of the same name, per backend: registered only where that exists. */
const WRAPS_STOCK: Record<SupportedBackend, Set<string>> = {
  cpu: new Set(['ResizeBilinearGrad', 'StridedSlice', 'Transform']),
  wasm: new Set([
    ...WASM_COPY_KERNELS, ...WASM_CONV_FORWARD_KERNELS, ...EMPTY_INNER_MATMUL_KERNELS, ...EMPTY_SAFE_REDUCTIONS, 'ResizeBilinearGrad', 'FusedBatchNorm', 'GatherV2', 'TopK', 'Transform', 'Bincount', 'Conv3D',
  ]),
  webgpu: new Set([
    ...RESIDENT_INPUT_KERNELS, ...EMPTY_INNER_MATMUL_KERNELS, ...EMPTY_SAFE_REDUCTIONS, ...WEBGPU_EMPTY_OPERAND_KERNELS, 'ResizeBilinearGrad', 'StridedSlice',
    ...WEBGPU_CUMULATIVE_KERNELS, 'Transform', 'Bincount', 'CropAndResize', 'Cast', 'SplitV',
  ]),
};

const GRADIENTS: GradConfig[] = [
  conv2dGradConfig, depthwiseConv2dGradConfig, fusedBatchNormGradConfig, sumGradConfig, meanGradConfig, reluGradConfig, sigmoidGradConfig, conv3dBackpropInputGradConfig,
  depthToSpaceGradConfig, stridedSliceGradConfig, gatherNdGradConfig, cumsumGradConfig, prodGradConfig, ...zeroGradConfigs,
];
const stockGradients = new Map<string, GradConfig | undefined>();

/** Options of {@link registerTrainingKernels}. */
export interface RegisterTrainingKernelsOptions {
  /**
   * Backends to register for. Default: every supported backend whose package has been imported
   * (`@tensorflow/tfjs-backend-cpu`, `@tensorflow/tfjs-backend-wasm`, and
   * `@tensorflow/tfjs-backend-webgpu`, which registers itself only where WebGPU exists: in Node,
   * call {@link setupNodeWebGPU} before importing it).
   */
  backends?: readonly SupportedBackend[];
}

/**
 * Registers this package's training kernels with tfjs: Conv2DBackpropFilter, Conv2DBackpropInput,
 * DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput for the cpu, wasm and
 * webgpu backends (replacing the stock kernels where they exist; on webgpu the filter gradients
 * are split-K WGSL programs), gradients of Conv2D and
 * DepthwiseConv2dNative that support dilation, a gradient of FusedBatchNorm that broadcasts
 * instead of tiling, gradients of Sum and Mean that spread dy on the backend instead of building a ones
 * tensor on the CPU, and gradients of Relu and Sigmoid that run one kernel where the backend has
 * {@link RELU_GRAD_KERNEL} and {@link SIGMOID_GRAD_KERNEL} (webgpu; the first on wasm too) and tfjs-core's two and three
 * elsewhere (for every backend). On wasm it also replaces Concat, Slice, StridedSlice, SplitV
 * and Transpose ({@link WASM_COPY_KERNELS}) with kernels that avoid the stock ones' slow copies (same values bit for bit; an
 * SA-U-Net training step is about 1.5x faster), and Identity with one that shares the input's
 * storage instead of copying it (the tensors a training step keeps for its backward pass are then
 * held once, not twice); Sum and Mean of float32 over axes before kept ones (batch norm's
 * moments, channel attention's pooling) add in place of the stock kernels' transpose and add, with
 * the same values bit for bit ({@link WASM_CHANNEL_REDUCTIONS}); FusedBatchNorm over the last axis
 * runs four channels per SIMD pass (the same values bit for bit, about 4x faster); and it wraps Conv2D, DepthwiseConv2dNative and their fused forms
 * ({@link WASM_CONV_FORWARD_KERNELS}) so that 'same' padding reaches XNNPACK as explicit padding
 * (the stock kernels compute some strided 'same' convolutions wrongly, often as zeros) and an
 * empty output is returned without running XNNPACK (which corrupts the stock kernels' heap).
 * Gradients of pooling and upsampling that the stock kernels get wrong: on cpu and wasm it replaces
 * ResizeNearestNeighborGrad (every zoo network's decoder upsamples by nearest neighbour; the stock
 * cpu kernel mixes up the images of a batch; on webgpu ours wraps the stock kernel, computing the
 * cases it gets wrong itself), on wasm MaxPoolGrad (the stock kernel sends the
 * gradient of a window with a negative maximum to the window's first input), and on every backend
 * it wraps ResizeBilinearGrad, computing it itself where the stock kernel is wrong: with
 * halfPixelCenters, which every stock kernel ignores, and on webgpu with alignCorners on an input
 * axis of size 1 (zeros); on cpu it also corrects the stock result's shape (height and width
 * swapped, so non-square bilinear upsampling, as in Attention U-Net's gates, could not train).
 * On wasm and webgpu it wraps the reductions ({@link EMPTY_SAFE_REDUCTIONS}: Sum, Mean, Max, ...)
 * so that reducing an empty tensor gives the cpu backend's values (Sum 0, Prod 1, ...) instead of
 * stale memory (wasm) or an error from inside Dawn (webgpu); likewise the matrix products
 * ({@link EMPTY_INNER_MATMUL_KERNELS}) with a shared dimension of 0, and convolutions without
 * input channels, give zeros (then bias and activation) as on cpu, a wasm GatherV2 of an empty
 * tensor gives the cpu backend's shape and a wasm TopK of an empty axis no trap; it adds the
 * UnsortedSegmentSum that stock wasm lacks (the gradient of tf.gather) and replaces cpu's, which
 * runs four kernels per segment.
 *
 * For 3-D conv nets it replaces wasm's Conv3DBackpropInputV2 (the input gradient of conv3d and the
 * forward pass of conv3dTranspose; wrong for every shape), Conv3DBackpropFilterV2 (wrong with
 * strides), MaxPool3D (0 for a window of negative values) and MaxPool3DGrad, and cpu's
 * MaxPool3DGrad (wrong for windows whose height and width differ); on wasm, Conv3D and its two
 * gradients run as 2-D convolutions of depth slices in XNNPACK where large enough (35x faster).
 *
 * Other stock kernels it corrects: on wasm Dilation2D and its two gradient kernels (wrong where a
 * window's x + filter stays below 0), MaxPoolWithArgmax (negative windows gave 1.2e-38 and index
 * 0) and Transform in 'reflect' fill mode; on cpu and webgpu Transform of a batch (tf.image.transform:
 * cpu warped only the first image, webgpu misread one transform row given for all) and StridedSlice
 * (on wasm in its copy kernel), wrong when the slice drops an axis and strides another
 * (`x[1, ::2]`); on wasm and webgpu Bincount of an x of rank above 1 (tf.image.threshold's Otsu
 * method); on webgpu CropAndResize of boxes into an image whose index is not below the number of
 * boxes, and reverse Cumsum and Cumprod ({@link WEBGPU_CUMULATIVE_KERNELS}: the stock reverse
 * shader is cached without its axis length). It adds the Einsum kernel wasm lacks (tf.einsum,
 * tf.image.rgbToGrayscale).
 *
 * Gradients tfjs-core lacks: of Conv3DBackpropInputV2 (so that conv3dTranspose trains),
 * DepthToSpace (sub-pixel convolution), StridedSlice and GatherNd; in place of tfjs-core's, those
 * of Cumsum (wrong along any axis but the last) and Prod (failing without the chained tensor
 * methods of @tensorflow/tfjs); and zero gradients for the comparisons and logical operations
 * ({@link ZERO_GRADIENT_KERNELS}), so that a gradient through a mask works.
 *
 * And on webgpu
 * ({@link WEBGPU_EMPTY_OPERAND_KERNELS}) convolutions with an empty output, Softmax of an empty
 * tensor and UnsortedSegmentSum of an empty or int32 input give the cpu backend's results instead of
 * errors or float bit patterns; Conv2D and FusedConv2D with at least 64 output channels and 2^20
 * outputs (U-Net's larger convolutions at batch 4, and its composed input gradients) run as a tiled
 * product of 64x64 tiles (a U-Net step's convolutions: 0.84x the stock shader's GPU time on an H200).
 * On webgpu it also wraps the stock kernels that training
 * feeds constants ({@link RESIDENT_INPUT_KERNELS}: Add, Multiply, ...) so that small CPU-side
 * inputs such as Adam's scalars are uploaded once and then served from a GPU cache, instead of
 * through a new staging buffer on every call. And it registers, for webgpu only, kernels of its
 * own: for training-mode batch normalization ({@link BATCH_NORM_KERNELS}: the batch moments with
 * the moving averages in 2 dispatches, the closed-form gradient in 3, and the normalization with a
 * ReLU after it in 1, whose gradient the same 3 take; the first two for wasm too, three passes
 * over x instead of about ten, with the composed kernels' values bit for bit), which a batch-norm layer may use where they are registered (@sa-unet/unet-zoo's does), and for efficient channel
 * attention ({@link CHANNEL_ATTENTION_KERNELS}: forward and gradient in 3 dispatches each, and dz by
 * channel blocks, with a depthwise convolution's input gradient added in the same dispatch) and for a depthwise-separable convolution in one dispatch
 * ({@link SEPARABLE_CONV_KERNEL}; {@link SEPARABLE_CONV_TRAINING_KERNEL} also writes the depthwise
 * output, for training), which @sa-unet/scale-attn-conv's layer uses where they are registered, for ReLU's and
 * sigmoid's gradients in one dispatch each ({@link RELU_GRAD_KERNEL}, {@link SIGMOID_GRAD_KERNEL}),
 * and for the soft Dice coefficient and its gradient in 2 and 1 ({@link SOFT_DICE_KERNELS}), which
 * @sa-unet/seg-metrics' softDice and diceLoss use where they are registered. Its webgpu kernels
 * also turn on {@link cacheBindGroups} for their backend (bind groups reused from step to step: a
 * quarter or more of the CPU's work per dispatch) unless the tfjs flag
 * {@link BIND_GROUP_CACHE_FLAG} is set to false.
 *
 * Call it once, after importing the backends (a backend imported later registers its stock
 * kernels over ours). Calling it again changes nothing. Returns the backends registered for.
 */
export function registerTrainingKernels(options: RegisterTrainingKernelsOptions = {}): SupportedBackend[] {
  if (options === null || typeof options !== 'object') {
    throw new Error(`registerTrainingKernels: options must be an object such as { backends: ['wasm'] }, got ${String(options)}`);
  }
  if (options.backends !== undefined && !Array.isArray(options.backends as unknown)) {
    throw new Error(`registerTrainingKernels: backends must be an array of backend names (${SUPPORTED_BACKENDS.join(', ')}), got ${JSON.stringify(options.backends)}`);
  }
  const requested = options.backends ?? SUPPORTED_BACKENDS.filter((b) => findBackendFactory(b) != null);
  if (requested.includes('webgpu')) registerBindGroupCacheFlag();
  for (const backendName of requested) {
    if (!SUPPORTED_BACKENDS.includes(backendName)) {
      throw new Error(`registerTrainingKernels: unknown backend '${String(backendName)}'; supported: ${SUPPORTED_BACKENDS.join(', ')}`);
    }
    for (const [kernelName, factory] of Object.entries(KERNELS[backendName])) {
      if (isOurKernel(kernelName, backendName)) continue;
      const replaced = getKernel(kernelName, backendName);
      if (replaced === undefined && WRAPS_STOCK[backendName].has(kernelName)) continue;
      const kernelFunc = factory(backendName) as KernelFunc;
      const config: KernelConfig = { kernelName, backendName, kernelFunc: backendName === 'webgpu' ? withBindGroupCache(kernelFunc) : kernelFunc };
      // Keep the replaced kernel's set-up: tfjs runs the set-up of the registered config when the
      // backend starts, and other stock kernels call what it prepares (wasm's Mean calls the
      // function that Transpose's set-up binds).
      if (replaced?.setupFunc !== undefined) config.setupFunc = replaced.setupFunc;
      if (replaced?.disposeFunc !== undefined) config.disposeFunc = replaced.disposeFunc;
      if (replaced !== undefined) unregisterKernel(kernelName, backendName);
      registerKernel(config);
      rememberOurs(config, replaced);
    }
  }
  for (const grad of GRADIENTS) {
    if (getGradient(grad.kernelName) === grad) continue;
    if (!stockGradients.has(grad.kernelName)) stockGradients.set(grad.kernelName, getGradient(grad.kernelName));
    registerGradient(grad);
  }
  return [...requested];
}

/**
 * Puts back the stock kernels and gradients that {@link registerTrainingKernels} replaced (for
 * comparisons and tests), and turns the webgpu bind group cache off ({@link uncacheBindGroups}).
 * Kernels that had no stock version are removed; the gradients that tfjs lacks (of
 * Conv3DBackpropInputV2, DepthToSpace, StridedSlice and GatherNd) stay, since tfjs has no way to
 * remove a gradient.
 */
export function unregisterTrainingKernels(): void {
  uncacheBindGroups();
  for (const backendName of SUPPORTED_BACKENDS) {
    for (const kernelName of Object.keys(KERNELS[backendName])) {
      if (!isOurKernel(kernelName, backendName)) continue;
      const previous = stockKernel(kernelName, backendName);
      unregisterKernel(kernelName, backendName);
      if (previous !== undefined) registerKernel(previous);
      forget(kernelName, backendName);
    }
  }
  for (const grad of stockGradients.values()) {
    if (grad !== undefined) registerGradient(grad);
  }
  stockGradients.clear();
}

/** Whether this package's kernel `kernelName` is the one registered for `backendName`. */
export function hasTrainingKernel(kernelName: string, backendName: string): boolean {
  return isOurKernel(kernelName, backendName);
}
