/** Bincount of tensors of rank above 1, and Otsu thresholding, shared by the wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

const values = (n: number, modulo: number) => Array.from({ length: n }, (_, i) => (i * 7 + 3) % modulo);

/** tf.bincount's types admit only rank 1, but tf.image.threshold passes it an image. */
const anyRank = (t: tf.Tensor) => t as tf.Tensor1D;

/** [label, op]. */
export const BINCOUNT_CASES: Array<[string, () => tf.Tensor]> = [
  ['x of [3, 4]', () => tf.bincount(anyRank(tf.tensor2d(values(12, 6), [3, 4], 'int32')), tf.tensor1d([], 'float32'), 6)],
  ['x of [2, 3, 2] with weights', () => tf.bincount(anyRank(tf.tensor3d(values(12, 5), [2, 3, 2], 'int32')), anyRank(tf.tensor3d(values(12, 4), [2, 3, 2], 'float32')), 5)],
  ['x of [6] (rank 1: stock)', () => tf.bincount(tf.tensor1d(values(6, 4), 'int32'), tf.tensor1d([], 'float32'), 4)],
  ['tf.image.threshold, Otsu, of a [6, 5, 1] image', () => tf.image.threshold(tf.tensor3d(values(30, 256).map((v) => (v * 13) % 256), [6, 5, 1], 'int32'), 'otsu')],
];
