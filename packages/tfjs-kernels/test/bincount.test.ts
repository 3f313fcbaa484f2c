/**
 * Bincount counts every value of x whatever its rank (TensorFlow, cpu); the stock wasm kernel gave
 * x of rank above 1 a batched output shape, and the webgpu shader did not compile for it. So
 * tf.image.threshold(image, 'otsu') failed on wasm. Ours flattens x first (webgpu: webgpu.test.ts).
 */
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { resultOn, stockResultOn } from './backend-results.js';
import { BINCOUNT_CASES } from './bincount-cases.js';

afterAll(() => registerTrainingKernels());

describe('Bincount of tensors of any rank on wasm', () => {
  it('the stock kernel gives x of [3, 4] the shape [3, size]; Otsu thresholding fails', async () => {
    expect((await stockResultOn('wasm', BINCOUNT_CASES[0]![1])).shape).toEqual([3, 6]);
    await expect(stockResultOn('wasm', BINCOUNT_CASES[3]![1])).rejects.toThrow(/could not be broadcast/);
  });

  it.each(BINCOUNT_CASES)('equals the cpu backend\'s: %s', async (_label, op) => {
    registerTrainingKernels();
    expect(await resultOn('wasm', op)).toEqual(await resultOn('cpu', op));
  });
});
