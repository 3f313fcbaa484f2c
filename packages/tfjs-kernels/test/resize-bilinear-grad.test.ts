/**
 * The gradient of bilinear resizing on cpu and wasm equals the exact one read off the forward pass
 * (resize-cases.ts), for every alignCorners / halfPixelCenters combination, up- and
 * downsampling, batches, channels and axes of size 1: ours with halfPixelCenters, which the stock
 * kernels ignore, the stock values otherwise (bit for bit, on cpu in the shape the stock kernel
 * mislabels for non-square images).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { BILINEAR_CASES, bilinearGradientAndExact, caseLabel, halfPixelRowGradient, type ResizeCase } from './resize-cases.js';
import { relativeError } from './parity-cases.js';

afterAll(() => registerTrainingKernels());

describe('ResizeBilinearGrad', () => {
  it('is registered for cpu and wasm and removed by unregister', () => {
    registerTrainingKernels();
    for (const backend of ['cpu', 'wasm']) expect(hasTrainingKernel('ResizeBilinearGrad', backend), backend).toBe(true);
    unregisterTrainingKernels();
    for (const backend of ['cpu', 'wasm']) {
      expect(hasTrainingKernel('ResizeBilinearGrad', backend), backend).toBe(false);
      expect(tf.getKernel('ResizeBilinearGrad', backend), `stock ${backend} back`).toBeDefined();
    }
    registerTrainingKernels();
  });

  it.each(['cpu', 'wasm'])('the stock %s kernel ignores halfPixelCenters (why ours exists)', async (backend) => {
    await tf.setBackend(backend);
    unregisterTrainingKernels();
    try {
      // Rows 0 and 1 upsampled to 4 with half-pixel centres read rows (0), (0, 1), (0, 1), (1)
      // with weights (1), (.75, .25), (.25, .75), (1); without them (0), (.5 .5), (1), (1).
      expect(await halfPixelRowGradient()).toEqual([2, 2, 8, 8]);
      registerTrainingKernels();
      expect(await halfPixelRowGradient()).toEqual([3.25, 3.25, 6.75, 6.75]);
    } finally {
      registerTrainingKernels();
      await tf.setBackend('cpu');
    }
  });

  it('the stock cpu kernel\'s gradient of a non-square resize fails tfjs-core\'s shape check', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingKernels();
    try {
      const x = tf.ones([1, 2, 4, 1]);
      expect(() => tf.grad((t: tf.Tensor) => tf.sum(tf.image.resizeBilinear(t as tf.Tensor4D, [4, 8])))(x)).toThrow(
        /shape '1,4,2,1', which does not match the shape of the input '1,2,4,1'/,
      );
      x.dispose();
    } finally {
      registerTrainingKernels();
    }
  });

  it.each(['cpu', 'wasm'])('without halfPixelCenters, keeps the stock %s values bit for bit', async (backend) => {
    await tf.setBackend(backend);
    const square: ResizeCase = [[2, 3, 3, 2], [5, 7], false, false]; // square images: the stock cpu kernel's shape is right
    unregisterTrainingKernels();
    const stock = await bilinearGradientAndExact(square);
    registerTrainingKernels();
    const ours = await bilinearGradientAndExact(square);
    expect(ours.got).toEqual(stock.got);
    await tf.setBackend('cpu');
  });

  describe.each(['cpu', 'wasm'])('ours on %s', (backend) => {
    it.each(BILINEAR_CASES.map((c) => [caseLabel(c), c] as const))('%s: the exact gradient', async (_, c) => {
      registerTrainingKernels();
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const { got, exact } = await bilinearGradientAndExact(c);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(exact.length);
      expect(relativeError(got, exact)).toBeLessThan(1e-6);
      await tf.setBackend('cpu');
    });
  });

  it('a model with bilinear upsampling trains on non-square images on cpu', async () => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
    const input = tfl.input({ shape: [4, 8, 1] });
    const down = tfl.layers.averagePooling2d({ poolSize: 2 }).apply(input) as tfl.SymbolicTensor;
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(down) as tfl.SymbolicTensor;
    const up = tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(conv) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(up) as tfl.SymbolicTensor });
    model.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    const x = tf.randomUniform([2, 4, 8, 1], 0, 1, 'float32', 3);
    const y = tf.cast(tf.greater(x, 0.5), 'float32');
    const loss = await model.trainOnBatch(x, y);
    expect(Number.isFinite(loss as number)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
