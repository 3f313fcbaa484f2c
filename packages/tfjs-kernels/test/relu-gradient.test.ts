/**
 * The gradient of Relu that registerTrainingKernels registers: on webgpu one kernel
 * (src/webgpu/activation-grads.ts) instead of Step and Multiply, with tfjs-core's values bit for bit (NaN
 * where x is NaN, zero at x = 0 and below, dy's infinities and signed zeros passed through); on
 * cpu tfjs-core's own kernels. The webgpu part runs on Dawn (in CI on Mesa's lavapipe); skipped
 * with a message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELU_GRAD_KERNEL, hasTrainingKernel, registerTrainingKernels, reluGradConfig, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the ReLU-gradient kernel tests');

// x and dy with every case of step(x) and of the product: negatives, zeros (both signs), NaN,
// infinities, subnormals, and dy's own infinities, NaN and signed zeros.
const X = [-2, -0, 0, 1e-40, -1e-40, 0.5, 3, NaN, Infinity, -Infinity, 7, 7, 7, -1, 2, 1];
const DY = [1, 2, 3, 4, 5, -6, 0.25, 8, 9, 10, Infinity, -Infinity, NaN, Infinity, -0, 0];

/** dy * step(x) as tfjs-core writes it: step is 1 where x > 0, NaN where x is NaN, else 0. */
function expected(): Float32Array {
  const x = Float32Array.from(X);
  const dy = Float32Array.from(DY);
  return x.map((v, i) => dy[i]! * (Number.isNaN(v) ? v : v > 0 ? 1 : 0));
}

/** The gradient of relu for X and DY on the active backend (x [2, 2, 4]), with the kernels it ran. */
async function reluGradient(): Promise<{ values: Float32Array; kernels: string[] }> {
  const x = tf.tensor3d(X, [2, 2, 4]);
  const dy = tf.tensor3d(DY, [2, 2, 4]);
  const before = tf.memory().numTensors;
  let values: Float32Array = new Float32Array();
  const profile = await tf.profile(async () => {
    const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
    values = (await g.data()) as Float32Array;
    g.dispose();
  });
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  tf.dispose([x, dy]);
  return { values, kernels: profile.kernels.map((k) => k.name) };
}

/** Equal as float32 bit patterns (NaN to NaN, -0 to -0). */
function expectSameBits(actual: Float32Array, wanted: Float32Array): void {
  expect(Array.from(new Uint32Array(actual.buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from(wanted).buffer)));
}

describe('the Relu gradient on cpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
  });

  it('is registered, and runs tfjs-core\'s Step and Multiply with their values', async () => {
    expect(tf.getGradient('Relu')).toBe(reluGradConfig);
    const { values, kernels } = await reluGradient();
    expect(kernels).toContain('Step');
    expect(kernels).not.toContain(RELU_GRAD_KERNEL);
    expectSameBits(values, expected());
  });

  it('is tfjs-core\'s again after unregisterTrainingKernels()', () => {
    unregisterTrainingKernels();
    try {
      expect(tf.getGradient('Relu')).toBeDefined();
      expect(tf.getGradient('Relu')).not.toBe(reluGradConfig);
    } finally {
      registerTrainingKernels();
    }
  });
});

describe.runIf(adapter)('the Relu gradient on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs one kernel, registered for webgpu only', async () => {
    expect(hasTrainingKernel(RELU_GRAD_KERNEL, 'webgpu')).toBe(true);
    expect(tf.getKernel(RELU_GRAD_KERNEL, 'cpu')).toBeUndefined();
    await tf.setBackend('webgpu');
    const { kernels } = await reluGradient();
    expect(kernels.filter((name) => name !== 'Identity')).toEqual(['Relu', RELU_GRAD_KERNEL]); // no Step, no Multiply
  });

  it('equals tfjs-core\'s dy * step(x) bit for bit (NaN, infinities, signed zeros)', async () => {
    await tf.setBackend('webgpu');
    const { values } = await reluGradient();
    expectSameBits(values, expected());
  });

  it('equals the stock gradient on a larger tensor (grid-stride loop)', async () => {
    await tf.setBackend('webgpu');
    const x = tf.randomNormal([3, 70, 70, 5], 0, 1, 'float32', 3);
    const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 4);
    const ours = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor;
    const stock = tf.mul(dy, tf.step(x));
    expectSameBits((await ours.data()) as Float32Array, (await stock.data()) as Float32Array);
    tf.dispose([x, dy, ours, stock]);
  });

  it('rejects inputs it cannot take, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const x = tf.zeros([2, 3]);
    expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { x })).toThrow(`${RELU_GRAD_KERNEL}: missing input 'dy'`);
    expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: tf.zeros([3, 2]), x }))
      .toThrow(`${RELU_GRAD_KERNEL}: dy must have x's shape [2, 3], got [3, 2]`);
    expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: tf.zeros([2, 3], 'int32'), x }))
      .toThrow(`${RELU_GRAD_KERNEL}: dy must be float32, got int32`);
  });
});
