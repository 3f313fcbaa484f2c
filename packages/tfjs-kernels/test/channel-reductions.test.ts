/**
 * Our wasm Sum and Mean over axes before kept ones add in the stock kernels' order without their
 * transposed copy, so they must give the stock kernels' values bit for bit, for every layout of
 * reduced and kept axes, keepDims, special values and inputs long enough to be added in blocks.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WASM_CHANNEL_REDUCTIONS, hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { addMiddleAxis, middleAxisPlan } from '../src/wasm/channel-reductions.js';
import { stockModuleJavaScript } from './wasm-kernel-ways.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(() => registerTrainingKernels());

/** Values of mixed sign and magnitude, so that the order of addition shows in the last bits. */
function values(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 10 ** ((i * 7 + seed) % 5 - 2)), shape, 'float32');
}

type Result = { shape: number[]; dtype: string; values: Float32Array };

/**
 * `f` with the stock kernels and with ours, these adding with the WebAssembly heap module and in
 * JavaScript (where it cannot run): shapes, dtypes and values, no tensor left behind; checks that
 * ours give the same both ways (bit for bit) and returns the stock kernels' and our results.
 */
async function stockAndOurs(f: () => tf.Tensor): Promise<[Result, Result]> {
  const [stock, module, javascript] = await stockModuleJavaScript(async () => {
    const out = f();
    const result = { shape: out.shape, dtype: out.dtype, values: new Float32Array(await out.data()) };
    out.dispose();
    return result;
  });
  expect(javascript.shape).toEqual(module.shape);
  expect(Array.from(new Int32Array(javascript.values.buffer)), 'our kernels adding in JavaScript, as bits').toEqual(Array.from(new Int32Array(module.values.buffer)));
  return [stock, module];
}

describe('middleAxisPlan', () => {
  const cases: Array<[string, number[], number | number[], boolean, { outer: number; reduced: number; inner: number; outShape: number[] } | null]> = [
    ['batch norm moments', [4, 6, 5, 8], [0, 1, 2], false, { outer: 1, reduced: 120, inner: 8, outShape: [8] }],
    ['kept as ones', [4, 6, 5, 8], [0, 1, 2], true, { outer: 1, reduced: 120, inner: 8, outShape: [1, 1, 1, 8] }],
    ['spatial pooling', [4, 6, 5, 8], [1, 2], false, { outer: 4, reduced: 30, inner: 8, outShape: [4, 8] }],
    ['negative axes', [4, 6, 5, 8], [-3, -2], false, { outer: 4, reduced: 30, inner: 8, outShape: [4, 8] }],
    ['one leading axis, several kept', [3, 4, 5], 0, false, { outer: 1, reduced: 3, inner: 20, outShape: [4, 5] }],
    ['innermost axes: the stock kernel transposes nothing', [4, 6, 5, 8], [1, 2, 3], false, null],
    ['every axis', [4, 6], undefined as unknown as number, false, null],
    ['every axis (null, as tfjs-core passes it)', [4, 6], null as unknown as number, false, null],
    ['axes out of order: the stock kernel adds in that order', [4, 6, 5, 8], [2, 1], false, null],
    ['axes not adjacent', [4, 6, 5, 8], [0, 2], false, null],
  ];
  it.each(cases)('%s', (_, shape, axis, keepDims, expected) => {
    expect(middleAxisPlan(shape, axis, keepDims)).toEqual(expected);
  });
});

describe('addMiddleAxis', () => {
  it('adds each output in order in float32, from +0, and divides in float32 for a mean', () => {
    // [outer 2, reduced 3, inner 5]: 5 outputs per outer index, one group of four and one left over.
    const x = Float32Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 1e8 : 1) + i / 3);
    x[0] = -0;
    const plan = { outer: 2, reduced: 3, inner: 5 };
    const sums = new Float32Array(12).fill(7);
    const means = new Float32Array(10);
    addMiddleAxis(x, plan, false, sums.subarray(1, 11));
    addMiddleAxis(x, plan, true, means);
    for (let o = 0; o < 2; o++) {
      for (let c = 0; c < 5; c++) {
        let s = 0;
        for (let r = 0; r < 3; r++) s = Math.fround(s + x[(o * 3 + r) * 5 + c]!);
        expect(sums[1 + o * 5 + c]).toBe(s);
        expect(means[o * 5 + c]).toBe(Math.fround(s / 3));
      }
    }
    expect([sums[0], sums[11]]).toEqual([7, 7]); // nothing written outside the output
  });
});

describe('wasm Sum and Mean over middle axes', () => {
  it('are registered for wasm by registerTrainingKernels and removed by unregister', () => {
    registerTrainingKernels();
    for (const k of WASM_CHANNEL_REDUCTIONS) expect(hasTrainingKernel(k, 'wasm'), k).toBe(true);
    unregisterTrainingKernels();
    for (const k of WASM_CHANNEL_REDUCTIONS) expect(hasTrainingKernel(k, 'wasm'), k).toBe(false);
    registerTrainingKernels();
  });

  const cases: Array<[string, number[], number | number[], boolean]> = [
    ['batch norm moments, 8 channels', [4, 6, 5, 8], [0, 1, 2], false],
    ['7 channels (a group of four and three left)', [2, 5, 3, 7], [0, 1, 2], false],
    ['one channel', [2, 5, 3, 1], [0, 1, 2], false],
    ['channel attention pooling', [3, 6, 5, 16], [1, 2], false],
    ['keepDims', [3, 6, 5, 16], [1, 2], true],
    ['negative axes', [3, 6, 5, 6], [-3, -2], false],
    ['a middle axis of rank 5', [2, 3, 4, 5, 6], 2, false],
    ['the batch axis alone', [9, 4, 5], 0, false],
    ['rows in several blocks (40,000 rows of 2)', [40000, 2], 0, false],
    ['rows in several blocks (5,000 rows of 20)', [10, 500, 20], [0, 1], true],
    ['innermost axes (stock path)', [3, 6, 5, 4], [2, 3], false],
    ['every axis (stock path)', [3, 6, 5, 4], undefined as unknown as number, false],
    ['a scalar (stock path)', [], undefined as unknown as number, true],
    ['axes out of order (stock path)', [3, 6, 5, 4], [2, 1], false],
  ];
  describe.each(WASM_CHANNEL_REDUCTIONS)('%s', (kernel) => {
    const op = kernel === 'Sum' ? tf.sum : tf.mean;
    it.each(cases)('%s equals stock bit for bit', async (_, shape, axis, keepDims) => {
      const x = values(shape, shape.length);
      const [stock, ours] = await stockAndOurs(() => op(x, axis, keepDims));
      expect(ours!.shape).toEqual(stock!.shape);
      expect(ours!.dtype).toBe(stock!.dtype);
      expect(Array.from(ours!.values)).toEqual(Array.from(stock!.values));
      x.dispose();
    });

    it('keeps NaN, infinities and the sign of zero as stock does', async () => {
      const x = tf.tensor4d([NaN, 1, -0, Infinity, 2, -Infinity, -0, 3, -0, 4, -0, -Infinity], [1, 3, 1, 4]);
      const [stock, ours] = await stockAndOurs(() => op(x, [0, 1, 2]));
      expect(Array.from(ours!.values)).toEqual(Array.from(stock!.values));
      expect(Object.is(ours!.values[2], 0)).toBe(true); // +0 from -0 + -0 + -0 started at +0
      x.dispose();
    });

    it('of int32 and empty tensors goes to the kernels it wraps', async () => {
      const ints = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32');
      const [stock, ours] = await stockAndOurs(() => op(ints, 0));
      expect(ours).toEqual(stock);
      ints.dispose();
      registerTrainingKernels();
      const empty = tf.zeros([0, 3, 4]);
      const r = op(empty, [0, 1]);
      expect([r.shape, Array.from(await r.data())]).toEqual([[4], [0, 0, 0, 0]]);
      tf.dispose([empty, r]);
    });

    it('allocates only the output: no transposed copy', () => {
      registerTrainingKernels();
      const x = values([4, 6, 5, 8], 1);
      const backend = tf.backend() as unknown as { makeOutput(...args: unknown[]): unknown };
      const spy = vi.spyOn(backend, 'makeOutput');
      try {
        op(x, [0, 1, 2]).dispose();
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
        x.dispose();
      }
    });
  });
});
