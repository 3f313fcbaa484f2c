/**
 * The wasm filter gradient of stride-1 depthwise convolutions (multiplier 1), summed by the heap
 * module: bit for bit the sums its documentation states (each tap's products along a row of dy in
 * float32, then the rows in order), and within float32 rounding of the composed form it replaced,
 * for channel counts around the SIMD width, paddings, dilations and taps that fall outside x.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { onWasmWithOurKernels, type Pad } from './wasm-kernel-ways.js';
import { heapModule, useHeapModule } from '../src/wasm/heap-module.js';
import { differenceRelativeToLargest, float32Bits, seededUniform } from '../../../test-utils/numeric.js';

onWasmWithOurKernels();

interface Case { x: [number, number, number, number]; filter: [number, number]; pad: Pad; dilations: [number, number] }

const CASES: Array<[string, Case]> = [
  ['3x3 same, 16 channels (four SIMD groups)', { x: [2, 9, 11, 16], filter: [3, 3], pad: 'same', dilations: [1, 1] }],
  ['3x3 same, 6 channels (one group and two alone)', { x: [3, 7, 6, 6], filter: [3, 3], pad: 'same', dilations: [1, 1] }],
  ['3x3 valid, 3 channels (none in SIMD)', { x: [2, 8, 9, 3], filter: [3, 3], pad: 'valid', dilations: [1, 1] }],
  ['5x5 same, dilation 3: whole tap rows outside x', { x: [1, 12, 12, 4], filter: [5, 5], pad: 'same', dilations: [3, 3] }],
  ['3x2, dilation 2 along the width only', { x: [2, 6, 10, 8], filter: [3, 2], pad: 'same', dilations: [1, 2] }],
  ['explicit padding, more before than after', { x: [2, 7, 7, 5], filter: [3, 3], pad: [[0, 0], [2, 0], [0, 1], [0, 0]], dilations: [1, 1] }],
  ['1x1', { x: [2, 4, 5, 7], filter: [1, 1], pad: 'valid', dilations: [1, 1] }],
];

function gradient(x: tf.Tensor, dy: tf.Tensor, k: Case): tf.Tensor {
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy },
    { strides: [1, 1], pad: k.pad, dilations: k.dilations, filterShape: [...k.filter, x.shape[3]!, 1] }) as tf.Tensor;
}

/** The documented sums, in float32 in JavaScript: per tap and channel, each row of dy's products, then the rows in order. */
function documentedSums(x: Float32Array, dy: Float32Array, k: Case, outHeight: number, outWidth: number, top: number, left: number): Float32Array {
  const f = Math.fround;
  const [n, h, w, c] = k.x;
  const [fh, fw] = k.filter;
  const [dh, dw] = k.dilations;
  const out = new Float32Array(fh * fw * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < outHeight; i++) {
      for (let p = 0; p < fh; p++) {
        const ii = i + p * dh - top;
        if (ii < 0 || ii >= h) continue;
        for (let q = 0; q < fw; q++) {
          const shift = q * dw - left;
          for (let ch = 0; ch < c; ch++) {
            let row = 0;
            let any = false;
            for (let j = Math.max(0, -shift); j < Math.min(outWidth, w - shift); j++) {
              row = f(row + f(x[((b * h + ii) * w + j + shift) * c + ch]! * dy[((b * outHeight + i) * outWidth + j) * c + ch]!));
              any = true;
            }
            if (any) out[(p * fw + q) * c + ch] = f(out[(p * fw + q) * c + ch]! + row);
          }
        }
      }
    }
  }
  return out;
}

describe('wasm depthwise filter gradient in the heap module', () => {
  it('runs here (the cases below test it, not the composed form)', () => {
    expect(heapModule(tf.backend())).not.toBeNull();
  });

  it.each(CASES)('%s: the documented float32 sums bit for bit, the composed form\'s within 1e-5', async (_, k) => {
    const x = tf.mul(seededUniform(k.x, 1), 3);
    const info = tf.backend_util.computeConv2DInfo(k.x, [...k.filter, k.x[3], 1], 1, k.dilations, k.pad, undefined, true);
    const dy = seededUniform([k.x[0], info.outHeight, info.outWidth, k.x[3]], 2);
    const before = tf.memory().numTensors;
    const heap = gradient(x, dy, k);
    expect(tf.memory().numTensors).toBe(before + 1);
    useHeapModule(false);
    const composed = gradient(x, dy, k);
    useHeapModule(true);
    const values = new Float32Array(await heap.data());
    const expected = documentedSums(new Float32Array(await x.data()), new Float32Array(await dy.data()), k, info.outHeight, info.outWidth, info.padInfo.top, info.padInfo.left);
    expect(heap.shape).toEqual([...k.filter, k.x[3], 1]);
    expect(float32Bits(values)).toEqual(float32Bits(expected));
    expect(differenceRelativeToLargest(values, await composed.data())).toBeLessThan(1e-5);
    tf.dispose([x, dy, heap, composed]);
  });

  it('a stride of 2 or a channel multiplier of 2 goes to the composed form (the same values with the module and without)', async () => {
    for (const [filterShape, strides] of [[[3, 3, 4, 1], [2, 2]], [[3, 3, 4, 2], [1, 1]]] as Array<[number[], [number, number]]>) {
      const x = seededUniform([2, 8, 8, 4], 3);
      const info = tf.backend_util.computeConv2DInfo([2, 8, 8, 4], filterShape as [number, number, number, number], strides, 1, 'same', undefined, true);
      const dy = seededUniform([2, info.outHeight, info.outWidth, 4 * filterShape[3]!], 4);
      const run = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy },
        { strides, pad: 'same', dilations: [1, 1], filterShape }) as tf.Tensor;
      const withModule = run();
      useHeapModule(false);
      const without = run();
      useHeapModule(true);
      expect(Array.from(await withModule.data())).toEqual(Array.from(await without.data()));
      tf.dispose([x, dy, withModule, without]);
    }
  });
});
