/**
 * Bincount of a tensor of any rank on wasm and webgpu. tf.bincount counts every value of x,
 * whatever its shape (as TensorFlow's Bincount and the cpu backend do), and tf.image.threshold's
 * 'otsu' method counts a [height, width, 1] image so. The stock wasm kernel gave such an x the
 * output shape of DenseBincount's batched form, [x.shape[0], size] ("Operands could not be broadcast
 * together" downstream), and the webgpu shader compared a flat index with x's shape and did not
 * compile. Ours flattens x (and weights of the same size) first.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, type KernelOps } from './kernel-ops.js';

/** t as a vector (unchanged if it is one). */
const flat = (ops: KernelOps, t: TensorInfo) => (t.shape.length === 1 ? t : ops.reshape(t, [util.sizeFromShape(t.shape)]));

export function flatBincountKernel(backendName: string): KernelFunc {
  return compositeKernel(backendName, (ops, inputs, attrs) => {
    const { x, weights } = inputs as Record<string, TensorInfo>;
    // Weights are empty (count each value once) or one per value of x.
    return ops.runStock('Bincount', { x: flat(ops, x!), weights: util.sizeFromShape(weights!.shape) > 0 ? flat(ops, weights!) : weights! }, attrs);
  }) as KernelFunc;
}
