import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { diceLoss, softDice } from '@sa-unet/seg-metrics';
import { withSeed } from '../../../test-utils/numeric.js';

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
