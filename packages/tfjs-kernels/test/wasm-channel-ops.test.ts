/**
 * The wasm Multiply and Add of a tensor by a per-channel operand broadcast over its pixels (channel
 * attention's gate), computed by the heap module's `channelOp`: the stock kernels' values for every
 * broadcast of that form, either operand first, channel counts around the SIMD width, infinities
 * and NaN; every other operation left to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { heapModule } from '../src/wasm/heap-module.js';
import { channelBroadcastPlan } from '../src/wasm/channel-ops.js';
import { seededMagnitudes, tensorBits } from '../../../test-utils/numeric.js';
import { stockModuleJavaScript } from './wasm-kernel-ways.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerTrainingKernels();
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => registerTrainingKernels());

const BROADCASTS: Array<[string, number[], number[]]> = [
  ['[4,64,64,16] by [4,1,1,16] (the gate at the layer\'s first stage)', [4, 64, 64, 16], [4, 1, 1, 16]],
  ['[3,5,6,7] by [3,1,1,7] (one SIMD group and three channels alone)', [3, 5, 6, 7], [3, 1, 1, 7]],
  ['[2,4,4,3] by [2,1,1,3] (no SIMD group)', [2, 4, 4, 3], [2, 1, 1, 3]],
  ['[2,5,5,8] by [1,1,1,8] (one row for the whole batch)', [2, 5, 5, 8], [1, 1, 1, 8]],
  ['[2,5,5,12] by [12] (a shorter shape)', [2, 5, 5, 12], [12]],
  ['[6,10] by [1,10] (rank 2)', [6, 10], [1, 10]],
  ['[2,3,4,5,9] by [2,1,1,1,9] (rank 5)', [2, 3, 4, 5, 9], [2, 1, 1, 1, 9]],
];

type Name = 'Multiply' | 'Add';
interface Result { shape: number[]; bits: number[] }

/** Where two results differ first (a short message, where a deep diff of 262,144 values would take minutes), or 'none'. */
function firstDifference(actual: Result, expected: Result): string {
  if (actual.shape.join() !== expected.shape.join()) return `shape [${actual.shape}] against [${expected.shape}]`;
  const i = actual.bits.findIndex((v, k) => v !== expected.bits[k]);
  return i < 0 ? 'none' : `value ${i} of ${actual.bits.length}: bits ${actual.bits[i]} against ${expected.bits[i]}`;
}

async function readBits(out: tf.Tensor): Promise<Result> {
  const values = { shape: out.shape, bits: await tensorBits(out) };
  out.dispose();
  return values;
}
const run = (name: Name, a: tf.Tensor, b: tf.Tensor) => tf.engine().runKernel(name, { a, b }) as tf.Tensor;

describe('wasm Multiply and Add by a per-channel operand', () => {
  it.each(BROADCASTS)('%s: the stock kernels\' values, either operand first, in one heap-module pass', async (_, full, gate) => {
    const x = seededMagnitudes(full, 1);
    const g = seededMagnitudes(gate, 2);
    for (const name of ['Multiply', 'Add'] as const) {
      for (const [a, b] of [[x, g], [g, x]]) {
        const spy = vi.spyOn(heapModule(tf.backend())!, 'channelOp');
        const [stock, module, javascript] = await stockModuleJavaScript(() => readBits(run(name, a, b)));
        expect(firstDifference(module, stock), name).toBe('none');
        expect(firstDifference(javascript, stock), name).toBe('none');
        expect(spy).toHaveBeenCalledTimes(1); // the module's run only
        spy.mockRestore();
      }
    }
    tf.dispose([x, g]);
  });

  it('infinities, zeros of both signs and NaN: the stock kernels\' values', async () => {
    const specials = [Infinity, -Infinity, 0, -0, NaN, 1, -1, 3.5e38];
    const x = tf.tensor(Float32Array.from({ length: 2 * 3 * 8 }, (_, i) => specials[i % 8]!), [2, 3, 8]);
    const g = tf.tensor(Float32Array.from({ length: 2 * 8 }, (_, i) => specials[(i * 3) % 8]!), [2, 1, 8]);
    for (const name of ['Multiply', 'Add'] as const) {
      const [stock, module] = await stockModuleJavaScript(async () => {
        const out = run(name, x, g);
        const values = Array.from(await out.data());
        out.dispose();
        return values;
      });
      expect(module).toEqual(stock); // NaN where stock has NaN (toEqual treats NaNs alike)
    }
    tf.dispose([x, g]);
  });

  it('leaves same shapes, per-pixel and per-batch scalars, other dtypes and empty tensors to the stock kernels', async () => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'channelOp');
    const cases: Array<[tf.Tensor, tf.Tensor]> = [
      [seededMagnitudes([2, 3, 3, 4], 3), seededMagnitudes([2, 3, 3, 4], 4)],
      [seededMagnitudes([2, 3, 3, 4], 3), seededMagnitudes([2, 3, 3, 1], 4)],
      [seededMagnitudes([2, 3, 3, 4], 3), seededMagnitudes([2, 1, 1, 1], 4)],
      [seededMagnitudes([2, 3, 3, 4], 3), seededMagnitudes([1, 3, 1, 4], 4)],
      [tf.ones([2, 3, 3, 4], 'int32'), tf.ones([2, 1, 1, 4], 'int32')],
      [tf.zeros([0, 3, 3, 4]), tf.ones([1, 1, 1, 4])],
      [tf.scalar(2), seededMagnitudes([3, 4], 5)],
    ];
    for (const [a, b] of cases) {
      for (const name of ['Multiply', 'Add'] as const) {
        const [stock, module] = await stockModuleJavaScript(async () => {
          const out = run(name, a, b);
          const values = { shape: out.shape, values: Array.from(await out.data()) };
          out.dispose();
          return values;
        });
        expect(module).toEqual(stock);
      }
      tf.dispose([a, b]);
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it('plans [outer, pixels, channels] views: per batch, one row for all, or none', () => {
    const info = (shape: number[]) => ({ shape, dtype: 'float32' }) as tf.TensorInfo;
    expect(channelBroadcastPlan(info([4, 8, 8, 16]), info([4, 1, 1, 16]))).toMatchObject({ outer: 4, pixels: 64, channels: 16, gStride: 16 });
    expect(channelBroadcastPlan(info([1, 1, 16]), info([2, 5, 5, 16]))).toMatchObject({ outer: 1, pixels: 50, channels: 16, gStride: 0 });
    expect(channelBroadcastPlan(info([4, 8, 8, 16]), info([4, 8, 1, 16]))).toBeNull();
    expect(channelBroadcastPlan(info([4, 8, 8, 16]), info([4, 8, 8, 16]))).toBeNull();
    expect(channelBroadcastPlan(info([4, 1, 8, 1]), info([1, 8, 1, 16]))).toBeNull(); // neither is the output's shape
  });
});
