import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { diceLoss, softDice } from '@sa-unet/seg-metrics';
import { registerTrainingKernels, SOFT_DICE_KERNELS } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform, withSeed } from '../../../test-utils/numeric.js';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { FUSED_SOFT_DICE_KERNELS } from '../src/loss.js';

const adapter = await nodeWebGPU('the soft-Dice webgpu test');
if (adapter) registerTrainingKernels();

beforeAll(() => tf.setBackend('cpu'));

describe('soft Dice and the Dice loss', () => {
  it('known values: per sample, then the batch mean', async () => {
    const yTrue = tf.tensor4d([1, 1, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
    const yPred = tf.tensor4d([1, 0, 0, 0, 0.5, 0, 0, 0], [2, 2, 2, 1]);
    // sample 0: (2*1 + 1) / (2 + 1 + 1) = 0.75; sample 1 (empty truth): (0 + 1) / (0 + 0.5 + 1) = 2/3
    expect((await softDice(yTrue, yPred).data())[0]).toBeCloseTo((0.75 + 2 / 3) / 2, 6);
    expect((await diceLoss(yTrue, yPred).data())[0]).toBeCloseTo(1 - (0.75 + 2 / 3) / 2, 6);
    // smooth 0: sample 0 = 2/3, sample 1 = 0
    expect((await softDice(yTrue, yPred, { smooth: 0 }).data())[0]).toBeCloseTo(1 / 3, 6);
    tf.dispose([yTrue, yPred]);
  });

  it('perfect prediction: loss 0; both empty: loss 0 (smooth keeps it defined)', async () => {
    const mask = tf.tensor4d([1, 0, 0, 1], [1, 2, 2, 1]);
    expect((await diceLoss(mask, mask).data())[0]).toBeCloseTo(0, 6);
    const zeros = tf.zeros([1, 2, 2, 1]);
    expect((await diceLoss(zeros, zeros).data())[0]).toBeCloseTo(0, 6);
    tf.dispose([mask, zeros]);
  });

  it('works as a tfjs-layers loss: gradients are finite and the loss falls', async () => {
    const model = withSeed(2, () => {
      const input = tfl.input({ shape: [4, 4, 1] });
      const output = tfl.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(input) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: output });
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: diceLoss });
    const x = tf.randomUniform([4, 4, 4, 1], 0, 1, 'float32', 3);
    const y = tf.cast(tf.greater(x, 0.5), 'float32');
    const history = await model.fit(x, y, { epochs: 30, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    tf.dispose([x, y]);
  });

  it('rejects shape mismatch and negative smooth, naming them', () => {
    const a = tf.zeros([1, 2, 2, 1]);
    const b = tf.zeros([1, 2, 3, 1]);
    expect(() => diceLoss(a, b)).toThrow(/yTrue shape \[1, 2, 2, 1\] differs from yPred shape \[1, 2, 3, 1\]/);
    expect(() => diceLoss(a, a, { smooth: -1 })).toThrow(/smooth: expected a number >= 0, got -1/);
    tf.dispose([a, b]);
  });
});

it('looks up the fused kernels by the names @sa-unet/tfjs-kernels registers them under', () => {
  expect(FUSED_SOFT_DICE_KERNELS).toEqual(SOFT_DICE_KERNELS);
});

describe.runIf(adapter)('soft Dice on webgpu', () => {
  /** The loss of yPred and dy times its gradient, and the dispatches of both. */
  async function lossAndGradient(yTrue: tf.Tensor, yPred: tf.Variable) {
    await Promise.all([yTrue, yPred].map((t) => t.data()));
    const before = tf.memory().numTensors;
    const { result: { value, grads }, dispatches } = countDispatches(() =>
      tf.variableGrads(() => diceLoss(yTrue, yPred), [yPred]));
    const values = await Promise.all([value, grads[yPred.name]!].map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    return { values, dispatches };
  }

  it('diceLoss and its gradient run on the fused kernels, within 1e-5 of the cpu backend, in 4 dispatches', async () => {
    const shape = [3, 16, 16, 1];
    const t = Float32Array.from(tf.tidy(() => tf.greater(seededUniform(shape, 41), 0.7).dataSync()));
    const p = tf.tidy(() => seededUniform(shape, 42, 0, 1).dataSync() as Float32Array);
    const run = async () => {
      const yTrue = tf.tensor(t, shape);
      const yPred = tf.variable(tf.tensor(p, shape));
      const result = await lossAndGradient(yTrue, yPred);
      tf.dispose([yTrue, yPred]);
      return result;
    };
    await tf.setBackend('cpu');
    const cpu = await run();
    await tf.setBackend('webgpu');
    let gpu: Awaited<ReturnType<typeof run>> | undefined;
    const profile = await tf.profile(async () => {
      gpu = await run();
    });
    const kernels = new Set(profile.kernels.map((k) => k.name));
    for (const name of Object.values(FUSED_SOFT_DICE_KERNELS)) expect(kernels.has(name), name).toBe(true);
    // The two fused kernels (3 dispatches) and 1 - dice (Sub; its gradient, of a scalar still on
    // the CPU, runs there); composed from stock kernels: 23.
    expect(gpu!.dispatches).toBe(4);
    for (const [i, what] of ['loss', 'gradient'].entries()) {
      expect(differenceRelativeToLargest(gpu!.values[i]!, cpu.values[i]!), what).toBeLessThan(1e-5);
    }
    await tf.setBackend('cpu');
  });

  it('more samples than the fused kernels take (65,536) go to the stock kernels, with the same value', async () => {
    const n = 65536;
    const t = Float32Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0);
    const p = Float32Array.from({ length: n }, (_, i) => (i % 7) / 7);
    const dice = async () => {
      const [yTrue, yPred] = [tf.tensor1d(t), tf.tensor1d(p)];
      const value = softDice(yTrue, yPred);
      const result = (await value.data())[0]!;
      tf.dispose([yTrue, yPred, value]);
      return result;
    };
    await tf.setBackend('cpu');
    const cpu = await dice();
    await tf.setBackend('webgpu');
    let gpu = NaN;
    const profile = await tf.profile(async () => {
      gpu = await dice();
    });
    expect(profile.kernels.map((k) => k.name)).not.toContain(FUSED_SOFT_DICE_KERNELS.forward);
    expect(gpu).toBeCloseTo(cpu, 5);
    await tf.setBackend('cpu');
  });
});
