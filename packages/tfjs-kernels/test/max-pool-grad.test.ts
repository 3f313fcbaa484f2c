/**
 * The gradient of max pooling on wasm equals the exact one (each window's gradient to its first
 * largest input, as the cpu backend picks it), negative maxima included, for 'valid' and 'same'
 * padding, strides smaller than, equal to and larger than the window, batches and channels.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform, tensorBits } from '../../../test-utils/numeric.js';
import { maxPoolGradient, planeGeometry } from '../src/windows.js';
import { heapModule } from '../src/wasm/heap-module.js';

afterAll(() => registerTrainingKernels());

type Case = [shape: [number, number, number, number], window: number, stride: number, pad: 'valid' | 'same'];
const CASES: Case[] = [
  [[1, 2, 2, 2], 2, 2, 'valid'],
  [[2, 6, 4, 3], 2, 2, 'valid'], // the zoo's pooling
  [[1, 5, 7, 2], 2, 2, 'same'],
  [[2, 6, 6, 3], 3, 2, 'same'], // overlapping windows
  [[1, 7, 5, 2], 2, 3, 'valid'], // gaps between windows
  [[2, 7, 8, 5], 3, 3, 'same'], // windows apart, the last ones cut by the image's edge
  [[1, 5, 7, 6], 2, 2, 'valid'], // windows apart, a row and a column in none
];

/** d sum(maxPool(x) * w) / dx on the active backend. */
async function gradient([shape, window, stride, pad]: Case, seed: number): Promise<number[]> {
  const x = seededUniform(shape, seed); // values in [-1, 1): many windows have a negative maximum
  const g = tf.grad((t: tf.Tensor) => {
    const y = tf.maxPool(t as tf.Tensor4D, window, stride, pad);
    return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
  })(x);
  const values = Array.from(await g.data());
  tf.dispose([x, g]);
  return values;
}

describe('MaxPoolGrad on wasm', () => {
  it('is replaced by registerTrainingKernels and put back by unregister', () => {
    registerTrainingKernels();
    expect(hasTrainingKernel('MaxPoolGrad', 'wasm')).toBe(true);
    unregisterTrainingKernels();
    expect(hasTrainingKernel('MaxPoolGrad', 'wasm')).toBe(false);
    registerTrainingKernels();
  });

  it('the stock kernel gives the gradient of a window whose maximum is negative to its first input (why ours exists)', async () => {
    unregisterTrainingKernels();
    try {
      await tf.setBackend('wasm');
      const x = tf.tensor([-3, -1, -2, -4], [1, 2, 2, 1]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
      expect(Array.from(await g.data())).toEqual([1, 0, 0, 0]); // the maximum, -1, is the second input
      tf.dispose([x, g]);
    } finally {
      registerTrainingKernels();
    }
  });

  it.each(CASES)('x %j, window %i, stride %i, %s: equals the cpu backend\'s exactly', async (...k) => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
    const cpu = await gradient(k, 5);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const wasm = await gradient(k, 5);
    expect(tf.memory().numTensors).toBe(before);
    expect(wasm).toEqual(cpu);
    expect(cpu.filter((v) => v !== 0).length).toBeGreaterThan(0);
  });

  it.each<[string, Case]>([
    ['2x2, stride 2, valid', [[2, 6, 8, 5], 2, 2, 'valid']],
    ['2x2, stride 2, same, odd sizes', [[1, 7, 5, 6], 2, 2, 'same']],
    ['3x3, stride 3, same', [[2, 8, 7, 4], 3, 3, 'same']],
    ['1x1, stride 1', [[1, 3, 3, 2], 1, 1, 'valid']],
  ])('windows apart (%s): the heap module gives the general kernel\'s values bit for bit, ties, NaN, infinities and -0 in dy included', async (_, [shape, window, stride, pad]) => {
    await tf.setBackend('wasm');
    registerTrainingKernels();
    expect(heapModule(tf.backend())).not.toBeNull();
    const n = shape.reduce((a, b) => a * b, 1);
    // Few distinct values (ties), NaN, -Infinity-only windows and -0.
    const special = [Number.NaN, -Infinity, -0, 0, Infinity];
    const x = tf.tensor(Array.from({ length: n }, (_, i) => (i % 11 === 0 ? special[(i / 11) % 5]! : ((i * 7) % 5) - 2)), shape);
    const y = tf.maxPool(x as tf.Tensor4D, window, stride, pad);
    const dy = tf.tensor(Array.from({ length: y.size }, (_, i) => (i % 9 === 0 ? -0 : i % 13 === 0 ? Number.NaN : (i % 7) - 3.5)), y.shape);
    const attrs = { filterSize: window, strides: stride, pad };
    const before = tf.memory().numTensors;
    const heap = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs) as tf.Tensor;
    const info = tf.backend_util.computePool2DInfo(shape, window, stride, 1, pad);
    const general = tf.engine().makeTensorFromTensorInfo(maxPoolGradient(tf.backend(), planeGeometry(info), x, dy, 'first'));
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(await tensorBits(heap)).toEqual(await tensorBits(general));
    expect(Array.from(await heap.data()).filter((v) => v !== 0 && !Number.isNaN(v)).length).toBeGreaterThan(0);
    tf.dispose([x, y, dy, heap, general]);
  });
});
