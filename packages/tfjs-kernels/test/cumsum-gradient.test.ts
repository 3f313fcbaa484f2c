/**
 * The gradient of Cumsum: tfjs-core's is wrong along any axis but the last (it transposes its
 * result); ours is exact on cpu and wasm (webgpu: webgpu.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { cumsumGradConfig, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { resultOn, stockResultOn } from './backend-results.js';
import { CUMSUM_CASES, cumsumGradient } from './cumsum-cases.js';

afterAll(() => registerTrainingKernels());

describe('the gradient of Cumsum', () => {
  it('tfjs-core\'s fails along a middle axis, or gives wrong values where its transpose keeps the shape', async () => {
    const [shapeError, wrongValues] = [cumsumGradient(CUMSUM_CASES[0]!), cumsumGradient(CUMSUM_CASES[1]!)];
    await expect(stockResultOn('cpu', shapeError.got)).rejects.toThrow(/gradient of input 'x' has shape '2,3,5'/);
    expect((await stockResultOn('cpu', wrongValues.got)).values).not.toEqual(wrongValues.expected);
  });

  it('is registered by registerTrainingKernels and put back by unregister', () => {
    registerTrainingKernels();
    expect(tf.getGradient('Cumsum')).toBe(cumsumGradConfig);
    unregisterTrainingKernels();
    expect(tf.getGradient('Cumsum')).not.toBe(cumsumGradConfig);
    registerTrainingKernels();
  });

  for (const backend of ['cpu', 'wasm']) {
    it.each(CUMSUM_CASES)(`is exact on ${backend}: %s`, async (...testCase) => {
      registerTrainingKernels();
      const { got, expected } = cumsumGradient(testCase);
      const result = await resultOn(backend, got);
      expect(result.shape).toEqual(testCase[1]);
      expect(result.values).toEqual(expected);
    });
  }
});
