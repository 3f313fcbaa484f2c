/** DepthToSpace gradient cases shared by the cpu/wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];
/** [label, x shape (in its format), block size, data format]. */
export type DepthToSpaceCase = [string, Shape4, number, 'NHWC' | 'NCHW'];

export const DEPTH_TO_SPACE_CASES: DepthToSpaceCase[] = [
  ['NHWC, block 2', [1, 2, 3, 8], 2, 'NHWC'],
  ['NHWC, block 2, batch 2, non-square', [2, 3, 2, 12], 2, 'NHWC'],
  ['NHWC, block 3', [2, 2, 3, 18], 3, 'NHWC'],
  ['NHWC, block 4, one output channel', [1, 3, 3, 16], 4, 'NHWC'],
  ['NCHW, block 2', [1, 8, 2, 3], 2, 'NCHW'],
  ['NCHW, block 3, batch 2', [2, 18, 2, 3], 3, 'NCHW'],
  ['NCHW, block 2, a single row', [3, 4, 1, 5], 2, 'NCHW'],
];

/**
 * The gradient, at some x, of sum(depthToSpace(x) * depthToSpace(k)) where k holds 0, 1, 2, ...:
 * DepthToSpace is a permutation, so it is k exactly (any misplaced value shows as a wrong index).
 */
export function depthToSpaceGradientOfIndices(shape: Shape4, blockSize: number, format: 'NHWC' | 'NCHW'): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const k = tf.tensor4d(Array.from({ length: size }, (_, i) => i), shape);
  const weights = tf.depthToSpace(k, blockSize, format);
  const x = tf.tensor4d(Array.from({ length: size }, (_, i) => Math.sin(i)), shape);
  return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.depthToSpace(t as tf.Tensor4D, blockSize, format), weights)))(x);
}
