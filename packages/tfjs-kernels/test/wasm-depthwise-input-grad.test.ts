/**
 * The wasm input gradient of stride-1, undilated 3x3 and 5x5 depthwise convolutions (multiplier 1),
 * summed by the heap module: bit for bit the sums its documentation states (per pixel and channel,
 * the taps inside dy column by column from the last, each column's rows from the last, from +0) and
 * so the composed form's (a depthwise convolution of dy by the rotated filter in XNNPACK), for
 * channel counts around the SIMD width, paddings, and images smaller than the filter.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it, vi } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
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
  ['5x5 valid, 16 channels', { x: [2, 7, 9, 16], size: 5, pad: 'valid' }],
  ['explicit padding, more before than after', { x: [2, 6, 6, 4], size: 3, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] }],
  ['5x5 same on a 3x3 image (every pixel misses taps)', { x: [1, 3, 3, 8], size: 5, pad: 'same' }],
  ['3x3 same, 64 channels at 4x4 (the deepest stage)', { x: [4, 4, 4, 64], size: 3, pad: 'same' }],
];

function gradient(dy: tf.Tensor, filter: tf.Tensor, inputShape: number[], pad: Pad, strides = 1, dilations = 1): tf.Tensor {
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter },
    { strides, pad, dilations, dimRoundingMode: undefined, inputShape } as never) as tf.Tensor;
}

/** The documented sums, in float32 in JavaScript. */
function documentedSums(dy: Float32Array, w: Float32Array, k: Case, outHeight: number, outWidth: number, top: number, left: number): Float32Array {
  const f = Math.fround;
  const [n, h, wd, c] = k.x;
  const out = new Float32Array(n * h * wd * c);
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < wd; j++) for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let q = k.size - 1; q >= 0; q--) {
      const jj = j - q + left;
      if (jj < 0 || jj >= outWidth) continue;
      for (let p = k.size - 1; p >= 0; p--) {
        const ii = i - p + top;
        if (ii < 0 || ii >= outHeight) continue;
        sum = f(sum + f(dy[((b * outHeight + ii) * outWidth + jj) * c + ch]! * w[(p * k.size + q) * c + ch]!));
      }
    }
    out[((b * h + i) * wd + j) * c + ch] = sum;
  }
  return out;
}

describe('wasm depthwise input gradient in the heap module', () => {
  it('runs here (the cases below test it, not the composed form)', () => {
    expect(heapModule(tf.backend())).not.toBeNull();
  });

  it.each(CASES)('%s: the documented float32 sums and the composed form\'s, bit for bit', async (_, k) => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'depthwiseInputGrad');
    const filterShape: Shape4 = [k.size, k.size, k.x[3], 1];
    const info = tf.backend_util.computeConv2DInfo(k.x, filterShape, 1, 1, k.pad, undefined, true);
    const dy = seededMagnitudes([k.x[0], info.outHeight, info.outWidth, k.x[3]], 1);
    const filter = seededMagnitudes(filterShape, 2);
    const before = tf.memory().numTensors;
    const heap = gradient(dy, filter, k.x, k.pad);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(spy).toHaveBeenCalledTimes(1);
    useHeapModule(false);
    const composed = gradient(dy, filter, k.x, k.pad);
    useHeapModule(true);
    const values = new Float32Array(await heap.data());
    expect(heap.shape).toEqual(k.x);
    const expected = documentedSums(new Float32Array(await dy.data()), new Float32Array(await filter.data()), k, info.outHeight, info.outWidth,
      info.padInfo.top, info.padInfo.left);
    expect(float32Bits(values)).toEqual(float32Bits(expected));
    expect(float32Bits(values)).toEqual(await tensorBits(composed));
    tf.dispose([dy, filter, heap, composed]);
  });

  it('7x7 and 3x1 filters, a stride or dilation of 2, and a channel multiplier of 2 go to the composed form (the same values with the module and without)', async () => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'depthwiseInputGrad');
    const variants: Array<{ filter: Shape4; strides: number; dilations: number }> = [
      { filter: [7, 7, 4, 1], strides: 1, dilations: 1 },
      { filter: [3, 1, 4, 1], strides: 1, dilations: 1 },
      { filter: [3, 3, 4, 1], strides: 2, dilations: 1 },
      { filter: [3, 3, 4, 1], strides: 1, dilations: 2 },
      { filter: [3, 3, 4, 2], strides: 1, dilations: 1 },
    ];
    for (const v of variants) {
      const inputShape: Shape4 = [2, 8, 8, 4];
      const info = tf.backend_util.computeConv2DInfo(inputShape, v.filter, v.strides, v.dilations, 'same', undefined, true);
      const dy = seededMagnitudes([2, info.outHeight, info.outWidth, 4 * v.filter[3]], 3);
      const filter = seededMagnitudes(v.filter, 4);
      const [withModule, without] = await bitsWithAndWithoutModule(() => gradient(dy, filter, inputShape, 'same', v.strides, v.dilations));
      expect(withModule).toEqual(without);
      tf.dispose([dy, filter]);
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it('an infinite weight: the cpu backend\'s values, the taps outside dy skipped (the composed form multiplied it by padding\'s zeros: NaN)', async () => {
    const weights = new Float32Array(3 * 3 * 4).fill(1);
    weights[0] = Infinity; // tap (0, 0) of channel 0
    const read = async () => {
      const [dy, filter] = [tf.ones([1, 4, 4, 4]), tf.tensor(weights, [3, 3, 4, 1])];
      const out = gradient(dy, filter, [1, 4, 4, 4], 'same');
      const values = Array.from(await out.data());
      tf.dispose([dy, filter, out]);
      return values;
    };
    const wasm = await read();
    useHeapModule(false);
    const composed = await read();
    useHeapModule(true);
    await tf.setBackend('cpu');
    registerTrainingKernels();
    const cpu = await read();
    await tf.setBackend('wasm');
    expect(wasm).toEqual(cpu);
    expect(wasm.some(Number.isNaN)).toBe(false);
    expect(composed.some(Number.isNaN)).toBe(true);
  });

  it('a depthwise convolution\'s input gradient through tf.grad: the documented sums', async () => {
    const k: Case = { x: [2, 7, 9, 6], size: 3, pad: 'same' };
    const x = seededMagnitudes(k.x, 5);
    const filter = seededMagnitudes([3, 3, 6, 1], 6);
    const dy = seededMagnitudes(k.x, 7);
    const before = tf.memory().numTensors;
    // d/dx sum(depthwiseConv2d(x, w) * dy) is the input gradient of dy itself
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same'), dy)))(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(await tensorBits(dx)).toEqual(float32Bits(documentedSums(new Float32Array(await dy.data()), new Float32Array(await filter.data()), k, 7, 9, 1, 1)));
    tf.dispose([x, filter, dy, dx]);
  });
});
