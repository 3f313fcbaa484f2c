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
import { seededUniform } from '../../../test-utils/numeric.js';

afterAll(() => registerTrainingKernels());

type Case = [shape: [number, number, number, number], window: number, stride: number, pad: 'valid' | 'same'];
const CASES: Case[] = [
  [[1, 2, 2, 2], 2, 2, 'valid'],
  [[2, 6, 4, 3], 2, 2, 'valid'], // the zoo's pooling
  [[1, 5, 7, 2], 2, 2, 'same'],
  [[2, 6, 6, 3], 3, 2, 'same'], // overlapping windows
  [[1, 7, 5, 2], 2, 3, 'valid'], // gaps between windows
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
});
