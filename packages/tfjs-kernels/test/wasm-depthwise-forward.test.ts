/**
 * The wasm depthwise convolution (DepthwiseConv2dNative) of stride 1, no dilation, multiplier 1 and
 * a 3x3 or 5x5 filter, computed by the heap module: bit for bit the sums its documentation states
 * (per pixel and channel, the taps inside x column by column, each column's rows in order, from +0)
 * and so the stock kernel's (XNNPACK's), for channel counts around the SIMD width, paddings, rows
 * longer than the module's 4 KB chunks, and images smaller than the filter; every other depthwise
 * convolution left to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it, vi } from 'vitest';
import { bitsWithAndWithoutModule, onWasmWithOurKernels, type Pad, type Shape4 } from './wasm-kernel-ways.js';
import { heapModule, useHeapModule } from '../src/wasm/heap-module.js';
import { float32Bits, seededMagnitudes, tensorBits } from '../../../test-utils/numeric.js';

onWasmWithOurKernels();

interface Case { x: Shape4; size: number; pad: Pad }

const CASES: Array<[string, Case]> = [
  ['3x3 same, 4 channels, 64x64 (the layer\'s first stage)', { x: [4, 64, 64, 4], size: 3, pad: 'same' }],
  ['3x3 same, 6 channels (one group and two alone), 9x7', { x: [2, 9, 7, 6], size: 3, pad: 'same' }],
  ['3x3 same, 3 channels (none in SIMD)', { x: [2, 6, 5, 3], size: 3, pad: 'same' }],
  ['5x5 same, 13 channels', { x: [1, 8, 9, 13], size: 5, pad: 'same' }],
  ['3x3 valid', { x: [1, 8, 8, 5], size: 3, pad: 'valid' }],
  ['explicit padding, more before than after', { x: [2, 6, 6, 4], size: 3, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] }],
  ['5x5 same on a 3x3 image (every pixel misses taps)', { x: [1, 3, 3, 8], size: 5, pad: 'same' }],
  ['rows of 300 pixels of 8 channels (three 4 KB chunks, the last short)', { x: [1, 5, 300, 8], size: 3, pad: 'same' }],
  ['64 channels (16 pixels per chunk), 3x37', { x: [1, 3, 37, 64], size: 5, pad: 'same' }],
];

const conv = (x: tf.Tensor, filter: tf.Tensor, pad: Pad, strides = 1, dilations = 1) =>
  tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad, 'NHWC', dilations);

/** The documented sums, in float32 in JavaScript. */
function documentedSums(x: Float32Array, w: Float32Array, k: Case, outHeight: number, outWidth: number, top: number, left: number): Float32Array {
  const f = Math.fround;
  const [n, h, wd, c] = k.x;
  const out = new Float32Array(n * outHeight * outWidth * c);
  for (let b = 0; b < n; b++) for (let i = 0; i < outHeight; i++) for (let j = 0; j < outWidth; j++) for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let q = 0; q < k.size; q++) {
      const jj = j + q - left;
      if (jj < 0 || jj >= wd) continue;
      for (let p = 0; p < k.size; p++) {
        const ii = i + p - top;
        if (ii < 0 || ii >= h) continue;
        sum = f(sum + f(x[((b * h + ii) * wd + jj) * c + ch]! * w[(p * k.size + q) * c + ch]!));
      }
    }
    out[((b * outHeight + i) * outWidth + j) * c + ch] = sum;
  }
  return out;
}

describe('wasm depthwise convolution in the heap module', () => {
  it.each(CASES)('%s: the documented float32 sums and the stock kernel\'s, bit for bit', async (_, k) => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'depthwiseConv');
    const filterShape: Shape4 = [k.size, k.size, k.x[3], 1];
    const info = tf.backend_util.computeConv2DInfo(k.x, filterShape, 1, 1, k.pad, undefined, true);
    const x = seededMagnitudes(k.x, 1);
    const filter = seededMagnitudes(filterShape, 2);
    const before = tf.memory().numTensors;
    const heap = conv(x, filter, k.pad);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(spy).toHaveBeenCalledTimes(1);
    useHeapModule(false);
    const stock = conv(x, filter, k.pad);
    useHeapModule(true);
    const values = new Float32Array(await heap.data());
    expect(heap.shape).toEqual([k.x[0], info.outHeight, info.outWidth, k.x[3]]);
    const expected = documentedSums(new Float32Array(await x.data()), new Float32Array(await filter.data()), k, info.outHeight, info.outWidth,
      info.padInfo.top, info.padInfo.left);
    const mismatch = (a: number[], b: number[]) => a.findIndex((v, i) => v !== b[i]);
    expect(mismatch(float32Bits(values), float32Bits(expected))).toBe(-1);
    expect(mismatch(float32Bits(values), await tensorBits(stock))).toBe(-1);
    tf.dispose([x, filter, heap, stock]);
  });

  it('7x7 and 3x1 filters, a stride or dilation of 2, a channel multiplier of 2 and the fused kernel go to the stock kernel', async () => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'depthwiseConv');
    const x = seededMagnitudes([2, 8, 8, 4], 3);
    const variants: Array<() => tf.Tensor> = [
      () => conv(x, seededMagnitudes([7, 7, 4, 1], 4), 'same'),
      () => conv(x, seededMagnitudes([3, 1, 4, 1], 4), 'same'),
      () => conv(x, seededMagnitudes([3, 3, 4, 1], 4), 'same', 2),
      () => conv(x, seededMagnitudes([3, 3, 4, 1], 4), 'same', 1, 2),
      () => conv(x, seededMagnitudes([3, 3, 4, 2], 4), 'same'),
      () => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: seededMagnitudes([3, 3, 4, 1], 4) as tf.Tensor4D, strides: 1, pad: 'same', bias: tf.ones([4]) }),
    ];
    for (const variant of variants) {
      const [withModule, without] = await bitsWithAndWithoutModule(() => tf.tidy(variant));
      expect(withModule).toEqual(without);
    }
    expect(spy).not.toHaveBeenCalled();
    x.dispose();
  });

  it('an infinite weight: the cpu backend\'s values, the taps outside x skipped (XNNPACK multiplies it by padding\'s zeros: NaN)', async () => {
    const weights = new Float32Array(3 * 3 * 4).fill(1);
    weights[0] = Infinity; // tap (0, 0) of channel 0
    const read = async () => {
      const [x, filter] = [tf.ones([1, 4, 4, 4]), tf.tensor(weights, [3, 3, 4, 1])];
      const out = conv(x, filter, 'same');
      const values = Array.from(await out.data());
      tf.dispose([x, filter, out]);
      return values;
    };
    const wasm = await read();
    useHeapModule(false);
    const stock = await read();
    useHeapModule(true);
    await tf.setBackend('cpu');
    const cpu = await read();
    await tf.setBackend('wasm');
    expect(wasm).toEqual(cpu);
    expect(wasm.some(Number.isNaN)).toBe(false);
    expect(stock.some(Number.isNaN)).toBe(true);
  });
});
