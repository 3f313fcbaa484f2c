/**
 * Cases of nearest-neighbour and bilinear resizing for the gradient tests of every backend, and
 * the exact gradients read off the forward pass itself. Nearest: resizing an image of its own
 * indices tells which input each output copies. Bilinear: the resize is linear, so resizing
 * one-hot images gives the weight each output pixel takes from each input pixel, and
 * d sum(resize(x) * w) / dx at pixel p is the sum over outputs q of weight(q, p) * w[q].
 */
import * as tf from '@tensorflow/tfjs-core';

export type ResizeCase = [shape: [number, number, number, number], size: [number, number], alignCorners: boolean, halfPixelCenters: boolean];

export const BILINEAR_CASES: ResizeCase[] = [
  [[2, 2, 3, 2], [4, 6], false, false], // 2x upsampling, batch 2
  [[2, 2, 3, 2], [4, 6], false, true],
  [[1, 3, 5, 3], [7, 4], false, true], // non-integer ratios, up in one axis and down in the other
  [[2, 6, 4, 1], [3, 2], false, true], // downsampling
  [[2, 6, 4, 1], [3, 2], false, false],
  [[2, 5, 4, 2], [3, 9], true, false],
  [[1, 1, 3, 2], [2, 6], true, false], // an input axis of size 1
  [[2, 3, 1, 1], [5, 3], false, true],
  [[1, 4, 4, 1], [1, 1], false, true], // an output of one pixel
];

export function caseLabel([shape, size, alignCorners, halfPixelCenters]: ResizeCase): string {
  return `[${shape}] to ${size.join('x')}, alignCorners ${alignCorners}, halfPixelCenters ${halfPixelCenters}`;
}

/** The gradient of sum(resize(x) * w) on the active backend, and the exact one from its forward pass. */
export async function bilinearGradientAndExact([shape, size, alignCorners, halfPixelCenters]: ResizeCase): Promise<{ got: Float32Array; exact: Float32Array }> {
  const [batch, height, width, channels] = shape;
  const pixels = height * width;
  const resize = (t: tf.Tensor) => tf.image.resizeBilinear(t as tf.Tensor4D, size, alignCorners, halfPixelCenters);
  const w = tf.tensor(Float32Array.from({ length: batch * size[0] * size[1] * channels }, (_, i) => ((i * 5) % 11) - 4), [batch, ...size, channels]);
  const x = tf.ones(shape);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resize(t), w)))(x);
  const exact = tf.tidy(() => {
    // [pixels, size0 * size1]: row p is the resize of the image that is 1 at pixel p.
    const weights = tf.reshape(resize(tf.reshape(tf.oneHot(tf.range(0, pixels, 1, 'int32'), pixels), [pixels, height, width, 1])), [pixels, -1]);
    // w as [batch, size0 * size1, channels]; exact[b] = weights . w[b] -> [batch, pixels, channels].
    const perImage = tf.unstack(tf.reshape(w, [batch, -1, channels])).map((wb) => tf.matMul(weights, wb));
    return tf.reshape(tf.stack(perImage), shape);
  });
  const [got, exactValues] = await Promise.all([dx.data() as Promise<Float32Array>, exact.data() as Promise<Float32Array>]);
  tf.dispose([w, x, dx, exact]);
  return { got, exact: exactValues };
}


/**
 * d sum(resize(x) * w) / dx for a [1, 2, 2, 1] image upsampled to 4x2 with half-pixel centres and
 * w = 1, 2, 3, 4 down the rows (each the same across the two columns): [3.25, 3.25, 6.75, 6.75].
 */
export async function halfPixelRowGradient(): Promise<number[]> {
  const x = tf.ones([1, 2, 2, 1]);
  const w = tf.tensor([1, 1, 2, 2, 3, 3, 4, 4], [1, 4, 2, 1]);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeBilinear(t as tf.Tensor4D, [4, 2], false, true), w)))(x);
  const values = Array.from(await dx.data());
  tf.dispose([x, w, dx]);
  return values;
}

export const NEAREST_CASES: ResizeCase[] = [
  [[2, 2, 3, 2], [4, 6], false, false], // the zoo's 2x upsampling, batch 2
  [[3, 1, 3, 6], [2, 6], false, false],
  [[2, 3, 5, 1], [7, 4], false, true],
  [[2, 4, 4, 3], [2, 3], false, false], // downsampling
  [[1, 1, 3, 2], [2, 6], true, false], // alignCorners with an axis of size 1
  [[2, 3, 1, 1], [5, 3], true, false],
  [[2, 5, 4, 2], [3, 9], true, false],
  [[1, 2, 2, 1], [4, 4], false, true],
  [[1, 5, 7, 1], [3, 4], false, true], // downsampling with half-pixel centres
  [[1, 2, 3, 3], [8, 6], false, false], // 4x rows, 2x columns (a block sum on webgpu)
  [[2, 2, 3, 1], [6, 9], false, false], // 3x
];

/** d sum(resize(x) * w) / dx on the active backend, and the exact value from the forward pass's source indices. */
export async function nearestGradientAndExact([shape, size, alignCorners, halfPixelCenters]: ResizeCase): Promise<{ got: number[]; exact: number[] }> {
  const [batch, , , channels] = shape;
  const count = shape.reduce((a, b) => a * b, 1);
  const weights = tf.tensor(Float32Array.from({ length: batch * size[0] * size[1] * channels }, (_, i) => (i % 7) + 1), [batch, ...size, channels]);
  const resize = (t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters);
  const x = tf.ones(shape);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resize(t), weights)))(x);
  const indices = tf.tidy(() => resize(tf.tensor(Float32Array.from({ length: count }, (_, i) => i), shape)));
  const [got, source, w] = await Promise.all([dx.data(), indices.data(), weights.data()]);
  const exact = new Array<number>(count).fill(0);
  source.forEach((from, i) => (exact[from] += w[i]!));
  tf.dispose([weights, x, dx, indices]);
  return { got: Array.from(got), exact };
}
