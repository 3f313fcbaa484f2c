/**
 * Comparisons and logical operations get zero gradients, so that a gradient through a mask built
 * with them works (tfjs-core has one only for GreaterEqual).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { ZERO_GRADIENT_KERNELS, registerTrainingKernels, zeroGradConfigs } from '@sa-unet/tfjs-kernels';
import { resultOn } from './backend-results.js';

const X = [-1.5, -0.5, 0, 0.25, 0.75, 2];
/** d/dx of where(0 < x < 1 or x == 2, 3x, x^2), masks of every kernel concerned. */
const maskedLoss = (t: tf.Tensor) => {
  const inside = tf.logicalAnd(tf.greater(t, 0), tf.less(t, 1));
  const edge = tf.logicalOr(tf.equal(t, 2), tf.logicalNot(tf.notEqual(t, 2)));
  const mask = tf.logicalOr(inside, tf.logicalAnd(edge, tf.lessEqual(t, 2)));
  return tf.sum(tf.where(mask, tf.mul(t, 3), tf.square(t)));
};
const EXPECTED = [-3, -1, 0, 3, 3, 3];

describe('zero gradients of comparisons and logical operations', () => {
  it('tfjs-core has none for Greater (and the others), so a gradient through a mask failed', async () => {
    await tf.setBackend('cpu');
    expect(() => tf.grad(maskedLoss)(tf.tensor1d(X))).toThrow(/gradient function not found for (Greater|Less|Logical|Equal|NotEqual)/);
  });

  it('are registered for every one of them', () => {
    registerTrainingKernels();
    expect(zeroGradConfigs.map((g) => g.kernelName)).toEqual([...ZERO_GRADIENT_KERNELS]);
    for (const g of zeroGradConfigs) expect(tf.getGradient(g.kernelName), g.kernelName).toBe(g);
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`let the gradient through a mask be the branch's on ${backend}`, async () => {
      registerTrainingKernels();
      expect((await resultOn(backend, () => tf.grad(maskedLoss)(tf.tensor1d(X)))).values).toEqual(EXPECTED);
    });
  }
});
