/**
 * The usual order in an application: registerTrainingKernels() first, then the backend starts.
 * tfjs then runs the set-up of the kernels registered at that moment, ours included; stock wasm
 * kernels such as Mean call what the stock Transpose's set-up prepares, so ours must keep it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';

describe('registerTrainingKernels before the wasm backend starts', () => {
  it('stock kernels that rely on Transpose\'s set-up still work (a Mean over NHW, its gradient)', async () => {
    expect(tf.engine().backendNames().includes('wasm')).toBe(true);
    expect(tf.engine().registry['wasm']).toBeUndefined(); // not started yet
    registerTrainingKernels();
    expect(hasTrainingKernel('Transpose', 'wasm')).toBe(true);
    await tf.setBackend('wasm');
    const x = tf.tensor4d(Array.from({ length: 2 * 3 * 3 * 4 }, (_, i) => (i % 7) - 3), [2, 3, 3, 4]);
    const mean = tf.mean(x, [0, 1, 2]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.mean(t, [0, 1, 2]))))(x);
    const [meanWasm, gradWasm] = [await mean.data(), await grad.data()];
    await tf.setBackend('cpu');
    const xCpu = tf.tensor4d(await x.data(), x.shape);
    const expectedMean = await tf.mean(xCpu, [0, 1, 2]).data();
    const expectedGrad = await tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.mean(t, [0, 1, 2]))))(xCpu).data();
    // Within float32 rounding: wasm and cpu sum in different orders.
    meanWasm.forEach((v, i) => expect(v).toBeCloseTo(expectedMean[i]!, 6));
    gradWasm.forEach((v, i) => expect(v).toBeCloseTo(expectedGrad[i]!, 6));
    expect(gradWasm.length).toBe(x.size);
  });
});
