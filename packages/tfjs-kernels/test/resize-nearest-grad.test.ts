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

afterAll(() => registerTrainingKernels());

type Case = [shape: [number, number, number, number], size: [number, number], alignCorners: boolean, halfPixelCenters: boolean];

const CASES: Case[] = [
  [[2, 2, 3, 2], [4, 6], false, false], // the zoo's 2x upsampling, batch 2
  [[3, 1, 3, 6], [2, 6], false, false],
  [[2, 3, 5, 1], [7, 4], false, true],
  [[2, 4, 4, 3], [2, 3], false, false], // downsampling
  [[1, 1, 3, 2], [2, 6], true, false], // alignCorners with an axis of size 1
  [[2, 3, 1, 1], [5, 3], true, false],
  [[2, 5, 4, 2], [3, 9], true, false],
  [[1, 2, 2, 1], [4, 4], false, true],
];

/** d sum(resize(x) * w) / dx on the active backend, and the exact value from the forward pass's source indices. */
async function gradientAndExact([shape, size, alignCorners, halfPixelCenters]: Case): Promise<{ got: number[]; exact: number[] }> {
  const [batch, , , channels] = shape;
  const count = shape.reduce((a, b) => a * b, 1);
  const weights = tf.tensor(Float32Array.from({ length: batch * size[0] * size[1] * channels }, (_, i) => (i % 7) + 1), [batch, ...size, channels]);
  const resize = (t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters);
  const x = tf.ones(shape);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resize(t), weights)))(x);
  const indices = tf.tidy(() => resize(tf.tensor(Float32Array.from({ length: count }, (_, i) => i), shape)));
  const [got, source, w] = await Promise.all([dx.data(), indices.data(), weights.data()]);
  const exact = new Array<number>(count).fill(0);
  source.forEach((from, i) => (exact[from] += w[i]!));
  tf.dispose([weights, x, dx, indices]);
  return { got: Array.from(got), exact };
}

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
