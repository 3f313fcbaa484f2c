/**
 * The gradient of Sigmoid that registerTrainingKernels registers: on webgpu one kernel
 * (src/webgpu/activation-grads.ts) instead of Sub and two Multiply, with tfjs-core's values bit for
 * bit (y at 0, 1/2 and 1, NaN and infinities in x and in dy); on cpu tfjs-core's own kernels. The
 * webgpu part runs on Dawn (in CI on Mesa's lavapipe); skipped with a message where no WebGPU
 * adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGMOID_GRAD_KERNEL, hasTrainingKernel, registerTrainingKernels, sigmoidGradConfig, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the sigmoid-gradient kernel tests');

// x with y = sigmoid(x) at 0, 1/2 and 1, NaN and in between; dy with infinities, NaN and signed zeros.
const X = [-200, 0, 200, NaN, Infinity, -Infinity, 0.3, -2, 5, 1e-40, -0, 3, 3, 3, -1, 1];
const DY = [1, 2, 3, 4, 5, -6, 0.25, 8, 9, 10, Infinity, -Infinity, NaN, -0, 0, 1e-30];

/** dy times the gradient of sigmoid at X on the active backend ([2, 2, 4]), and the kernels and dispatches it ran. */
async function sigmoidGradient(): Promise<{ values: Float32Array; kernels: string[] }> {
  const x = tf.tensor3d(X, [2, 2, 4]);
  const dy = tf.tensor3d(DY, [2, 2, 4]);
  const before = tf.memory().numTensors;
  let values: Float32Array = new Float32Array();
  const profile = await tf.profile(async () => {
    const g = tf.grad((t: tf.Tensor) => tf.sigmoid(t))(x, dy);
    values = (await g.data()) as Float32Array;
    g.dispose();
  });
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  tf.dispose([x, dy]);
  return { values, kernels: profile.kernels.map((k) => k.name) };
}

/** tfjs-core's gradient, mul(dy, mul(y, sub(1, y))), by the active backend's stock kernels. */
async function stockGradient(): Promise<Float32Array> {
  const g = tf.tidy(() => {
    const y = tf.sigmoid(tf.tensor3d(X, [2, 2, 4]));
    return tf.mul(tf.tensor3d(DY, [2, 2, 4]), tf.mul(y, tf.sub(tf.scalar(1), y)));
  });
  const values = (await g.data()) as Float32Array;
  g.dispose();
  return values;
}

/** Equal as float32 bit patterns (NaN to NaN, -0 to -0). */
function expectSameBits(actual: Float32Array, wanted: Float32Array): void {
  expect(Array.from(new Uint32Array(actual.buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from(wanted).buffer)));
}

describe('the Sigmoid gradient on cpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
  });

  it('is registered, and runs tfjs-core\'s kernels with their values', async () => {
    expect(tf.getGradient('Sigmoid')).toBe(sigmoidGradConfig);
    const { values, kernels } = await sigmoidGradient();
    expect(kernels).toContain('Sub');
    expect(kernels).not.toContain(SIGMOID_GRAD_KERNEL);
    expectSameBits(values, await stockGradient());
  });

  it('is tfjs-core\'s again after unregisterTrainingKernels()', () => {
    unregisterTrainingKernels();
    try {
      expect(tf.getGradient('Sigmoid')).toBeDefined();
      expect(tf.getGradient('Sigmoid')).not.toBe(sigmoidGradConfig);
    } finally {
      registerTrainingKernels();
    }
  });
});

describe.runIf(adapter)('the Sigmoid gradient on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs one kernel, registered for webgpu only, with the stock kernels\' values bit for bit', async () => {
    expect(hasTrainingKernel(SIGMOID_GRAD_KERNEL, 'webgpu')).toBe(true);
    expect(tf.getKernel(SIGMOID_GRAD_KERNEL, 'cpu')).toBeUndefined();
    await tf.setBackend('webgpu');
    const { values, kernels } = await sigmoidGradient();
    expect(kernels.filter((name) => name !== 'Identity')).toEqual(['Sigmoid', SIGMOID_GRAD_KERNEL]); // no Sub, no Multiply
    const stock = await stockGradient();
    expect(stock.some(Number.isNaN) && stock.some((v) => v === 0) && stock.some((v) => v !== 0 && Number.isFinite(v)), 'cases on both sides').toBe(true);
    expectSameBits(values, stock);
  });

  it('equals the stock gradient on a larger tensor (grid-stride loop), in one dispatch', async () => {
    await tf.setBackend('webgpu');
    const y = tf.sigmoid(tf.randomNormal([3, 70, 70, 5], 0, 3, 'float32', 5));
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 6);
    await Promise.all([y.data(), dy.data()]);
    const ours = countDispatches(() => tf.engine().runKernel(SIGMOID_GRAD_KERNEL, { dy, y }) as tf.Tensor);
    expect(ours.dispatches).toBe(1);
    const stock = tf.tidy(() => tf.mul(dy, tf.mul(y, tf.sub(tf.scalar(1), y))));
    expectSameBits((await ours.result.data()) as Float32Array, (await stock.data()) as Float32Array);
    tf.dispose([y, dy, ours.result, stock]);
  });

  it('rejects inputs it cannot take, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const y = tf.zeros([2, 3]);
    expect(() => tf.engine().runKernel(SIGMOID_GRAD_KERNEL, { y })).toThrow(`${SIGMOID_GRAD_KERNEL}: missing input 'dy'`);
    expect(() => tf.engine().runKernel(SIGMOID_GRAD_KERNEL, { dy: tf.zeros([3, 2]), y }))
      .toThrow(`${SIGMOID_GRAD_KERNEL}: dy must have y's shape [2, 3], got [3, 2]`);
    expect(() => tf.engine().runKernel(SIGMOID_GRAD_KERNEL, { dy: tf.zeros([2, 3], 'int32'), y }))
      .toThrow(`${SIGMOID_GRAD_KERNEL}: dy must be float32, got int32`);
  });
});
