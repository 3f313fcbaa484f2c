/**
 * Names of the kernels this package defines (tfjs has none of these names) and the input checks
 * their implementations share, whatever the backend (webgpu/, wasm/): a layer or gradient looks a
 * name up and uses the kernel where the active backend has it.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Names of the batch-norm kernels this package registers for webgpu (`moments` and `gradient` for
 * wasm too: src/wasm/batch-norm-training.ts); for x of any rank >= 1,
 * normalized over its last axis (C channels):
 * - `moments`: inputs { x, movingMean, movingVariance }, attrs { momentum, inPlace? } -> [mean,
 *   variance, updated movingMean, updated movingVariance], each [C]: the batch's mean and (biased)
 *   variance over every axis but the last, and the moving averages m - (m - batch value)
 *   (1 - momentum). With `inPlace: true` (the caller replaces the moving averages by the updated
 *   ones, as a batch-norm layer does) the updated ones are written into the storage of
 *   movingMean and movingVariance where nothing else shares it, and returned as those tensors'
 *   storage: no new buffers, so a variable keeps its buffer from step to step (what a replayed
 *   training step needs: replay.ts). Else, and where the storage is shared, new tensors.
 * - `gradient`: inputs { dy, x, mean, variance, scale }, attrs { varianceEpsilon } -> [dx,
 *   dScale, dOffset]: the gradient of batchNorm(x, mean, variance, offset, scale) when mean and
 *   variance are x's own batch moments (their dependence on x included). With the optional input
 *   y, the output of `normalizeRelu`, the gradient of that instead: dy is multiplied by step(y),
 *   ReLU's gradient, on the way in.
 * - `normalizeRelu`: inputs { x, mean, variance, offset, scale } (each of the last four [C]), attrs
 *   { varianceEpsilon } -> relu(batchNorm(x, mean, variance, offset, scale)), x's shape: the
 *   stock FusedBatchNorm and Relu, bit for bit, in one dispatch instead of two.
 * Each takes two dispatches (the moments), three (the gradient) or one (`normalizeRelu`).
 */
export const BATCH_NORM_KERNELS = {
  /** The batch's moments and the updated moving averages. */
  moments: 'SaUnetBatchMoments',
  /** The gradient of training-mode batch normalization (rectified or not). */
  gradient: 'SaUnetBatchNormGrad',
  /** Batch normalization and a ReLU after it. */
  normalizeRelu: 'SaUnetBatchNormRelu',
} as const;

/**
 * Name of the ReLU-gradient kernel this package registers for webgpu and wasm: inputs { dy, x } (float32,
 * one shape) -> dy * step(x), x's shape (1 dispatch instead of 2). tfjs has no such kernel; the
 * gradient of Relu that {@link registerTrainingKernels} registers uses it where the backend has it.
 */
export const RELU_GRAD_KERNEL = 'SaUnetReluGrad';

/**
 * Name of the sigmoid-gradient kernel this package registers for webgpu: inputs { dy, y } (float32,
 * one shape; y the sigmoid's output) -> dy * (y * (1 - y)), y's shape (1 dispatch instead of 3).
 * The gradient of Sigmoid that {@link registerTrainingKernels} registers uses it where the backend
 * has it.
 */
export const SIGMOID_GRAD_KERNEL = 'SaUnetSigmoidGrad';

/** x of a batch-norm kernel, normalized over its last axis: float32, at least one axis, none empty; else an Error naming the kernel. */
export function checkNormalizedX(kernel: string, x: TensorInfo): void {
  if (x.shape.length === 0 || x.shape.some((d) => d === 0)) {
    throw new Error(`${kernel}: x must have at least one axis and no empty one, got shape [${x.shape.join(', ')}]`);
  }
  if (x.dtype !== 'float32') throw new Error(`${kernel}: x must be float32, got ${x.dtype}`);
}

/** dy and the activation gradient's other input (`inputName`): float32, one shape; else an Error naming the kernel. */
export function checkActivationGradInputs(kernel: string, dy: TensorInfo, input: TensorInfo, inputName: string): void {
  for (const [label, t] of [['dy', dy], [inputName, input]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${label} must be float32, got ${t.dtype}`);
  }
  if (dy.shape.join() !== input.shape.join()) {
    throw new Error(`${kernel}: dy must have ${inputName}'s shape [${input.shape.join(', ')}], got [${dy.shape.join(', ')}]`);
  }
}
