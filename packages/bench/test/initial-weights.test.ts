/** train --init: a saved model's weights replace the seeded initialisation, or a clear error says why they cannot. */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type ModelName } from '@sa-unet/unet-zoo';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/commands/run-model.js';
import { copyWeights } from '../src/train/initial-weights.js';
import { useBackend } from '../../../test-utils/backends.js';

beforeAll(() => useBackend('wasm'));

const build = (name: ModelName, size: number, baseFilters: number, seed: number) => buildModel(name, { size, baseFilters }, seed);

describe('copyWeights', () => {
  it('gives the new model every weight of the saved one, across input sizes, and leaks nothing', async () => {
    const saved = build('sa-unet', 32, 4, 1);
    const fresh = build('sa-unet', 48, 4, 2);
    const before = tf.memory().numTensors;
    expect(await fresh.weights[0].read().data()).not.toEqual(await saved.weights[0].read().data());
    copyWeights(saved, fresh, 'saved');
    expect(fresh.weights).toHaveLength(saved.weights.length);
    for (const [i, w] of fresh.weights.entries()) {
      expect(await w.read().data(), w.originalName).toEqual(await saved.weights[i].read().data());
    }
    expect(tf.memory().numTensors).toBe(before);
    saved.dispose();
    fresh.dispose();
  });

  it.each([
    ['another architecture', () => build('unet', 32, 4, 1),
      /^--init m is not a model of this architecture: its weight 1 of \d+ is "unet_.*", the new model's \(\d+ weights\) is "sa_unet_.*"; give the --model it was trained as$/],
    ['another base width', () => build('sa-unet', 32, 8, 1),
      /^--init m: weight "sa_unet_enc0_1_conv\/stage1_kernel" has shape \[1, 1, 1, 2\] there, \[1, 1, 1, 1\] in the new model; give the --base-filters it was trained with$/],
  ])('refuses a saved model of %s, naming the weight', (_case, makeSaved, message) => {
    const saved = makeSaved();
    const fresh = build('sa-unet', 32, 4, 2);
    const first = fresh.weights[0].read().dataSync().slice();
    expect(() => copyWeights(saved, fresh, '--init m')).toThrow(message);
    expect(fresh.weights[0].read().dataSync()).toEqual(first);
    saved.dispose();
    fresh.dispose();
  });

  it('names a weight the saved model lacks', () => {
    const saved = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 3 });
    const fresh = build('sa-unet', 32, 4, 2);
    expect(() => copyWeights(saved, fresh, '--init m')).toThrow(/^--init m is not a model of this architecture: its weight \d+ of \d+ is /);
    saved.dispose();
    fresh.dispose();
  });
});
