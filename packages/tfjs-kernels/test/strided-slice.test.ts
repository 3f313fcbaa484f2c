/**
 * StridedSlice and its gradient, and GatherNd's gradient, on cpu and wasm: the stock kernels are
 * wrong for a slice that drops an axis and strides another (`x[1, ::2]`), ours give NumPy's values;
 * tfjs-core has no gradient for either op, ours are exact. The webgpu runs are in webgpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { resultOn, stockResultOn } from './backend-results.js';
import { STRIDED_SLICE_CASES, iota, numpySlice, stridedSliceGradient, stridedSliceOfIota } from './strided-slice-cases.js';
import { GATHER_ND_CASE, gatherNdGradient } from './gather-nd-case.js';

describe('StridedSlice', () => {
  it('tfjs-core has no gradient for StridedSlice or GatherNd; registerTrainingKernels adds both', async () => {
    await tf.setBackend('cpu');
    const slice = (x: tf.Tensor) => tf.sum(tf.stridedSlice(x, [0], [4], [2]));
    const gather = (x: tf.Tensor) => tf.sum(tf.gatherND(x, tf.tensor2d([[1]], [1, 1], 'int32')));
    expect(() => tf.grad(slice)(tf.ones([4]))).toThrow(/gradient function not found for StridedSlice/);
    expect(() => tf.grad(gather)(tf.ones([4]))).toThrow(/gradient function not found for GatherNd/);
    registerTrainingKernels();
    for (const backend of ['cpu', 'wasm']) expect(hasTrainingKernel('StridedSlice', backend), backend).toBe(true);
    tf.dispose([tf.grad(slice)(tf.ones([4])), tf.grad(gather)(tf.ones([4]))]);
  });

  it('the stock kernels take the wrong values when an axis is dropped and another strided', async () => {
    const [label, shape, index] = STRIDED_SLICE_CASES[0]!;
    expect(label).toMatch(/^x\[1, ::2\]/);
    for (const backend of ['cpu', 'wasm']) {
      expect((await stockResultOn(backend, () => stridedSliceOfIota(shape, index))).values, backend).toEqual([1, 2]);
    }
  });

  for (const backend of ['cpu', 'wasm']) {
    it.each(STRIDED_SLICE_CASES)(`takes NumPy's values on ${backend}: %s`, async (_label, shape, index) => {
      registerTrainingKernels();
      const expected = numpySlice(shape, index);
      const got = await resultOn(backend, () => stridedSliceOfIota(shape, index));
      expect(got.shape).toEqual(expected.shape);
      expect(got.values).toEqual(expected.sources);
    });

    it.each(STRIDED_SLICE_CASES)(`has the exact gradient on ${backend}: %s`, async (_label, shape, index) => {
      registerTrainingKernels();
      const { got, expected } = stridedSliceGradient(shape, index);
      const result = await resultOn(backend, got);
      expect(result.shape).toEqual(shape);
      expect(result.values).toEqual(expected);
    });
  }

  it('its gradient trains through a strided crop on wasm as on cpu (second derivatives too)', async () => {
    registerTrainingKernels();
    // d/dx of sum((x[:, ::2, 1:, 0] * 3)^2) is 18 x where the slice reads, 0 elsewhere; its own gradient, 18 there.
    const results: number[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      const { values } = await resultOn(backend, () => {
        const x = iota([2, 5, 4, 2]);
        const loss = (t: tf.Tensor) => tf.sum(tf.square(tf.mul(tf.stridedSlice(t, [0, 0, 1, 0], [0, 0, 0, 1], [1, 2, 1, 1], 0b0011, 0b0111, 0, 0, 0b1000), 3)));
        return tf.grad((t: tf.Tensor) => tf.sum(tf.grad(loss)(t)))(x);
      });
      results.push(values);
    }
    const { sources } = numpySlice([2, 5, 4, 2], [{}, { step: 2 }, { start: 1 }, 0]);
    const expected = new Array<number>(80).fill(0);
    for (const source of sources) expected[source] = 18;
    expect(results[0]).toEqual(expected);
    expect(results[1]).toEqual(expected);
  });
});

describe('the gradient of GatherNd', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`is dy scattered back to the gathered coordinates, summed where one repeats, on ${backend}`, async () => {
      registerTrainingKernels();
      const result = await resultOn(backend, gatherNdGradient);
      expect(result.shape).toEqual(GATHER_ND_CASE.shape);
      expect(result.values).toEqual(GATHER_ND_CASE.expected);
    });
  }

  it('leaks nothing over repeated steps', async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(tf.tidy(gatherNdGradient));
    tf.dispose(tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.stridedSlice(x, [0, 1], [3, 4], [2, 2])))(iota([3, 4]))));
    expect(tf.memory().numTensors).toBe(before);
  });
});
