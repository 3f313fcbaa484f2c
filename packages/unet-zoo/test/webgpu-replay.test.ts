/**
 * Every zoo network's forward pass replayed on webgpu (replayPredict of @sa-unet/tfjs-kernels), as
 * built and with its batch norms folded: the model's own predictions bit for bit, the same
 * dispatches, no tensors left. And every network's training step replayed (replayTrainStep): the
 * losses, weights, batch-norm statistics and optimizer state of trainOnBatch bit for bit (the zoo's
 * batch norm keeps its moving averages in their storage, so the step replays), U-Net++ with deep
 * supervision's several heads and targets too. SA-U-Net's layers run the package's own kernels (channel
 * attention, separable stages), recorded like tfjs's. On Dawn (in CI on Mesa's lavapipe); skipped
 * with a message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedAdam, registerTrainingKernels, replayPredict, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { createModel, foldBatchNorm, MODEL_NAMES } from '@sa-unet/unet-zoo';
import { withSeed } from '../../../test-utils/numeric.js';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { trainingState } from '../../../test-utils/models.js';

const adapter = await nodeWebGPU('the zoo replay tests');

describe.runIf(adapter)('zoo networks replayed on webgpu', () => {
  beforeAll(async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
  });
  afterAll(async () => {
    tf.disposeVariables();
    await tf.setBackend('cpu');
  });

  /** Replays of `model` give its predictions for three images, in the same dispatches, leaving no tensor. */
  async function expectReplayed(model: tfl.LayersModel): Promise<void> {
    const replay = replayPredict(model);
    const xs = [1, 2, 3].map((seed) => tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', seed));
    const read = async (t: tf.Tensor | tf.Tensor[]) => {
      const y = t as tf.Tensor;
      const v = Array.from(await y.data());
      y.dispose();
      return v;
    };
    for (let i = 0; i < 2; i++) await read(replay.run(xs[0]!)); // a first call, then the recording
    const before = tf.memory().numTensors;
    for (const x of xs) expect(await read(replay.run(x))).toEqual(await read(model.predict(x)));
    expect(tf.memory().numTensors).toBe(before);
    const predicted = countDispatches(() => model.predict(xs[0]!) as tf.Tensor);
    const replayed = countDispatches(() => replay.run(xs[0]!) as tf.Tensor);
    expect(replayed.dispatches).toBe(predicted.dispatches);
    expect(replay.counts).toMatchObject({ recordings: 1, replays: 4 });
    tf.dispose([predicted.result, replayed.result, ...xs]);
    replay.dispose();
  }

  it.each(MODEL_NAMES)('%s: a training step replayed gives trainOnBatch\'s losses, weights, statistics and optimizer state bit for bit', async (name) => {
    const [a, b] = [0, 1].map(() => withSeed(5, () => createModel(name, { inputShape: [16, 16, 1], baseFilters: 4, depth: 2, batchNormMomentum: 0.5 })));
    for (const m of [a!, b!]) m.compile({ optimizer: fusedAdam(0.01), loss: 'meanSquaredError' });
    const step = replayTrainStep(b!);
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 6);
    const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 7), 0.8), 'float32'));
    let before = 0;
    for (let i = 0; i < 6; i++) {
      if (i === 4) before = tf.memory().numTensors;
      const expected = await a!.trainOnBatch(x, y) as number;
      const [loss] = step.run(x, y) as tf.Tensor[];
      expect(Array.from(await loss!.data())).toEqual([expected]);
      loss!.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(step.counts).toMatchObject({ recordings: 1, replays: 3 });
    expect(await trainingState(b!)).toEqual(await trainingState(a!));
    tf.dispose([x, y]);
    step.dispose();
    for (const m of [a!, b!]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });

  it('U-Net++ with deep supervision (depth 3: three heads): a step of three outputs and targets replayed gives trainOnBatch\'s losses bit for bit', async () => {
    const [a, b] = [0, 1].map(() => withSeed(6, () => createModel('unet-plus-plus', { inputShape: [16, 16, 1], baseFilters: 4, depth: 3, deepSupervision: true })));
    for (const m of [a!, b!]) m.compile({ optimizer: fusedAdam(0.01), loss: 'meanSquaredError' });
    expect(a!.outputs).toHaveLength(3);
    const step = replayTrainStep(b!);
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 8);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.6), 'float32'));
    const targets = a!.outputs.map(() => y);
    for (let i = 0; i < 5; i++) {
      const expected = await a!.trainOnBatch(x, targets) as number[];
      const losses = step.run(x, ...targets) as tf.Tensor[];
      expect(await Promise.all(losses.map(async (t) => (await t.data())[0]))).toEqual(expected); // the total, then each output's
      tf.dispose(losses);
    }
    expect(step.counts).toMatchObject({ recordings: 1, replays: 2 });
    tf.dispose([x, y]);
    step.dispose();
    for (const m of [a!, b!]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });

  it.each(MODEL_NAMES)('%s, as built and folded', async (name) => {
    const model = withSeed(3, () => createModel(name, { inputShape: [16, 16, 1], baseFilters: 4, depth: 2 }));
    await expectReplayed(model);
    const folded = foldBatchNorm(model).model;
    await expectReplayed(folded);
    folded.dispose();
    model.dispose();
  });
});
