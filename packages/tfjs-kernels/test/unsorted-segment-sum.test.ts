/**
 * UnsortedSegmentSum on wasm (missing in stock tfjs-backend-wasm) and cpu (whose stock kernel is
 * O(numSegments · x.size)): equal to the stock cpu kernel's bit for bit on ids out of range, int32
 * and empty inputs, and on ids of rank 2 (as flattened); so the gradient of tf.gather works on
 * wasm, and a model with an embedding layer trains on both.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';

afterAll(() => registerTrainingKernels());

const ids = (values: number[], shape = [values.length]) => tf.tensor(values, shape, 'int32');
/** [label, op]: segment sums and gather gradients to compare with the cpu backend. */
const CASES: [string, () => tf.Tensor][] = [
  ['rank-1 ids, slices of [3]', () => tf.unsortedSegmentSum(seededUniform([5, 3], 1), ids([2, 0, 2, 1, 0]) as tf.Tensor1D, 3)],
  ['ids out of range are dropped', () => tf.unsortedSegmentSum(seededUniform([4, 2], 2), ids([-1, 3, 1, 7]) as tf.Tensor1D, 3)],
  ['a segment with no slice is zeros', () => tf.unsortedSegmentSum(seededUniform([3], 3), ids([0, 0, 2]) as tf.Tensor1D, 4)],
  ['int32 values (float32 sums, as on cpu)', () => tf.unsortedSegmentSum(ids([5, -2, 7, 1]), ids([1, 1, 0, 1]) as tf.Tensor1D, 2)],
  ['many slices summed into one (rounding order)', () => tf.unsortedSegmentSum(seededUniform([1000, 2], 5), tf.zeros([1000], 'int32') as tf.Tensor1D, 1)],
  ['an empty input', () => tf.unsortedSegmentSum(tf.zeros([0, 2]), ids([]) as tf.Tensor1D, 3)],
  ['the gradient of tf.gather, repeated indices', () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, ids([3, 0, 3, 3])), seededUniform([4, 2], 6))))(seededUniform([5, 2], 7))],
  ['the gradient of tf.gather along axis 1', () => tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.gather(x, ids([1, 1, 0]), 1))))(seededUniform([2, 3, 2], 8))],
];

type Backend = 'cpu' | 'wasm';

/** f() on cpu with the stock kernels: the reference. */
const onStockCpu = (f: () => tf.Tensor) => stockResultOn('cpu', f);

describe('UnsortedSegmentSum', () => {
  it('is added on wasm (stock wasm has none) and replaces cpu\'s by registerTrainingKernels, and unregister removes both', async () => {
    unregisterTrainingKernels();
    try {
      expect(hasTrainingKernel('UnsortedSegmentSum', 'wasm')).toBe(false);
      expect(hasTrainingKernel('UnsortedSegmentSum', 'cpu')).toBe(false);
      await tf.setBackend('wasm');
      expect(() => tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2]), ids([0, 1]) as tf.Tensor1D, 2))).toThrow(/not registered for backend 'wasm'/);
    } finally {
      registerTrainingKernels();
    }
    expect(hasTrainingKernel('UnsortedSegmentSum', 'wasm')).toBe(true);
    expect(hasTrainingKernel('UnsortedSegmentSum', 'cpu')).toBe(true);
  });

  describe.each<Backend>(['cpu', 'wasm'])('on %s', (backend) => {
    it.each(CASES)('%s: equals the stock cpu kernel\'s bit for bit', async (_, f) => {
      registerTrainingKernels();
      expect(await resultOn(backend, f)).toEqual(await onStockCpu(f));
    });

    it('rank-2 segment ids sum as the same ids and slices flattened (the stock cpu kernel fails on rank-2 ids)', async () => {
      registerTrainingKernels();
      const x = () => seededUniform([2, 3, 2], 4);
      const segments = [0, 1, 1, 2, 0, 2];
      const got = await resultOn(backend, () => tf.unsortedSegmentSum(x(), ids(segments, [2, 3]) as tf.Tensor1D, 3));
      const flat = await onStockCpu(() => tf.unsortedSegmentSum(tf.reshape(x(), [6, 2]), ids(segments) as tf.Tensor1D, 3));
      expect(got).toEqual(flat);
    });

    it('keeps a NaN or infinity in its own segment (the stock cpu kernel\'s mask products spread NaN to every segment)', async () => {
      registerTrainingKernels();
      const f = () => tf.unsortedSegmentSum(tf.tensor2d([[NaN, 1], [2, Infinity], [3, 4]]), ids([0, 1, 2]) as tf.Tensor1D, 4);
      expect((await resultOn(backend, f)).values).toEqual([NaN, 1, 2, Infinity, 3, 4, 0, 0]);
      // Stock: 0 · NaN and 0 · Infinity are NaN, so each column's NaN or infinity reaches every segment.
      expect((await onStockCpu(f)).values).toEqual([NaN, NaN, NaN, Infinity, NaN, NaN, NaN, NaN]);
    });

    it('refuses segment ids that are not shaped as x\'s leading axes, naming both shapes', async () => {
      registerTrainingKernels();
      await tf.setBackend(backend);
      expect(() => tf.tidy(() => tf.unsortedSegmentSum(tf.ones([3, 2]), ids([0, 1]) as tf.Tensor1D, 2)))
        .toThrow('UnsortedSegmentSum: the shape of segmentIds, [2], must be that of x\'s leading axes (x: [3, 2])');
    });

    it('a model with an embedding layer trains with model.fit, its loss falling', async () => {
      registerTrainingKernels();
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const model = tfl.sequential({
        layers: [
          tfl.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 3, embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 1 }) }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const optimizer = tf.train.adam(0.05);
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const xs = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 2, 4]], [4, 3], 'int32');
      const ys = tf.tensor2d([[1], [-1], [0.5], [0]]);
      const history = await model.fit(xs, ys, { epochs: 20, batchSize: 4, verbose: 0 });
      const losses = history.history['loss'] as number[];
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]! / 10);
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
