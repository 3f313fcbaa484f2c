/**
 * The gradient of nearest-neighbour resizing on cpu and wasm equals the exact one: each output
 * pixel's weight added to the input pixel the forward pass copied (read off the forward pass
 * itself, run on the input's indices), for batches, channels, up- and downsampling, every
 * alignCorners / halfPixelCenters combination and axes of size 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { NEAREST_CASES as CASES, nearestGradientAndExact as gradientAndExact } from './resize-cases.js';

afterAll(() => registerTrainingKernels());

describe('ResizeNearestNeighborGrad', () => {
  it('is registered for cpu and wasm and removed by unregister', () => {
    registerTrainingKernels();
    for (const backend of ['cpu', 'wasm']) expect(hasTrainingKernel('ResizeNearestNeighborGrad', backend), backend).toBe(true);
    unregisterTrainingKernels();
    expect(hasTrainingKernel('ResizeNearestNeighborGrad', 'cpu')).toBe(false);
    expect(tf.getKernel('ResizeNearestNeighborGrad', 'cpu'), 'stock back').toBeDefined();
    registerTrainingKernels();
  });

  it('the stock cpu kernel gives image 1 of a batch a wrong gradient (why ours exists)', async () => {
    unregisterTrainingKernels();
    await tf.setBackend('cpu');
    try {
      const { got, exact } = await gradientAndExact(CASES[0]!);
      expect(got.slice(0, 12)).toEqual(exact.slice(0, 12)); // image 0
      expect(got.slice(12)).not.toEqual(exact.slice(12)); // image 1
    } finally {
      registerTrainingKernels();
    }
  });

  describe.each(['cpu', 'wasm'])('ours on %s', (backend) => {
    it.each(CASES)('x %j to %j, alignCorners %s, halfPixelCenters %s: exact', async (...k) => {
      registerTrainingKernels();
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const { got, exact } = await gradientAndExact(k);
      expect(got).toEqual(exact);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
