/**
 * The gradients of Relu and Sigmoid that registerTrainingKernels registers: on webgpu one kernel
 * each (src/webgpu/activation-grads.ts; ReLU's on wasm too, src/wasm/relu-grad.ts) instead of
 * tfjs-core's Step and Multiply (ReLU) or Sub and two Multiply (sigmoid), with tfjs-core's values bit for bit (NaN, infinities, signed zeros and
 * subnormals in x and dy; sigmoid at 0, 1/2 and 1); on cpu tfjs-core's own kernels. The webgpu
 * part runs on Dawn (in CI on Mesa's lavapipe); skipped with a message where no WebGPU adapter
 * exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RELU_GRAD_KERNEL, SIGMOID_GRAD_KERNEL, hasTrainingKernel, registerTrainingKernels, reluGradConfig, sigmoidGradConfig, unregisterTrainingKernels,
} from '@sa-unet/tfjs-kernels';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { useHeapModule } from '../src/wasm/heap-module.js';

const adapter = await nodeWebGPU('the activation-gradient kernel tests');

interface Activation {
  /** The forward kernel, whose gradient is registered. */
  kernelName: 'Relu' | 'Sigmoid';
  op: (x: tf.Tensor) => tf.Tensor;
  config: tf.GradConfig;
  /** Our one-kernel gradient, and the name of its second input. */
  kernel: string;
  input: 'x' | 'y';
  /** tfjs-core's gradient for dy at the forward input x (from which `input` comes), by stock kernels. */
  stock: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor;
  /** A kernel tfjs-core's gradient runs and ours does not. */
  stockKernel: string;
  /** x: every case of the activation's gradient. */
  x: number[];
}

// dy: its own infinities, NaN and signed zeros, and a subnormal.
const DY = [1, 2, 3, 4, 5, -6, 0.25, 8, 9, 10, Infinity, -Infinity, NaN, Infinity, -0, 1e-40];

const ACTIVATIONS: Array<[string, Activation]> = [
  ['Relu', {
    kernelName: 'Relu', op: tf.relu, config: reluGradConfig, kernel: RELU_GRAD_KERNEL, input: 'x',
    stock: (dy, x) => tf.mul(dy, tf.step(x)), stockKernel: 'Step',
    // negatives, zeros (both signs), subnormals, NaN, infinities
    x: [-2, -0, 0, 1e-40, -1e-40, 0.5, 3, NaN, Infinity, -Infinity, 7, 7, 7, -1, 2, 1],
  }],
  ['Sigmoid', {
    kernelName: 'Sigmoid', op: tf.sigmoid, config: sigmoidGradConfig, kernel: SIGMOID_GRAD_KERNEL, input: 'y',
    stock: (dy, x) => tf.tidy(() => {
      const y = tf.sigmoid(x);
      return tf.mul(dy, tf.mul(y, tf.sub(tf.scalar(1), y)));
    }),
    stockKernel: 'Sub',
    // sigmoid at 0, 1/2 and 1, NaN, and in between
    x: [-200, 0, 200, NaN, Infinity, -Infinity, 0.3, -2, 5, 1e-40, -0, 3, 3, 3, -1, 1],
  }],
];

/** dy times the registered gradient at a.x on the active backend ([2, 2, 4]), with the kernels it ran. */
async function gradient(a: Activation): Promise<{ values: Float32Array; kernels: string[] }> {
  const x = tf.tensor3d(a.x, [2, 2, 4]);
  const dy = tf.tensor3d(DY, [2, 2, 4]);
  const before = tf.memory().numTensors;
  let values: Float32Array = new Float32Array();
  const profile = await tf.profile(async () => {
    const g = tf.grad(a.op)(x, dy);
    values = (await g.data()) as Float32Array;
    g.dispose();
  });
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  tf.dispose([x, dy]);
  return { values, kernels: profile.kernels.map((k) => k.name) };
}

/** tfjs-core's gradient at a.x by the active backend's stock kernels. */
async function stockGradient(a: Activation): Promise<Float32Array> {
  const g = tf.tidy(() => a.stock(tf.tensor3d(DY, [2, 2, 4]), tf.tensor3d(a.x, [2, 2, 4])));
  const values = (await g.data()) as Float32Array;
  g.dispose();
  return values;
}

/** Equal as float32 bit patterns (NaN to NaN, -0 to -0). */
function expectSameBits(actual: Float32Array, wanted: Float32Array): void {
  expect(Array.from(new Uint32Array(actual.buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from(wanted).buffer)));
}

describe.each(ACTIVATIONS)('the %s gradient on cpu', (_, a) => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('cpu');
  });

  it('is registered, and runs tfjs-core\'s kernels with their values', async () => {
    expect(tf.getGradient(a.kernelName)).toBe(a.config);
    const { values, kernels } = await gradient(a);
    expect(kernels).toContain(a.stockKernel);
    expect(kernels).not.toContain(a.kernel);
    expectSameBits(values, await stockGradient(a));
  });

  it('is tfjs-core\'s again after unregisterTrainingKernels()', () => {
    unregisterTrainingKernels();
    try {
      expect(tf.getGradient(a.kernelName)).toBeDefined();
      expect(tf.getGradient(a.kernelName)).not.toBe(a.config);
    } finally {
      registerTrainingKernels();
    }
  });
});

it('the ReLU reference is tfjs-core\'s dy * step(x): step 1 where x > 0, NaN where x is NaN, else 0', async () => {
  await tf.setBackend('cpu');
  const [, relu] = ACTIVATIONS[0]!;
  const written = Float32Array.from(relu.x).map((v, i) => DY[i]! * (Number.isNaN(v) ? v : v > 0 ? 1 : 0));
  expectSameBits(await stockGradient(relu), written);
});

describe('the Relu gradient on wasm', () => {
  const [, relu] = ACTIVATIONS[0]!;
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
  });
  afterAll(() => useHeapModule(true));

  it('runs one kernel (the heap module\'s one pass), with the stock kernels\' values bit for bit', async () => {
    expect(hasTrainingKernel(RELU_GRAD_KERNEL, 'wasm')).toBe(true);
    const { values, kernels } = await gradient(relu);
    expect(kernels.filter((name) => name !== 'Identity')).toEqual(['Relu', RELU_GRAD_KERNEL]);
    expectSameBits(values, await stockGradient(relu));
  });

  it('equals the stock gradient on a larger tensor (SIMD and the values past it), with the module and without', async () => {
    const x = tf.randomNormal([3, 7, 7, 5], 0, 3, 'float32', 5);
    const dy = tf.randomNormal([3, 7, 7, 5], 0, 1, 'float32', 6);
    const stock = tf.tidy(() => tf.mul(dy, tf.step(x)));
    for (const allowed of [true, false]) {
      useHeapModule(allowed);
      const ours = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor;
      expectSameBits((await ours.data()) as Float32Array, (await stock.data()) as Float32Array);
      ours.dispose();
    }
    useHeapModule(true);
    tf.dispose([x, dy, stock]);
  });

  it('refuses int32 inputs and mismatched shapes by name', () => {
    tf.tidy(() => {
      expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: tf.zeros([2], 'int32'), x: tf.zeros([2]) })).toThrow(/SaUnetReluGrad: dy must be float32, got int32/);
      expect(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: tf.zeros([3]), x: tf.zeros([2]) })).toThrow(/dy must have x's shape \[2\], got \[3\]/);
    });
  });
});

describe.runIf(adapter).each(ACTIVATIONS)('the %s gradient on webgpu', (_, a) => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs one kernel, registered for webgpu (not cpu), with the stock kernels\' values bit for bit', async () => {
    expect(hasTrainingKernel(a.kernel, 'webgpu')).toBe(true);
    expect(tf.getKernel(a.kernel, 'cpu')).toBeUndefined();
    await tf.setBackend('webgpu');
    const { values, kernels } = await gradient(a);
    expect(kernels.filter((name) => name !== 'Identity')).toEqual([a.kernelName, a.kernel]);
    const stock = await stockGradient(a);
    expect(stock.some(Number.isNaN) && stock.some((v) => v === 0) && stock.some((v) => v !== 0 && Number.isFinite(v)), 'cases of every kind').toBe(true);
    expectSameBits(values, stock);
  });

  it('equals the stock gradient on a larger tensor (grid-stride loop), in one dispatch', async () => {
    await tf.setBackend('webgpu');
    const x = tf.randomNormal([3, 70, 70, 5], 0, 3, 'float32', 5);
    const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 6);
    const input = a.input === 'x' ? x : a.op(x);
    await Promise.all([input.data(), dy.data()]);
    const ours = countDispatches(() => tf.engine().runKernel(a.kernel, { dy, [a.input]: input }) as tf.Tensor);
    expect(ours.dispatches).toBe(1);
    const stock = a.stock(dy, x);
    const [oursValues, stockValues] = await Promise.all([ours.result.data(), stock.data()]);
    // A first difference, not the whole arrays, in the message if they differ.
    const at = (oursValues as Float32Array).findIndex((v, i) => !Object.is(v, stockValues[i]) && !(Number.isNaN(v) && Number.isNaN(stockValues[i]!)));
    expect(at, at < 0 ? '' : `first difference at ${at}: ${oursValues[at]} against ${stockValues[at]}`).toBe(-1);
    tf.dispose([x, dy, input, ours.result, stock]);
  });

  it('rejects inputs it cannot take, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const t = tf.zeros([2, 3]);
    expect(() => tf.engine().runKernel(a.kernel, { [a.input]: t })).toThrow(`${a.kernel}: missing input 'dy'`);
    expect(() => tf.engine().runKernel(a.kernel, { dy: tf.zeros([3, 2]), [a.input]: t }))
      .toThrow(`${a.kernel}: dy must have ${a.input}'s shape [2, 3], got [3, 2]`);
    expect(() => tf.engine().runKernel(a.kernel, { dy: tf.zeros([2, 3], 'int32'), [a.input]: t }))
      .toThrow(`${a.kernel}: dy must be float32, got int32`);
  });
});
