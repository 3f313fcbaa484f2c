/**
 * Our wasm Concat, Slice, StridedSlice, SplitV and Transpose only copy values, so they must give exactly what the stock
 * kernels give, for every rank, axis, dtype and the empty and degenerate cases. Our Identity shares
 * the input's storage instead of copying it: same values, no new bytes, independent lifetimes.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { collapseTranspose } from '../src/kernel-ops.js';
import { HEAP_MODULE, heapModule, useHeapModule } from '../src/wasm/heap-module.js';
import { assembleWat, HEAP_MODULE_SOURCES } from '../scripts/heap-module-wat.js';
import { CONV_GRAD_MODULE } from '../src/wasm/conv-grad-module.js';
import { stockModuleJavaScript } from './wasm-kernel-ways.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(() => registerTrainingKernels());

type DType = 'float32' | 'int32' | 'bool';

/** Distinct values per position (so a misplaced element shows), in the dtype's range. */
function tensor(shape: number[], dtype: DType, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i * 7 + seed) % 3 === 0 ? 1 : 0 : i * 10 + seed + (dtype === 'float32' ? 0.25 : 0)));
  return tf.tensor(values, shape, dtype);
}

type Result = Array<{ shape: number[]; dtype: string; values: number[] }>;

/**
 * Runs `f` with the stock kernels and with ours, these copying rows with the WebAssembly heap module
 * and in JavaScript (where it cannot run); checks that ours give the same both ways and returns
 * the stock kernels' and our results' shapes and values.
 */
async function stockAndOurs(f: () => tf.Tensor | tf.Tensor[]): Promise<[Result, Result]> {
  const [stock, module, javascript] = await stockModuleJavaScript(async () => {
    const out = f();
    const list = Array.isArray(out) ? out : [out];
    const result = await Promise.all(list.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(await t.data() as ArrayLike<number>) })));
    tf.dispose(list);
    return result;
  });
  expect(javascript, 'our kernels copying in JavaScript').toEqual(module);
  return [stock, module];
}

const DTYPES: DType[] = ['float32', 'int32', 'bool'];

describe('wasm copy kernels', () => {
  it('are registered for wasm by registerTrainingKernels and removed by unregister', () => {
    registerTrainingKernels();
    for (const k of ['Identity', 'Concat', 'Slice', 'SplitV', 'Transpose']) expect(hasTrainingKernel(k, 'wasm'), k).toBe(true);
    unregisterTrainingKernels();
    for (const k of ['Identity', 'Concat', 'Slice', 'SplitV', 'Transpose']) {
      expect(hasTrainingKernel(k, 'wasm'), k).toBe(false);
      expect(tf.getKernel(k, 'wasm'), `stock ${k} back`).toBeDefined();
    }
  });

  const concatCases: Array<[string, number[][], number]> = [
    ['channels, short rows (the layer\'s 4 x 8)', [[2, 3, 4, 8], [2, 3, 4, 8], [2, 3, 4, 8], [2, 3, 4, 8]], 3],
    ['channels, unequal widths', [[2, 5, 5, 3], [2, 5, 5, 70], [2, 5, 5, 1]], -1],
    ['rows of images (long rows)', [[2, 3, 4, 5], [2, 6, 4, 5]], 1],
    ['batch', [[1, 2, 3], [3, 2, 3]], 0],
    ['rank 1', [[4], [1], [6]], 0],
    ['rank 5, middle axis', [[2, 2, 3, 2, 2], [2, 2, 1, 2, 2]], 2],
    ['with an empty input', [[2, 0, 3], [2, 4, 3], [2, 1, 3]], 1],
  ];
  describe.each(DTYPES)('Concat of %s', (dtype) => {
    it.each(concatCases)('%s equals stock', async (_, shapes, axis) => {
      const inputs = shapes.map((s, i) => tensor(s, dtype, i + 1));
      const [stock, ours] = await stockAndOurs(() => tf.concat(inputs, axis));
      expect(ours).toEqual(stock);
      tf.dispose(inputs);
    });
  });

  const sliceCases: Array<[string, number[], number[], number[]]> = [
    ['a few channels of NHWC', [2, 4, 5, 32], [0, 0, 0, 8], [2, 4, 5, 8]],
    ['a window of rows and columns', [2, 6, 7, 3], [1, 2, 1, 0], [1, 3, 5, 3]],
    ['whole trailing axes (one long row per batch)', [3, 6, 4, 5], [0, 1, 0, 0], [3, 4, 4, 5]],
    ['contiguous block', [5, 4, 3], [1, 0, 0], [2, 4, 3]],
    ['size -1 to the end', [4, 9], [1, 3], [-1, -1]],
    ['rank 1', [10], [3], [4]],
    ['rank 6', [2, 2, 2, 3, 2, 4], [1, 0, 1, 1, 0, 1], [1, 2, 1, 2, 2, 2]],
    ['empty result', [3, 4], [1, 2], [0, 2]],
  ];
  describe.each(DTYPES)('Slice of %s', (dtype) => {
    it.each(sliceCases)('%s equals stock', async (_, shape, begin, size) => {
      const x = tensor(shape, dtype, 3);
      const [stock, ours] = await stockAndOurs(() => tf.slice(x, begin, size));
      expect(ours).toEqual(stock);
      x.dispose();
    });
  });

  // [name, shape, begin, end, strides, beginMask, endMask, shrinkAxisMask]
  const stridedSliceCases: Array<[string, number[], number[], number[], number[], number, number, number]> = [
    ['a 3x3 window of padded channels-first activations (a filter gradient\'s)', [3, 2, 6, 6], [0, 0, 1, 2], [3, 2, 5, 6], [1, 1, 1, 1], 0, 0, 0],
    ['a few channels of NHWC', [2, 4, 5, 32], [0, 0, 0, 8], [2, 4, 5, 16], [1, 1, 1, 1], 0, 0, 0],
    ['negative begin and end', [4, 9], [-3, 1], [-1, -2], [1, 1], 0, 0, 0],
    ['begin and end masks', [4, 6, 3], [2, 1, 0], [0, 5, 2], [1, 1, 1], 0b101, 0b001, 0],
    ['shrinking an axis', [4, 6, 3], [1, 2, 0], [2, 5, 3], [1, 1, 1], 0, 0, 0b001],
    ['empty (begin at end)', [5, 4], [3, 0], [3, 4], [1, 1], 0, 0, 0],
    ['stride 2 (stock)', [2, 8, 8, 3], [0, 1, 0, 0], [2, 8, 7, 3], [1, 2, 2, 1], 0, 0, 0],
    ['whole tensor (identity)', [3, 4], [0, 0], [3, 4], [1, 1], 0, 0, 0],
  ];
  describe.each(DTYPES)('StridedSlice of %s', (dtype) => {
    // The stock kernel's strided path writes bool outputs as float32 (its own bug, left to it).
    const cases = stridedSliceCases.filter(([, , , , strides]) => dtype !== 'bool' || strides.every((s) => s === 1));
    it.each(cases)('%s equals stock', async (_, shape, begin, end, strides, beginMask, endMask, shrinkAxisMask) => {
      const x = tensor(shape, dtype, 4);
      const [stock, ours] = await stockAndOurs(() => tf.stridedSlice(x, begin, end, strides, beginMask, endMask, 0, 0, shrinkAxisMask));
      expect(ours).toEqual(stock);
      x.dispose();
    });
  });

  it('StridedSlice with begin past end fails as the stock kernel does', () => {
    const x = tensor([5, 4], 'float32', 4);
    const attempt = () => tf.stridedSlice(x, [3, 0], [1, 4]);
    unregisterTrainingKernels();
    const stockError = (() => { try { attempt(); return null; } catch (e) { return (e as Error).message; } })();
    registerTrainingKernels();
    expect(stockError).not.toBeNull();
    expect(attempt).toThrow(stockError!);
    x.dispose();
  });

  const splitCases: Array<[string, number[], number | number[], number]> = [
    ['channels in 4 (the concat gradient)', [2, 3, 4, 32], 4, 3],
    ['unequal sizes with -1', [2, 3, 10], [3, -1, 2], -1],
    ['rows', [2, 6, 3], [1, 5], 1],
    ['batch', [4, 2, 2], 2, 0],
  ];
  describe.each(DTYPES)('SplitV of %s', (dtype) => {
    it.each(splitCases)('%s equals stock', async (_, shape, sizes, axis) => {
      const x = tensor(shape, dtype, 5);
      const [stock, ours] = await stockAndOurs(() => tf.split(x, sizes, axis));
      expect(ours).toEqual(stock);
      x.dispose();
    });
  });

  const transposeCases: Array<[string, number[], number[]]> = [
    ['2-D, many rows (the fast path)', [512, 32], [1, 0]],
    ['NHWC to channels first, collapsing to 2-D (fast path)', [4, 8, 8, 20], [3, 0, 1, 2]],
    ['with size-1 axes dropped (fast path)', [1, 512, 1, 16], [3, 2, 1, 0]],
    ['2-D with an odd row count (stock)', [257, 32], [1, 0]],
    ['2-D, few columns (stock)', [512, 8], [1, 0]],
    ['2-D, few rows (stock)', [64, 64], [1, 0]],
    ['3-D after collapsing (stock)', [4, 8, 8, 20], [3, 1, 2, 0]],
    ['rank 5', [2, 3, 4, 2, 3], [4, 2, 0, 3, 1]],
    ['identity', [3, 4], [0, 1]],
    ['[a, b, c] to [b, a, c]: rows of c moved whole (heap module; 16 bytes, then 4)', [4, 16, 7], [1, 0, 2]],
    ['NHWC to [h, w, n, c], collapsing to [b, a, c] (heap module)', [3, 4, 5, 6], [1, 2, 0, 3]],
    ['[b, a, c] with a size-1 axis dropped (heap module)', [2, 1, 5, 4], [2, 1, 0, 3]],
    ['[b, a, c] of an empty tensor', [0, 3, 2], [1, 0, 2]],
    ['2-D in 4x4 tiles and the rows and columns past them (heap module)', [13, 9], [1, 0]],
    ['2-D narrower than a tile (heap module)', [3, 2], [1, 0]],
    ['NHWC to NCHW, collapsing to [a, rows, cols] -> [a, cols, rows] (heap module)', [3, 4, 5, 6], [0, 3, 1, 2]],
    ['[a, rows, cols] -> [a, cols, rows] of an empty tensor', [2, 0, 3], [0, 2, 1]],
  ];
  describe.each(DTYPES)('Transpose of %s', (dtype) => {
    it.each(transposeCases)('%s equals stock', async (_, shape, perm) => {
      const x = tensor(shape, dtype, 7);
      const [stock, ours] = await stockAndOurs(() => tf.transpose(x, perm));
      expect(ours).toEqual(stock);
      x.dispose();
    });
  });

  it.each([
    [[4, 8, 8, 20], [3, 0, 1, 2], [256, 20], [1, 0]],
    [[4, 8, 8, 20], [3, 1, 2, 0], [4, 64, 20], [2, 1, 0]],
    [[1, 512, 1, 16], [3, 2, 1, 0], [512, 16], [1, 0]],
    [[2, 3, 4], [0, 1, 2], [24], [0]],
    [[2, 1, 3], [2, 1, 0], [2, 3], [1, 0]],
  ])('collapseTranspose(%j, %j) is %j with perm %j', (shape, perm, collapsedShape, collapsedPerm) => {
    expect(collapseTranspose(shape, perm)).toEqual({ shape: collapsedShape, perm: collapsedPerm });
  });

  // Rows of 4 values go 16 bytes at a time through the heap module, of 2 or 3 values 4 bytes at a time.
  it.each([true, false])('float32 values are copied as bits: NaN payloads and -0 survive, as through the stock kernels (heap module: %s)', async (rowCopyModule) => {
    registerTrainingKernels();
    useHeapModule(rowCopyModule);
    try {
      const bits = new Int32Array([0x7fc00001, 0xffc12345 | 0, 0x80000000 | 0, 0x7f800000, 0x3f800000, 0x7fa00000, 0xfff00001 | 0, 0x00000001]);
      const a = tf.tensor(new Float32Array(bits.buffer), [1, 2, 4]);
      const outs = [tf.concat([a, a], 2), tf.slice(a, [0, 0, 1], [1, 2, 2]), ...tf.split(a, [1, 3], 2)];
      const read = async (t: tf.Tensor) => Array.from(new Int32Array(((await t.data()) as Float32Array).slice().buffer));
      const b = Array.from(bits);
      expect(await read(outs[0]!)).toEqual([...b.slice(0, 4), ...b.slice(0, 4), ...b.slice(4), ...b.slice(4)]);
      expect(await read(outs[1]!)).toEqual([b[1], b[2], b[5], b[6]]);
      expect(await read(outs[2]!)).toEqual([b[0], b[4]]);
      expect(await read(outs[3]!)).toEqual([b[1], b[2], b[3], b[5], b[6], b[7]]);
      tf.dispose([a, ...outs]);
    } finally {
      useHeapModule(true);
    }
  });

  it('the heap module runs on Node\'s wasm backend (so the tests above cover it), assembled from heap-module.wat and conv-grad-module.wat', async () => {
    expect(heapModule(tf.backend())).not.toBeNull();
    const arrays = { HEAP_MODULE, CONV_GRAD_MODULE };
    expect(HEAP_MODULE_SOURCES.map((m) => m.array).sort()).toEqual(Object.keys(arrays).sort());
    for (const { array, wat } of HEAP_MODULE_SOURCES) {
      expect(Array.from(await assembleWat(wat)), array).toEqual(Array.from(arrays[array]));
      // Browsers compile a module synchronously on their main thread only up to 4 KB (Chromium's limit).
      expect(arrays[array].length, array).toBeLessThanOrEqual(4096);
    }
  });

  it('the heap module copies rows between strides in the heap, past the first 16-byte blocks and the 4-byte rest', async () => {
    const copy = heapModule(tf.backend())!.copyRows;
    const heapOf = (t: tf.Tensor) => {
      const values = (tf.backend() as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      return { heap: new Float32Array(values.buffer), start: values.byteOffset / 4 };
    };
    // 3 rows of 7 values (one 16-byte block and three 4-byte values), every 9th value of src into every 11th of dst.
    const src = tf.range(0, 27, 1, 'float32');
    const dst = tf.fill([33], -1);
    const s = heapOf(src);
    const d = heapOf(dst);
    copy(s.start + 1, d.start + 2, 3, 7, 9, 11);
    const expected = new Float32Array(33).fill(-1);
    for (let r = 0; r < 3; r++) for (let j = 0; j < 7; j++) expected[2 + 11 * r + j] = 1 + 9 * r + j;
    expect(Array.from(await dst.data())).toEqual(Array.from(expected));
    tf.dispose([src, dst]);
  });

  describe.each(DTYPES)('Identity of %s', (dtype) => {
    it('gives the input\'s values in its storage, which outlives whichever of the two is disposed first', async () => {
      const x = tensor([2, 3, 4], dtype, 3);
      const [stock, ours] = await stockAndOurs(() => tf.clone(x));
      expect(ours).toEqual(stock);
      registerTrainingKernels();
      const buffers = tf.memory().numDataBuffers;
      const clone = tf.clone(x);
      expect(tf.memory().numDataBuffers).toBe(buffers); // shared, not copied
      const values = Array.from((await x.data()) as ArrayLike<number>);
      x.dispose();
      expect(Array.from((await clone.data()) as ArrayLike<number>)).toEqual(values);
      const again = tf.clone(clone);
      clone.dispose();
      expect(Array.from((await again.data()) as ArrayLike<number>)).toEqual(values);
      again.dispose();
      expect(tf.memory().numDataBuffers).toBe(buffers - 1);
    });
  });

  it('a backward pass keeps its saved tensors without copies: the same gradients with fewer buffers alive', async () => {
    const a = tf.randomUniform([16, 32], -1, 1, 'float32', 11);
    const b = tf.randomUniform([32, 8], -1, 1, 'float32', 12);
    const run = (ours: boolean) => {
      if (ours) registerTrainingKernels();
      else unregisterTrainingKernels();
      let buffers = 0;
      const grads = tf.grads((p: tf.Tensor, q: tf.Tensor) => {
        const loss = tf.sum(tf.square(tf.relu(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D))));
        buffers = tf.memory().numDataBuffers; // the forward pass's saved tensors are alive here
        return loss as tf.Scalar;
      })([a, b]);
      return { buffers, grads };
    };
    const stock = run(false);
    const ours = run(true);
    registerTrainingKernels();
    expect(ours.buffers).toBeLessThan(stock.buffers);
    for (const [i, g] of ours.grads.entries()) expect(await g.data()).toEqual(await stock.grads[i]!.data());
    tf.dispose([a, b, ...stock.grads, ...ours.grads]);
  });

  it('strings go to the stock kernels', async () => {
    const a = tf.tensor([['a', 'b'], ['c', 'd']]);
    const b = tf.tensor([['e'], ['f']]);
    const [stock, ours] = await stockAndOurs(() => [tf.concat([a, b], 1), tf.slice(a, [0, 1], [2, 1])]);
    expect(ours).toEqual(stock);
    tf.dispose([a, b]);
  });

  it('the concat gradient (SplitV) trains the same: gradients through concat equal stock', async () => {
    const parts = [0, 1, 2].map((i) => tf.randomUniform([2, 3, 3, 4], -1, 1, 'float32', i));
    const w = tf.randomUniform([2, 3, 3, 12], -1, 1, 'float32', 9);
    const [stock, ours] = await stockAndOurs(() => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q, r], 3), w)))(parts));
    expect(ours).toEqual(stock);
    tf.dispose([...parts, w]);
  });

  it('called directly (past the ops\' checks), they reject bad arguments as the stock kernels do', () => {
    registerTrainingKernels();
    const x = tensor([2, 3], 'float32', 1);
    const y = tensor([2, 4, 1], 'float32', 2);
    const before = tf.memory().numTensors;
    expect(() => tf.engine().runKernel('Slice', { x }, { begin: [0, 2], size: [2, 2] })).toThrow(/begin\[1\] \+ size\[1\] \(4\) would overflow input.shape\[1\] \(3\)/);
    expect(() => tf.engine().runKernel('Concat', [x, y] as unknown as tf.NamedTensorMap, { axis: 1 })).toThrow(/rank/i);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});
