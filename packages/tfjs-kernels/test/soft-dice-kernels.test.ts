/**
 * The webgpu soft-Dice kernels (src/webgpu/soft-dice.ts) against the cpu backend: the coefficient
 * and its per-sample sums against tf ops, the gradients for both masks against autodiff of the
 * same composition. On Dawn (in CI on Mesa's lavapipe); skipped with a message where no WebGPU
 * adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, SOFT_DICE_KERNELS } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { countDispatches, intStoredFloat, nodeWebGPU, storageDtype } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the soft-Dice kernel tests');

interface Case {
  shape: number[];
  smooth: number;
  /** Samples whose masks are both all zeros (the empty-mask case smooth keeps defined). */
  empty?: number[];
}

const CASES: Array<[string, Case]> = [
  ['a batch of 4 images [4, 8, 8, 1]', { shape: [4, 8, 8, 1], smooth: 1 }],
  ['smooth 0', { shape: [2, 5, 3, 2], smooth: 0 }],
  ['one value per sample (rank 1)', { shape: [5], smooth: 1 }],
  ['300 samples (more than the finishing workgroup\'s threads)', { shape: [300, 3], smooth: 1 }],
  ['4,096 values per sample (several chunks each)', { shape: [2, 64, 64, 1], smooth: 1 }],
  ['an empty sample beside a full one', { shape: [2, 4, 4, 1], smooth: 1, empty: [0] }],
];

interface Operands { yTrue: Float32Array; yPred: Float32Array; dy: number }

function operands({ shape, empty = [] }: Case, seed: number): Operands {
  const yTrue = Float32Array.from(tf.tidy(() => tf.greater(seededUniform(shape, seed), 0.6).dataSync()));
  const yPred = tf.tidy(() => seededUniform(shape, seed + 1, 0, 1).dataSync() as Float32Array);
  const perSample = yTrue.length / shape[0]!;
  for (const b of empty) {
    yTrue.fill(0, b * perSample, (b + 1) * perSample);
    yPred.fill(0, b * perSample, (b + 1) * perSample);
  }
  return { yTrue, yPred, dy: 0.75 };
}

/** On the current (cpu) backend: dice, the sums, and dy times autodiff's gradients of the composition. */
async function reference(o: Operands, { shape, smooth }: Case): Promise<Float32Array[]> {
  const outs = tf.tidy(() => {
    const t = tf.tensor(o.yTrue, shape);
    const p = tf.tensor(o.yPred, shape);
    const axes = shape.slice(1).map((_, i) => i + 1);
    const perSample = (a: tf.Tensor) => (axes.length > 0 ? tf.sum(a, axes) : a);
    const dice = (tv: tf.Tensor, pv: tf.Tensor) => {
      const intersection = perSample(tf.mul(tv, pv));
      const total = tf.add(perSample(tv), perSample(pv));
      return tf.mean(tf.div(tf.add(tf.mul(2, intersection), smooth), tf.add(total, smooth)));
    };
    const sums = tf.stack([perSample(tf.mul(t, p)), tf.add(perSample(t), perSample(p))], 1);
    const grads = tf.grads((tv: tf.Tensor, pv: tf.Tensor) => dice(tv, pv))([t, p], tf.scalar(o.dy));
    return [dice(t, p), sums, ...grads];
  });
  const values = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outs);
  return values;
}

const runForward = (t: tf.Tensor, p: tf.Tensor, smooth: number) =>
  tf.engine().runKernel(SOFT_DICE_KERNELS.forward, { yTrue: t, yPred: p }, { smooth }) as tf.Tensor[];
const runGradient = (dy: tf.Tensor, t: tf.Tensor, p: tf.Tensor, sums: tf.Tensor, smooth: number) =>
  tf.engine().runKernel(SOFT_DICE_KERNELS.gradient, { dy, yTrue: t, yPred: p, sums }, { smooth }) as tf.Tensor[];

describe.runIf(adapter)('soft-Dice kernels on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered for webgpu only', () => {
    for (const name of Object.values(SOFT_DICE_KERNELS)) {
      expect(hasTrainingKernel(name, 'webgpu'), name).toBe(true);
      expect(tf.getKernel(name, 'cpu'), name).toBeUndefined();
    }
  });

  it.each(CASES)('%s: dice, sums and both gradients equal the cpu backend\'s within 1e-5, in 2 + 1 dispatches', async (_, c) => {
    await tf.setBackend('cpu');
    const o = operands(c, 31);
    const expected = await reference(o, c);
    await tf.setBackend('webgpu');
    const t = tf.tensor(o.yTrue, c.shape);
    const p = tf.tensor(o.yPred, c.shape);
    const dy = tf.scalar(o.dy);
    await Promise.all([t, p, dy].map((v) => v.data()));
    const before = tf.memory().numTensors;
    const forward = countDispatches(() => runForward(t, p, c.smooth));
    const [dice, sums] = forward.result;
    const gradient = countDispatches(() => runGradient(dy, t, p, sums!, c.smooth));
    expect([forward.dispatches, gradient.dispatches]).toEqual([2, 1]);
    expect([dice!.shape, sums!.shape, ...gradient.result.map((g) => g.shape)]).toEqual([[], [c.shape[0], 2], c.shape, c.shape]);
    const actual = await Promise.all([dice!, sums!, ...gradient.result].map(async (v) => (await v.data()) as Float32Array));
    for (const [i, name] of ['dice', 'sums', 'dTrue', 'dPred'].entries()) {
      expect(differenceRelativeToLargest(actual[i]!, expected[i]!), name).toBeLessThan(1e-5);
    }
    tf.dispose([...forward.result, ...gradient.result]);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    tf.dispose([t, p, dy]);
    await tf.setBackend('cpu');
  });

  it('take masks stored as int32 under float32 (as the stock Cast from bool leaves them) as their float values', async () => {
    await tf.setBackend('webgpu');
    const shape = [2, 6, 6, 1];
    const [x, y] = [seededUniform(shape, 51), seededUniform(shape, 52)];
    const run = (t: tf.Tensor, p: tf.Tensor) => tf.tidy(() => {
      const [dice, sums] = runForward(t, p, 1);
      return [dice!, sums!, ...runGradient(tf.scalar(0.5), t, p, sums!, 1)];
    });
    const bools = [tf.greater(x, 0.5), tf.greater(y, 0.3)];
    const castMasks = bools.map(intStoredFloat); // as the stock Cast makes them
    const floatMasks = bools.map((m) => tf.cast(m, 'float32'));
    expect(castMasks.map(storageDtype), 'the case under test: int32 storage').not.toContain('float32');
    expect(floatMasks.map((m) => m.dtype)).toEqual(['float32', 'float32']);
    const [fromCast, fromFloat] = [run(castMasks[0]!, castMasks[1]!), run(floatMasks[0]!, floatMasks[1]!)];
    for (const [i, name] of ['dice', 'sums', 'dTrue', 'dPred'].entries()) {
      expect(await fromCast[i]!.data(), name).toEqual(await fromFloat[i]!.data());
    }
    tf.dispose([x, y, ...bools, ...castMasks, ...floatMasks, ...fromCast, ...fromFloat]);
    await tf.setBackend('cpu');
  });

  it('reject inputs they cannot take, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const t = tf.zeros([2, 3]);
    const sums = tf.zeros([2, 2]);
    const cases: Array<[() => unknown, string]> = [
      [() => runForward(t, tf.zeros([3, 2]), 1), `${SOFT_DICE_KERNELS.forward}: yPred must have yTrue's shape [2, 3], got [3, 2]`],
      [() => runForward(tf.zeros([2, 3], 'int32'), t, 1), `${SOFT_DICE_KERNELS.forward}: yTrue must be float32, got int32`],
      [() => runForward(tf.zeros([0, 3]), tf.zeros([0, 3]), 1), `${SOFT_DICE_KERNELS.forward}: yTrue must have a batch axis and no empty one, got shape [0, 3]`],
      [() => runForward(t, t, -1), `${SOFT_DICE_KERNELS.forward}: smooth must be a finite number >= 0, got -1`],
      [() => runForward(tf.zeros([65536]), tf.zeros([65536]), 1), `${SOFT_DICE_KERNELS.forward}: at most 65535 samples (the batch axis), got 65536`],
      [() => runGradient(tf.zeros([2]), t, t, sums, 1), `${SOFT_DICE_KERNELS.gradient}: dy must be one float32 value, got float32 [2]`],
      [() => runGradient(tf.scalar(1), t, t, tf.zeros([2, 3]), 1), `${SOFT_DICE_KERNELS.gradient}: sums must be float32 of shape [2, 2], got float32 [2, 3]`],
      [() => tf.engine().runKernel(SOFT_DICE_KERNELS.gradient, { dy: tf.scalar(1), yTrue: t, yPred: t }, { smooth: 1 }), `${SOFT_DICE_KERNELS.gradient}: missing input 'sums'`],
    ];
    for (const [run, message] of cases) expect(run).toThrow(message);
    tf.disposeVariables();
    await tf.setBackend('cpu');
  });
});
