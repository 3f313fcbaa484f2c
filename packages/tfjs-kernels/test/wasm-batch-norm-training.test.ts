/**
 * Our wasm training-mode batch-norm kernels (the moments with the moving averages, and the
 * closed-form gradient) must give what @sa-unet/unet-zoo's batch norm composes from stock kernels
 * where they are absent, bit for bit: with the heap module and without it, for channel counts
 * around the SIMD width, ranks 2 to 4 and values of mixed magnitudes; and refuse bad inputs by
 * name.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededMagnitudes, tensorBits } from '../../../test-utils/numeric.js';
import { BATCH_NORM_KERNELS, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { useHeapModule } from '../src/wasm/heap-module.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerTrainingKernels();
});
afterAll(() => useHeapModule(true));


/** The zoo's composed moments and moving averages (unet-zoo/src/batch-norm.ts, without the kernels). */
function composedMoments(x: tf.Tensor, movingMean: tf.Tensor, movingVariance: tf.Tensor, momentum: number): tf.Tensor[] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mean = tf.mean(x, axes);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
  const moved = (current: tf.Tensor, value: tf.Tensor) => tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum));
  return [mean, variance, moved(movingMean, mean), moved(movingVariance, variance)];
}

/** The zoo's composed closed-form gradient: [dx, dGamma, dBeta]. */
function composedGradient(dy: tf.Tensor, x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, epsilon: number): tf.Tensor[] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const perChannel = 1 / (x.size / g.size);
  const invSigma = tf.rsqrt(tf.add(v, epsilon));
  const s1 = tf.sum(dy, axes);
  const dGamma = tf.mul(tf.sum(tf.mul(dy, tf.sub(x, m)), axes), invSigma);
  const a = tf.mul(g, invSigma);
  const correction = tf.batchNorm(x, m, v, tf.mul(a, tf.mul(s1, perChannel)), tf.mul(a, tf.mul(dGamma, perChannel)), epsilon);
  return [tf.sub(tf.mul(dy, a), correction), dGamma, s1];
}

/** Shapes, and the size of x's values: about 0.01 makes the variance as small as epsilon. */
const SHAPES: Array<[string, number[], number]> = [
  ['an image batch of 16 channels', [4, 8, 8, 16], 3],
  ['13 channels: SIMD and one alone', [2, 5, 7, 13], 3],
  ['3 channels: none in SIMD', [3, 6, 5, 3], 3],
  ['one channel', [2, 4, 4, 1], 3],
  ['a matrix [40, 6]', [40, 6], 3],
  ['a sequence batch [3, 7, 4]', [3, 7, 4], 3],
  ['values of about 0.01, a variance near epsilon, 396 rows', [4, 9, 11, 8], 0.01],
];

describe.each([['with the heap module', true], ['without it (the stock kernels composed)', false]] as const)('wasm batch-norm training kernels %s', (_, allowed) => {
  beforeAll(() => useHeapModule(allowed));

  it.each(SHAPES)('%s: moments and moving averages bit for bit', async (_, shape, size) => {
    const channels = shape[shape.length - 1]!;
    const [x, movingMean] = [seededMagnitudes(shape, 1, size, 2), seededMagnitudes([channels], 2)];
    const movingVariance = tf.abs(seededMagnitudes([channels], 3));
    const before = tf.memory().numTensors;
    const ours = tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x, movingMean, movingVariance }, { momentum: 0.99, inPlace: true }) as tf.Tensor[];
    expect(tf.memory().numTensors).toBe(before + 4);
    const composed = tf.tidy(() => composedMoments(x, movingMean, movingVariance, 0.99));
    for (const [i, what] of ['mean', 'variance', 'movingMean', 'movingVariance'].entries()) {
      expect(ours[i]!.shape, what).toEqual([channels]);
      expect(await tensorBits(ours[i]!), what).toEqual(await tensorBits(composed[i]!));
    }
    tf.dispose([x, movingMean, movingVariance, ...ours, ...composed]);
  });

  it.each(SHAPES)('%s: dx, dScale and dOffset bit for bit', async (_, shape, size) => {
    const channels = shape[shape.length - 1]!;
    const x = seededMagnitudes(shape, 4, size, 2);
    const dy = seededMagnitudes(shape, 5, 1, 6);
    const axes = shape.slice(0, -1).map((_, i) => i);
    const mean = tf.mean(x, axes);
    const variance = tf.tidy(() => tf.mean(tf.square(tf.sub(x, mean)), axes));
    const scale = seededMagnitudes([channels], 6);
    const before = tf.memory().numTensors;
    const ours = tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { dy, x, mean, variance, scale }, { varianceEpsilon: 1e-3 }) as tf.Tensor[];
    expect(tf.memory().numTensors).toBe(before + 3);
    const composed = tf.tidy(() => composedGradient(dy, x, mean, variance, scale, 1e-3));
    for (const [i, what] of ['dx', 'dScale', 'dOffset'].entries()) {
      expect(ours[i]!.shape, what).toEqual(composed[i]!.shape);
      expect(await tensorBits(ours[i]!), what).toEqual(await tensorBits(composed[i]!));
    }
    tf.dispose([x, dy, mean, variance, scale, ...ours, ...composed]);
  });

  it('with y (a rectifying batch norm\'s output): the gradient of dy times step(y), both zeros in y', async () => {
    const shape = [2, 3, 3, 5];
    const x = seededMagnitudes(shape, 7);
    const dy = seededMagnitudes(shape, 8);
    const y = tf.tidy(() => tf.relu(tf.concat([tf.fill([1, 3, 3, 5], -0), seededMagnitudes([1, 3, 3, 5], 9)])));
    const [mean, variance, scale] = [tf.mean(x, [0, 1, 2]), tf.abs(seededMagnitudes([5], 10)), seededMagnitudes([5], 11)];
    const inputs = { x, mean, variance, scale };
    const ours = tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { ...inputs, dy, y }, { varianceEpsilon: 1e-3 }) as tf.Tensor[];
    const masked = tf.tidy(() => tf.mul(dy, tf.step(y)));
    const expected = tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { ...inputs, dy: masked }, { varianceEpsilon: 1e-3 }) as tf.Tensor[];
    for (let i = 0; i < 3; i++) expect(await tensorBits(ours[i]!)).toEqual(await tensorBits(expected[i]!));
    tf.dispose([x, dy, y, mean, variance, scale, masked, ...ours, ...expected]);
  });
});

describe('wasm batch-norm training kernels: bad inputs', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['an empty x', () => tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x: tf.zeros([0, 3]), movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) }, { momentum: 0.9 }), /SaUnetBatchMoments: x must have at least one axis and no empty one, got shape \[0, 3\]/],
    ['int32 x', () => tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x: tf.zeros([2, 3], 'int32'), movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) }, { momentum: 0.9 }), /x must be float32, got int32/],
    ['moving statistics of the wrong size', () => tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x: tf.zeros([2, 3]), movingMean: tf.zeros([4]), movingVariance: tf.ones([3]) }, { momentum: 0.9 }), /movingMean must be float32 with one value per channel \(3 values\), got float32 \[4\]/],
    ['a missing input', () => tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { x: tf.zeros([2, 3]) }, {}), /SaUnetBatchNormGrad: missing input 'dy'/],
    ['dy of another size', () => tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { dy: tf.zeros([2, 2]), x: tf.zeros([2, 3]), mean: tf.zeros([3]), variance: tf.ones([3]), scale: tf.ones([3]) }, { varianceEpsilon: 1e-3 }), /dy must be float32 with x's size \(6 values\), got float32 \[2, 2\]/],
  ])('%s: an error naming the kernel and the input', (_, call, message) => {
    tf.tidy(() => {
      expect(call).toThrow(message);
    });
  });
});
