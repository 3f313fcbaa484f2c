/**
 * The wasm filter gradient of 1x1 convolutions, summed by the heap module straight from x and dy:
 * bit for bit the sums its documentation states (per input and output channel, the products over
 * the pixels in order from +0) and so the composed form's (x transposed, then the backend's
 * BatchMatMul), for channel counts around the SIMD width and pixel counts around its blocks of 64.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it, vi } from 'vitest';
import { bitsWithAndWithoutModule, onWasmWithOurKernels, type Shape4 } from './wasm-kernel-ways.js';
import { heapModule, useHeapModule } from '../src/wasm/heap-module.js';
import { float32Bits, seededMagnitudes, tensorBits } from '../../../test-utils/numeric.js';

onWasmWithOurKernels();

const CASES: Array<[string, { x: Shape4; outChannels: number }]> = [
  ['4 to 4 channels, 64x64 pixels (the layer\'s first stage)', { x: [4, 64, 64, 4], outChannels: 4 }],
  ['13 to 20 channels (the last group of four repeats channel 12), 3x33x17', { x: [3, 33, 17, 13], outChannels: 20 }],
  ['5 to 12 channels, 2x9x9 (162 pixels: two blocks of 64 and 34)', { x: [2, 9, 9, 5], outChannels: 12 }],
  ['1 to 8 channels, 65 pixels (one past a block)', { x: [1, 5, 13, 1], outChannels: 8 }],
  ['256 to 32 channels, 4x8x8 (the deepest stage)', { x: [4, 8, 8, 256], outChannels: 32 }],
  ['3 to 4 channels, one pixel', { x: [1, 1, 1, 3], outChannels: 4 }],
];

function gradient(x: tf.Tensor, dy: tf.Tensor, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): tf.Tensor {
  const inChannels = x.shape[dataFormat === 'NHWC' ? 3 : 1]!;
  const outChannels = dy.shape[dataFormat === 'NHWC' ? 3 : 1]!;
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
    { strides: [1, 1], pad: 'valid', dataFormat, dimRoundingMode: undefined, filterShape: [1, 1, inChannels, outChannels] } as never) as tf.Tensor;
}

/** The documented sums, in float32 in JavaScript: out[c, o] = x[0, c] dy[0, o] + x[1, c] dy[1, o] + ... from +0. */
function documentedSums(x: Float32Array, dy: Float32Array, inChannels: number, outChannels: number): Float32Array {
  const f = Math.fround;
  const rows = x.length / inChannels;
  const out = new Float32Array(inChannels * outChannels);
  for (let c = 0; c < inChannels; c++) {
    for (let o = 0; o < outChannels; o++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum = f(sum + f(x[r * inChannels + c]! * dy[r * outChannels + o]!));
      out[c * outChannels + o] = sum;
    }
  }
  return out;
}

describe('wasm 1x1 filter gradient in the heap module', () => {
  it('runs here (the cases below test it, not the composed form)', () => {
    expect(heapModule(tf.backend())).not.toBeNull();
  });

  it.each(CASES)('%s: the documented float32 sums and the composed form\'s, bit for bit', async (_, k) => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'pointwiseFilterGrad');
    const x = seededMagnitudes(k.x, 1);
    const dy = seededMagnitudes([...k.x.slice(0, 3), k.outChannels], 2);
    const before = tf.memory().numTensors;
    const heap = gradient(x, dy);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(spy).toHaveBeenCalledTimes(1);
    useHeapModule(false);
    const composed = gradient(x, dy);
    useHeapModule(true);
    const values = new Float32Array(await heap.data());
    expect(heap.shape).toEqual([1, 1, k.x[3], k.outChannels]);
    expect(float32Bits(values)).toEqual(float32Bits(documentedSums(new Float32Array(await x.data()), new Float32Array(await dy.data()), k.x[3], k.outChannels)));
    expect(float32Bits(values)).toEqual(await tensorBits(composed));
    tf.dispose([x, dy, heap, composed]);
  });

  it('NCHW gradients: the NHWC ones of the same values', async () => {
    const x = seededMagnitudes([2, 6, 5, 7], 3);
    const dy = seededMagnitudes([2, 6, 5, 8], 4);
    const nhwc = gradient(x, dy);
    const [xT, dyT] = [tf.transpose(x, [0, 3, 1, 2]), tf.transpose(dy, [0, 3, 1, 2])];
    const nchw = gradient(xT, dyT, 'NCHW');
    expect(await tensorBits(nchw)).toEqual(await tensorBits(nhwc));
    tf.dispose([x, dy, xT, dyT, nhwc, nchw]);
  });

  it('output channels not a multiple of 4, or a stride of 2, go to the composed form (the same values with the module and without)', async () => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'pointwiseFilterGrad');
    for (const [outChannels, strides] of [[6, [1, 1]], [1, [1, 1]], [4, [2, 2]]] as Array<[number, [number, number]]>) {
      const x = seededMagnitudes([2, 8, 8, 5], 5);
      const side = 8 / strides[0];
      const dy = seededMagnitudes([2, side, side, outChannels], 6);
      const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
        { strides, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [1, 1, 5, outChannels] } as never) as tf.Tensor;
      const [withModule, without] = await bitsWithAndWithoutModule(run);
      expect(withModule).toEqual(without);
      tf.dispose([x, dy]);
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it.each([
    ['3x3 same, 16 to 16 channels at 20x20 (one run of rows per tap)', [4, 20, 20, 16], [3, 3, 16, 16], 'same', 1],
    ['3x3 valid, 5 to 12 channels', [2, 20, 18, 5], [3, 3, 5, 12], 'valid', 1],
    ['5x5 same, dilation 2, 3 to 8 channels', [1, 16, 18, 3], [5, 5, 3, 8], 'same', 2],
  ] as Array<[string, Shape4, Shape4, 'same' | 'valid', number]>)('larger filters at stride 1 by shifted rows, %s: the composed form\'s values bit for bit, one module call per tap', async (_, xShape, filterShape, pad, dilation) => {
    const spy = vi.spyOn(heapModule(tf.backend())!, 'pointwiseFilterGrad');
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, 1, dilation, pad);
    const x = seededMagnitudes(xShape, 10);
    const dy = seededMagnitudes([xShape[0], info.outHeight, info.outWidth, filterShape[3]], 11);
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: 1, pad, dilations: dilation, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as never) as tf.Tensor;
    const before = tf.memory().numTensors;
    const heap = run();
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(spy).toHaveBeenCalledTimes(filterShape[0] * filterShape[1]);
    useHeapModule(false);
    const composed = run();
    useHeapModule(true);
    expect(heap.shape).toEqual(filterShape);
    expect(await tensorBits(heap)).toEqual(await tensorBits(composed));
    tf.dispose([x, dy, heap, composed]);
  });

  it('a 1x1 convolution\'s gradient through tf.grad: the documented sums', async () => {
    const x = seededMagnitudes([2, 7, 9, 6], 7);
    const filter = seededMagnitudes([1, 1, 6, 8], 8);
    const dy = seededMagnitudes([2, 7, 9, 8], 9);
    const before = tf.memory().numTensors;
    const dFilter = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), dy)))(filter);
    expect(tf.memory().numTensors).toBe(before + 1);
    // d/df sum(conv(x, f) * dy) is the filter gradient of dy itself
    expect(await tensorBits(dFilter)).toEqual(float32Bits(documentedSums(new Float32Array(await x.data()), new Float32Array(await dy.data()), 6, 8)));
    tf.dispose([x, filter, dy, dFilter]);
  });
});
