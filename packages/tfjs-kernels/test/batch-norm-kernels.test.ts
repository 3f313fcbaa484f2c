/**
 * The webgpu batch-norm kernels (src/webgpu/batch-norm.ts) against the cpu backend: the batch
 * moments and moving averages against tf.moments, the gradient against autodiff of batchNorm with
 * the batch's own moments; the rectified forms against the stock webgpu kernels they replace. On Dawn (in CI on Mesa's lavapipe); skipped with a message where no
 * WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_NORM_KERNELS, hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { countDispatches, inSerialLayout, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { channelResultsShader, inputGradProgram, partialSumsProgram, rectifiedNormalizeProgram } from '../src/webgpu/batch-norm-programs.js';

const adapter = await nodeWebGPU('the batch-norm kernel tests');

const MOMENTUM = 0.9;
const EPSILON = 1e-3;

interface Case {
  shape: number[];
  /** Added to x: a large mean tests that the variance does not cancel. */
  offset: number;
}

const CASES: Array<[string, Case]> = [
  ['rank 2, 5 rows of 3 channels', { shape: [5, 3], offset: 0 }],
  ['one channel', { shape: [3, 4, 1], offset: 0 }],
  ['one row of 130 channels (three channel blocks)', { shape: [1, 1, 1, 130], offset: 0 }],
  ['70 channels, 126 rows', { shape: [2, 7, 9, 70], offset: 0 }],
  ['4096 rows of 8 channels (split into row chunks)', { shape: [4, 32, 32, 8], offset: 0 }],
  ['a mean of 1000 (shifted sums)', { shape: [2, 16, 16, 4], offset: 1000 }],
  // 64 channels per workgroup of the totals, so 4 strands per channel for 16 row chunks.
  ['4096 rows of 96 channels (two channel blocks, 16 row chunks)', { shape: [4, 32, 32, 96], offset: 0 }],
];

/** Values of every tensor, read on its backend. */
async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
}

interface Operands {
  x: Float32Array;
  dy: Float32Array;
  scale: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

function operands({ shape, offset }: Case, seed: number): Operands {
  const channels = shape[shape.length - 1]!;
  return tf.tidy(() => ({
    x: tf.add(seededUniform(shape, seed, -2, 3), offset).dataSync() as Float32Array,
    dy: seededUniform(shape, seed + 1).dataSync() as Float32Array,
    scale: seededUniform([channels], seed + 2, 0.5, 1.5).dataSync() as Float32Array,
    movingMean: seededUniform([channels], seed + 3).dataSync() as Float32Array,
    movingVariance: seededUniform([channels], seed + 4, 0.5, 2).dataSync() as Float32Array,
  }));
}

/** Reference on the current (cpu) backend: moments, moving averages, and autodiff's gradient. */
async function reference(o: Operands, shape: number[]): Promise<Float32Array[]> {
  const channels = shape[shape.length - 1]!;
  const axes = shape.slice(0, -1).map((_, i) => i);
  const outs = tf.tidy(() => {
    const x = tf.tensor(o.x, shape);
    const dy = tf.tensor(o.dy, shape);
    const scale = tf.tensor1d(o.scale);
    const offset = tf.zeros([channels]);
    const { mean, variance } = tf.moments(x, axes);
    const moving = (m: Float32Array, value: tf.Tensor) => tf.sub(tf.tensor1d(m), tf.mul(tf.sub(tf.tensor1d(m), value), 1 - MOMENTUM));
    const grads = tf.grads((xv: tf.Tensor, sv: tf.Tensor, ov: tf.Tensor) => {
      const m = tf.moments(xv, axes);
      return tf.sum(tf.mul(tf.batchNorm(xv, m.mean, m.variance, ov, sv, EPSILON), dy));
    })([x, scale, offset]);
    return [mean, variance, moving(o.movingMean, mean), moving(o.movingVariance, variance), ...grads];
  });
  const values = await read(outs);
  tf.dispose(outs);
  return values;
}

/** The operands as tensors on the current backend. */
function inputTensors(o: Operands, shape: number[]) {
  return {
    x: tf.tensor(o.x, shape),
    dy: tf.tensor(o.dy, shape),
    scale: tf.tensor1d(o.scale),
    movingMean: tf.tensor1d(o.movingMean),
    movingVariance: tf.tensor1d(o.movingVariance),
  };
}
type Inputs = ReturnType<typeof inputTensors>;

/** The moments kernel: [mean, variance, movingMean', movingVariance']. */
const runMoments = ({ x, movingMean, movingVariance }: Inputs) =>
  tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x, movingMean, movingVariance }, { momentum: MOMENTUM }) as tf.Tensor[];

/** The gradient kernel with the batch's mean and variance: [dx, dScale, dOffset]. */
const runGradient = ({ dy, x, scale }: Inputs, [mean, variance]: tf.Tensor[]) =>
  tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { dy, x, mean: mean!, variance: variance!, scale }, { varianceEpsilon: EPSILON }) as tf.Tensor[];

/** The two kernels on the current (webgpu) backend, in the reference's order. */
async function kernels(o: Operands, shape: number[]): Promise<Float32Array[]> {
  const before = tf.memory().numTensors;
  const t = inputTensors(o, shape);
  const moments = runMoments(t);
  const grads = runGradient(t, moments);
  expect(grads.map((g) => g.shape)).toEqual([shape, [shape[shape.length - 1]], [shape[shape.length - 1]]]);
  const values = await read([...moments, ...grads]);
  tf.dispose([...Object.values(t), ...moments, ...grads]);
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  return values;
}

const NAMES = ['mean', 'variance', 'moving mean', 'moving variance', 'dx', 'dscale', 'doffset'];

it('every batch-norm shader binds at most 8 storage buffers, WebGPU\'s default limit, which browsers keep', () => {
  const bound: Array<[string, number]> = [];
  for (const rectified of [false, true]) {
    for (const kind of ['moments', 'gradient'] as const) {
      const partial = partialSumsProgram(kind, 32, 4, rectified);
      bound.push([partial.shaderKey, partial.variableNames.length + 1]);
    }
    const dx = inputGradProgram(64, rectified);
    bound.push([dx.shaderKey, dx.variableNames.length + 1]);
  }
  const normalize = rectifiedNormalizeProgram(64);
  bound.push([normalize.shaderKey, normalize.variableNames.length + 1]);
  for (const kind of ['moments', 'gradient'] as const) {
    const shader = channelResultsShader(kind, 32);
    bound.push([shader.key, shader.code().match(/var<storage/g)?.length ?? 0]);
  }
  expect(bound.filter(([, n]) => n > 8)).toEqual([]);
  expect(Math.max(...bound.map(([, n]) => n))).toBe(8); // the moments' per-channel results: 4 read, 4 written
});

describe.runIf(adapter)('batch-norm kernels on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered for webgpu only', () => {
    for (const name of Object.values(BATCH_NORM_KERNELS)) {
      expect(hasTrainingKernel(name, 'webgpu'), name).toBe(true);
      expect(tf.getKernel(name, 'cpu'), name).toBeUndefined();
    }
  });

  async function matchesCpu(c: Case): Promise<void> {
    await tf.setBackend('cpu');
    const o = operands(c, 3);
    const expected = await reference(o, c.shape);
    await tf.setBackend('webgpu');
    const actual = await kernels(o, c.shape);
    await tf.setBackend('cpu');
    for (const [i, name] of NAMES.entries()) {
      expect(differenceRelativeToLargest(actual[i]!, expected[i]!), name).toBeLessThan(1e-4);
    }
  }

  it.each(CASES)('%s: moments, moving averages and gradients equal the cpu backend\'s within 1e-4', async (_, c) => {
    await matchesCpu(c);
  });

  it.each(CASES.filter(([name]) => name.includes('chunks')))('%s, in the \'serial\' reduction layout (the GPU scripts\' comparison): the same', async (_, c) => {
    await inSerialLayout(() => matchesCpu(c));
  });

  it('take two dispatches (the moments) and three (the gradient), timed by tf.time like tfjs\'s own programs', async () => {
    await tf.setBackend('cpu');
    const shape = [2, 16, 16, 4];
    const o = operands({ shape, offset: 0 }, 5);
    const expected = await reference(o, shape);
    await tf.setBackend('webgpu');
    const before = tf.memory().numTensors;
    const t = inputTensors(o, shape);
    const inputs = Object.values(t);
    await read(inputs); // uploaded before counting
    const kernels = () => {
      const moments = countDispatches(() => runMoments(t));
      const grads = countDispatches(() => runGradient(t, moments.result));
      return { outputs: [...moments.result, ...grads.result], dispatches: [moments.dispatches, grads.dispatches] };
    };
    const untimed = kernels();
    expect(untimed.dispatches).toEqual([2, 3]);
    let timed: ReturnType<typeof kernels> | undefined;
    const timing = await tf.time(() => {
      timed = kernels();
    });
    expect(timed!.dispatches).toEqual([2, 3]);
    const timers = (timing as unknown as { getExtraProfileInfo(): string }).getExtraProfileInfo();
    expect(timers).toContain('saunet_batchNormChannelResults_moments');
    expect(timers).toContain('saunet_batchNormChannelResults_gradient');
    for (const run of [untimed, timed!]) {
      const values = await read(run.outputs);
      for (const [i, name] of NAMES.entries()) {
        expect(differenceRelativeToLargest(values[i]!, expected[i]!), name).toBeLessThan(1e-4);
      }
    }
    tf.dispose([...inputs, ...untimed.outputs, ...timed!.outputs]);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%s: the moments with inPlace update the moving averages in their own storage, bit for bit as into new tensors, and leave shared storage alone', async (_, c) => {
    await tf.setBackend('cpu');
    const o = operands(c, 19);
    await tf.setBackend('webgpu');
    const t = inputTensors(o, c.shape);
    const expected = await read(runMoments(t));
    const inPlace = () => tf.engine().runKernel(BATCH_NORM_KERNELS.moments,
      { x: t.x, movingMean: t.movingMean, movingVariance: t.movingVariance }, { momentum: MOMENTUM, inPlace: true }) as tf.Tensor[];
    // Shared storage (a clone holds it too): new tensors, the inputs unchanged.
    const held = [t.movingMean.clone(), t.movingVariance.clone()];
    const copied = countDispatches(inPlace);
    expect(copied.dispatches).toBe(2);
    expect(copied.result.slice(2).map((r, i) => r.dataId === held[i]!.dataId)).toEqual([false, false]);
    expect(await read(copied.result)).toEqual(expected);
    expect(await read(held)).toEqual([o.movingMean, o.movingVariance]);
    tf.dispose([...held, ...copied.result]);
    // Storage of their own: updated where it is, returned as the inputs' storage; nothing allocated.
    await read([t.movingMean, t.movingVariance]); // (values cached on the CPU: dropped by the update)
    const before = tf.memory().numDataBuffers;
    const updated = countDispatches(inPlace);
    expect(updated.dispatches).toBe(2);
    expect(updated.result.slice(2).map((r) => r.dataId)).toEqual([t.movingMean.dataId, t.movingVariance.dataId]);
    expect(await read(updated.result)).toEqual(expected);
    expect(await read([t.movingMean, t.movingVariance])).toEqual(expected.slice(2));
    expect(tf.memory().numDataBuffers).toBe(before + 2); // the batch's mean and variance alone
    tf.dispose([...Object.values(t), ...updated.result]);
    await tf.setBackend('cpu');
  });

  it('record nothing in tfjs\'s compile-only pass (WEBGPU_ENGINE_COMPILE_ONLY), then run as usual', async () => {
    await tf.setBackend('cpu');
    const shape = [2, 8, 8, 3];
    const o = operands({ shape, offset: 0 }, 7);
    const expected = await reference(o, shape);
    await tf.setBackend('webgpu');
    const t = inputTensors(o, shape);
    await read(Object.values(t));
    const moments = () => runMoments(t);
    tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', true);
    let compiled: { result: tf.Tensor[]; dispatches: number };
    try {
      compiled = countDispatches(moments);
      await (tf.backend() as unknown as { checkCompileCompletionAsync(): Promise<void> }).checkCompileCompletionAsync();
    } finally {
      tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', false);
    }
    expect(compiled.dispatches).toBe(0);
    const ran = countDispatches(moments);
    expect(ran.dispatches).toBe(2);
    const values = await read(ran.result);
    for (const [i, name] of NAMES.slice(0, 4).entries()) {
      expect(differenceRelativeToLargest(values[i]!, expected[i]!), name).toBeLessThan(1e-4);
    }
    tf.dispose([...Object.values(t), ...compiled.result, ...ran.result]);
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%s: normalizeRelu gives the stock FusedBatchNorm and Relu bit for bit, in one dispatch', async (_, c) => {
    await tf.setBackend('cpu');
    const o = operands(c, 11);
    await tf.setBackend('webgpu');
    const t = inputTensors(o, c.shape);
    const [mean, variance] = runMoments(t);
    const offset = tf.tidy(() => tf.sub(tf.mul(t.movingMean, 2), 0.5)); // some channels mostly negative
    await read([...Object.values(t), offset]);
    const before = tf.memory().numTensors;
    const ours = countDispatches(() => tf.engine().runKernel(BATCH_NORM_KERNELS.normalizeRelu,
      { x: t.x, mean: mean!, variance: variance!, offset, scale: t.scale }, { varianceEpsilon: EPSILON }) as tf.Tensor);
    expect(ours.dispatches).toBe(1);
    expect(ours.result.shape).toEqual(c.shape);
    const stock = tf.tidy(() => tf.relu(tf.batchNorm(t.x, mean!, variance!, offset, t.scale, EPSILON)));
    const [actual, expected] = await read([ours.result, stock]);
    expect(actual).toEqual(expected);
    expect(actual!.some((v) => v === 0) && actual!.some((v) => v > 0), 'both sides of the ReLU').toBe(true);
    tf.dispose([ours.result, stock]);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    tf.dispose([...Object.values(t), mean!, variance!, offset]);
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%s: the gradient with y equals ReLU\'s gradient, then the gradient without, bit for bit, in three dispatches', async (_, c) => {
    await tf.setBackend('cpu');
    const o = operands(c, 13);
    // y with negatives, both zeros and positives; rectified or not, only its sign matters.
    const yValues = tf.tidy(() => seededUniform(c.shape, 17, -1, 1).dataSync() as Float32Array);
    yValues[0] = 0;
    if (yValues.length > 1) yValues[1] = -0;
    await tf.setBackend('webgpu');
    const t = inputTensors(o, c.shape);
    const moments = runMoments(t);
    const y = tf.tensor(yValues, c.shape);
    await read([...Object.values(t), ...moments, y]);
    const before = tf.memory().numTensors;
    const ours = countDispatches(() => tf.engine().runKernel(BATCH_NORM_KERNELS.gradient,
      { dy: t.dy, x: t.x, mean: moments[0]!, variance: moments[1]!, scale: t.scale, y }, { varianceEpsilon: EPSILON }) as tf.Tensor[]);
    expect(ours.dispatches).toBe(3);
    const composed = tf.tidy(() => {
      const dy = tf.grad((v: tf.Tensor) => tf.relu(v))(y, t.dy); // ReLU's gradient at y, as tfjs-core gives it
      return runGradient({ ...t, dy }, moments);
    });
    const actual = await read(ours.result);
    const expected = await read(composed);
    for (const [i, name] of ['dx', 'dscale', 'doffset'].entries()) expect(actual[i], name).toEqual(expected[i]);
    tf.dispose([...ours.result, ...composed]);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    tf.dispose([...Object.values(t), ...moments, y]);
    await tf.setBackend('cpu');
  });

  it('reject inputs they cannot normalize, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const m = tf.zeros([3]);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x: tf.zeros([0, 3]), movingMean: m, movingVariance: m }, { momentum: 0.9 }))
      .toThrow(`${BATCH_NORM_KERNELS.moments}: x must have at least one axis and no empty one, got shape [0, 3]`);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.moments, { x: tf.zeros([2, 3], 'int32'), movingMean: m, movingVariance: m }, { momentum: 0.9 }))
      .toThrow(`${BATCH_NORM_KERNELS.moments}: x must be float32, got int32`);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { dy: m, x: m }, { varianceEpsilon: 1e-3 }))
      .toThrow(`${BATCH_NORM_KERNELS.gradient}: missing input 'mean'`);
    const x = tf.zeros([2, 3]);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.gradient, { dy: x, x, mean: m, variance: m, scale: m, y: tf.zeros([3, 2]) }, { varianceEpsilon: 1e-3 }))
      .toThrow(`${BATCH_NORM_KERNELS.gradient}: y must be float32 of x's shape [2, 3], got float32 [3, 2]`);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.normalizeRelu, { x, mean: m, variance: m, offset: tf.zeros([2]), scale: m }, { varianceEpsilon: 1e-3 }))
      .toThrow(`${BATCH_NORM_KERNELS.normalizeRelu}: offset must be float32 of shape [3], got float32 [2]`);
    expect(() => tf.engine().runKernel(BATCH_NORM_KERNELS.normalizeRelu, { x, mean: m, variance: m, offset: m }, { varianceEpsilon: 1e-3 }))
      .toThrow(`${BATCH_NORM_KERNELS.normalizeRelu}: missing input 'scale'`);
    tf.disposeVariables();
    await tf.setBackend('cpu');
  });
});
