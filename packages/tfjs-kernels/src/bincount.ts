/**
 * Bincount of a tensor of any rank on wasm and webgpu. tf.bincount counts every value of x,
 * whatever its shape (as TensorFlow's Bincount and the cpu backend do), and tf.image.threshold's
 * 'otsu' method counts a [height, width, 1] image so. The stock wasm kernel gave such an x the
 * output shape of DenseBincount's batched form, [x.shape[0], size] ("Operands could not be broadcast
 * together" downstream), and the webgpu shader compared a flat index with x's shape and did not
 * compile. Ours flattens x (and weights of the same size) first.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel } from './kernel-ops.js';

export function flatBincountKernel(backendName: string): KernelFunc {
  return compositeKernel(backendName, (ops, inputs, attrs) => {
    const { x, weights } = inputs as Record<string, TensorInfo>;
    const size = (t: TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
    if (x!.shape.length === 1) return ops.runStock('Bincount', { x: x!, weights: weights! }, attrs);
    const flatX = ops.reshape(x!, [size(x!)]);
    const flatWeights = size(weights!) > 0 && weights!.shape.length !== 1 ? ops.reshape(weights!, [size(weights!)]) : weights!;
    return ops.runStock('Bincount', { x: flatX, weights: flatWeights }, attrs);
  }) as KernelFunc;
}
