/**
 * The cpu gradient of a bilinear resize of non-square images: stock tfjs-backend-cpu labels its
 * result [batch, width, height, channels] and tfjs-core rejects it; ours has the images' shape and
 * the stock values (equal to wasm's).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';

afterAll(() => registerTrainingKernels());

/** d sum(resizeBilinear(x, 2x)) / dx for a [1, 2, 4, 1] image, on the active backend. */
async function upsampleGradient(alignCorners: boolean): Promise<{ shape: number[]; values: number[] }> {
  const x = tf.ones([1, 2, 4, 1]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.image.resizeBilinear(t as tf.Tensor4D, [4, 8], alignCorners)))(x);
  const result = { shape: g.shape, values: Array.from(await g.data()) };
  tf.dispose([x, g]);
  return result;
}

describe('ResizeBilinearGrad on cpu', () => {
  it('is wrapped by registerTrainingKernels and put back by unregister', () => {
    registerTrainingKernels();
    expect(hasTrainingKernel('ResizeBilinearGrad', 'cpu')).toBe(true);
    unregisterTrainingKernels();
    expect(hasTrainingKernel('ResizeBilinearGrad', 'cpu')).toBe(false);
    registerTrainingKernels();
  });

  it('the stock kernel\'s gradient of a non-square resize fails tfjs-core\'s shape check (why ours exists)', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingKernels();
    try {
      await expect(upsampleGradient(false)).rejects.toThrow(/shape '1,4,2,1', which does not match the shape of the input '1,2,4,1'/);
    } finally {
      registerTrainingKernels();
    }
  });

  it.each([false, true])('with ours (alignCorners %s), has the images\' shape and the values wasm gives', async (alignCorners) => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const cpu = await upsampleGradient(alignCorners);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('wasm');
    const wasm = await upsampleGradient(alignCorners);
    await tf.setBackend('cpu');
    expect(cpu.shape).toEqual([1, 2, 4, 1]);
    for (const [i, v] of cpu.values.entries()) expect(v, `value ${i}`).toBeCloseTo(wasm.values[i]!, 5);
    // 2x upsampling without corner alignment: each row takes weights (1.5, 2.5) in total, each column (1.5, 2, 2, 2.5).
    if (!alignCorners) expect(cpu.values).toEqual([2.25, 3, 3, 3.75, 3.75, 5, 5, 6.25]);
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
