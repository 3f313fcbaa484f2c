/**
 * Our wasm FusedBatchNorm repeats the stock kernel's arithmetic four channels at a time, so it
 * must give the stock values bit for bit: every channel count around the SIMD width, statistics
 * per channel or one for all, offset and scale given or not, any rank, special values, and many
 * random values of mixed magnitudes (where another order of rounding shows in the last bits).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededMagnitudes, tensorBits } from '../../../test-utils/numeric.js';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { useHeapModule } from '../src/wasm/heap-module.js';
import { stockModuleJavaScript } from './wasm-kernel-ways.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerTrainingKernels();
});
afterAll(() => registerTrainingKernels());

/** Positive values, as variances are. */
function variances(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => tf.abs(seededMagnitudes(shape, seed)));
}

/** FusedBatchNorm of the tensors `make` gives, as bits, the stock kernel's and ours (checked against the stock one's where the heap module may not run). */
async function stockAndOurs(make: () => { x: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; offset?: tf.Tensor; scale?: tf.Tensor; epsilon: number }): Promise<[Int32Array, Int32Array]> {
  const backend = tf.backend();
  const [stock, module, withoutModule] = await stockModuleJavaScript(async () => {
    const { x, mean, variance, offset, scale, epsilon } = make();
    const storage = backend.numDataIds();
    const out = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
    expect(backend.numDataIds(), 'storage: the output only (no scratch left behind)').toBe(storage + 1);
    const bits = new Int32Array(new Float32Array(await out.data()).buffer);
    expect(out.shape).toEqual(x.shape);
    tf.dispose([out, x, mean, variance, offset, scale].filter((t): t is tf.Tensor => t !== undefined));
    return bits;
  });
  expect(Array.from(withoutModule), 'ours without the heap module: the stock kernel').toEqual(Array.from(stock));
  return [stock, module];
}

describe('wasm FusedBatchNorm', () => {
  it('is registered over the stock kernel on wasm', () => {
    expect(hasTrainingKernel('FusedBatchNorm', 'wasm')).toBe(true);
  });

  const cases: Array<[string, number[], { perChannel?: boolean; offset?: boolean; scale?: boolean; statisticsShape?: (c: number) => number[]; epsilon?: number }]> = [
    ['a batch of images, channels a multiple of four', [2, 5, 6, 8], {}],
    ['13 channels: three SIMD passes and one channel alone', [3, 7, 13], {}],
    ['3 channels: none in SIMD', [4, 9, 3], {}],
    ['one channel', [2, 6, 6, 1], {}],
    ['x of rank 1', [6], {}],
    ['rank 5', [2, 2, 3, 2, 5], {}],
    ['statistics shaped [1, 1, 1, C]', [2, 4, 4, 6], { statisticsShape: (c) => [1, 1, 1, c] }],
    ['one mean, variance, offset and scale for every channel', [2, 4, 4, 6], { perChannel: false }],
    ['no offset', [2, 4, 4, 7], { offset: false }],
    ['no scale', [2, 4, 4, 7], { scale: false }],
    ['neither', [2, 4, 4, 7], { offset: false, scale: false }],
    ['an epsilon that float32 rounds (the layers\' default, 1e-3)', [2, 4, 4, 8], { epsilon: 1e-3 }],
    ['no epsilon', [2, 4, 4, 8], { epsilon: 0 }],
    ['statistics of x\'s whole size: the stock kernel cycles through them', [2, 3, 4], { statisticsShape: () => [2, 3, 4] }],
  ];
  it.each(cases)('%s: the stock values bit for bit', async (_, shape, options) => {
    const channels = shape[shape.length - 1]!;
    const statisticsShape = options.statisticsShape?.(channels) ?? [options.perChannel === false ? 1 : channels];
    const [stock, ours] = await stockAndOurs(() => ({
      x: seededMagnitudes(shape, 1, 3),
      mean: seededMagnitudes(statisticsShape, 2),
      variance: variances(statisticsShape, 3),
      offset: options.offset === false ? undefined : seededMagnitudes(statisticsShape, 4),
      scale: options.scale === false ? undefined : seededMagnitudes(statisticsShape, 5),
      epsilon: options.epsilon ?? 1e-3,
    }));
    expect(Array.from(ours)).toEqual(Array.from(stock));
  });

  it('100,000 random values of mixed magnitudes: the stock values bit for bit', async () => {
    const [stock, ours] = await stockAndOurs(() => ({
      x: seededMagnitudes([4, 50, 50, 10], 7, 1, 8),
      mean: seededMagnitudes([10], 8, 1, 8),
      variance: variances([10], 9),
      offset: seededMagnitudes([10], 10, 1, 8),
      scale: seededMagnitudes([10], 11, 1, 8),
      epsilon: 1e-5,
    }));
    expect(Array.from(ours)).toEqual(Array.from(stock));
  });

  it('special values: infinities, overflow, a zero divisor, signed zeros, NaN', async () => {
    const x = [Infinity, -Infinity, 3e38, -0, 0, 1, Number.NaN, 2, -5, 1e-40, 4, 4];
    const [stock, ours] = await stockAndOurs(() => ({
      x: tf.tensor2d(x, [3, 4]),
      mean: tf.tensor1d([0, 1, -0, 4]),
      variance: tf.tensor1d([1, 0, 4, 0]),
      offset: tf.tensor1d([0, -0, 1e38, 0]),
      scale: tf.tensor1d([10, -1, 3e38, 0]),
      epsilon: 0,
    }));
    // NaN as NaN (its bits are the processor's business); everything else bit for bit.
    const asValues = (bits: Int32Array) => Array.from(new Float32Array(bits.buffer), (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v));
    expect(asValues(ours)).toEqual(asValues(stock));
    expect(asValues(ours)).toContain('NaN');
    expect(asValues(ours)).toContain(Infinity);
  });

  it('an empty x gives an empty output', async () => {
    const [stock, ours] = await stockAndOurs(() => ({
      x: tf.zeros([0, 4]), mean: tf.zeros([4]), variance: tf.ones([4]), epsilon: 1e-3,
    }));
    expect([stock.length, ours.length]).toEqual([0, 0]);
  });

  it('a BatchNormalization layer trains to the same weights with the heap module as with the stock kernel, bit for bit', async () => {
    // Our kernels both times (stock wasm cannot train a convolution), the heap module allowed or not.
    const trained = async (allowed: boolean) => {
      useHeapModule(allowed);
      try {
        const model = tfl.sequential({ layers: [
          tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 5, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
          tfl.layers.batchNormalization(),
          tfl.layers.reLU(),
          tfl.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ] });
        model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
        const [x, y] = [seededMagnitudes([3, 6, 6, 2], 12), seededMagnitudes([3, 6, 6, 1], 13)];
        for (let step = 0; step < 3; step++) await model.trainOnBatch(x, y);
        const weights = await Promise.all(model.getWeights().map(tensorBits));
        tf.dispose([x, y]);
        model.optimizer.dispose();
        model.dispose();
        return weights;
      } finally {
        useHeapModule(true);
      }
    };
    const before = tf.memory().numTensors;
    expect(await trained(true)).toEqual(await trained(false));
    expect(tf.memory().numTensors).toBe(before);
  });
});
