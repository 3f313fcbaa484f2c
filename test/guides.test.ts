/** The code of the docs guides: every example they include runs here, so samples cannot rot. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test-utils/backends.js';
import { withSeed } from '../test-utils/numeric.js';
import { measuredReceptiveField } from '../examples/layer-receptive-field.js';
import { scoreNerve } from '../examples/metrics.js';
import { nerveAndVesselModel } from '../examples/zoo-headless.js';
import { createModel } from '@sa-unet/unet-zoo';

const root = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => useBackend('cpu'));

describe('guides', () => {
  it('include only example files that exist, and every example is run by a test', async () => {
    const guides = join(root, 'docs', 'guides');
    const included = new Set<string>();
    for (const file of await readdir(guides)) {
      if (!file.endsWith('.md')) continue;
      const text = await readFile(join(guides, file), 'utf8');
      for (const m of text.matchAll(/\{@includeCode ([^}#\s]+)/g)) included.add(join(guides, m[1]));
    }
    expect(included.size).toBeGreaterThanOrEqual(5);
    // The browser-training example runs in the kernels' browser test page.
    const runners = ['test/guides.test.ts', 'test/examples.test.ts', 'packages/tfjs-kernels/test/browser/page.ts'];
    const tests = (await Promise.all(runners.map((f) => readFile(join(root, f), 'utf8')))).join('\n');
    for (const file of included) {
      await expect(readFile(file, 'utf8'), file).resolves.toBeTruthy();
      const name = file.slice(join(root, 'examples').length + 1).replace(/\.ts$/, '');
      expect(tests, `${name} is imported by a test`).toContain(`/examples/${name}.js'`);
    }
  });

  it('layer-receptive-field: N scales see 2N-1 pixels (dilation d: 2(N-1)d+1)', async () => {
    expect(await measuredReceptiveField(1)).toBe(1);
    expect(await measuredReceptiveField(4)).toBe(7);
    expect(await measuredReceptiveField(3, 2)).toBe(9);
  });

  it('metrics: the scores of a prediction', () => {
    const truth = { data: Array.from({ length: 64 }, (_, i) => (i % 8 >= 2 && i % 8 < 6 && i >= 16 && i < 48 ? 1 : 0)), width: 8, height: 8 };
    const probabilities = { data: truth.data.map((v, i) => (v ? 0.9 : i % 7 === 0 ? 0.6 : 0.1)), width: 8, height: 8 };
    const s = scoreNerve(probabilities, truth);
    expect(s.dice).toBeGreaterThan(0.7);
    expect(s.dice).toBeLessThan(1);
    expect(s.auc).toBe(1);
    expect(s.areaMm2).toBeCloseTo((16 + 8) * (25.4 / 150) ** 2, 0);
    expect(s.summary.mean).toBeCloseTo(s.dice, 12);
  });

  it('zoo-headless: a three-class head on the SA-U-Net base', async () => {
    const model = nerveAndVesselModel(32);
    expect(model.outputs[0].shape).toEqual([null, 32, 32, 3]);
    const y = model.predict(tf.zeros([1, 32, 32, 1])) as tf.Tensor;
    const sums = await tf.sum(y, -1).data();
    expect(Math.abs(sums[0] - 1)).toBeLessThan(1e-5);
    tf.dispose(y);
  });

  it('webgpu-setup: picks webgpu where an adapter exists, else wasm', async () => {
    const { useGpuIfPresent } = await import('../examples/webgpu-setup.js');
    const backend = await useGpuIfPresent();
    expect(['webgpu', 'wasm']).toContain(backend);
    expect(tf.getBackend()).toBe(backend);
  });

  it('fast-training: the losses and weights of trainOnBatch, bit for bit, replayed on webgpu', async () => {
    const { useGpuIfPresent } = await import('../examples/webgpu-setup.js');
    const { trainFast } = await import('../examples/fast-training.js');
    const { fusedAdam } = await import('@sa-unet/tfjs-kernels');
    const { diceLoss } = await import('@sa-unet/seg-metrics');
    const backend = await useGpuIfPresent();
    const [fast, reference] = [0, 1].map(() => withSeed(4, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 })));
    const batches = [1, 2].map((seed) => {
      const images = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
      return [images, tf.tidy(() => tf.cast(tf.greater(images, 0.7), 'float32')) as tf.Tensor4D] as [tf.Tensor4D, tf.Tensor4D];
    });
    const losses = await trainFast(fast!, batches, 3); // six steps: the last three replayed on webgpu
    reference!.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
    const expected: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      let sum = 0;
      for (const [images, masks] of batches) sum += await reference!.trainOnBatch(images, masks) as number;
      expected.push(sum / batches.length);
    }
    expect(losses).toEqual(expected);
    const weights = (m: tfl.LayersModel) => Promise.all(m.getWeights().map(async (w) => Array.from(await w.data())));
    expect(await weights(fast!)).toEqual(await weights(reference!));
    tf.dispose(batches.flat());
    for (const m of [fast!, reference!]) {
      m.optimizer.dispose();
      m.dispose();
    }
    expect(['webgpu', 'wasm']).toContain(backend);
  });

  it('fast-inference: the model\'s predictions (within float32 rounding of the folded batch norms), replayed on webgpu', async () => {
    const { useGpuIfPresent } = await import('../examples/webgpu-setup.js');
    const { fastSegmenter } = await import('../examples/fast-inference.js');
    const backend = await useGpuIfPresent();
    const model = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 });
    const segmenter = fastSegmenter(model);
    for (let seed = 1; seed <= 4; seed++) {
      const image = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
      const [fast, reference] = [segmenter.segment(image), model.predict(image) as tf.Tensor];
      const [a, b] = await Promise.all([fast.data(), reference.data()]);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-4);
      tf.dispose([image, fast, reference]);
    }
    segmenter.dispose();
    model.dispose();
    expect(['webgpu', 'wasm']).toContain(backend);
  });
});
