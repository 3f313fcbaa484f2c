/** --train-images: a seeded subset of the training images, for learning curves; the test set stays as it is. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomDataset, renderMarkdown, resolveRunOptions, runTrain, sampleTraining } from '@sa-unet/bench';
import { loadRunData } from '../src/commands/data.js';
import { checkSameRun, runConfig, runDataOptions } from '../src/commands/resume.js';
import { writeJson } from '../src/output.js';
import { useBackend } from '../../../test-utils/backends.js';
import { model, results } from './helpers.js';

const names = (samples: readonly { name: string }[]) => samples.map((s) => s.name);
const load = (extra: { trainImages?: number; testData?: string; data?: string }) =>
  loadRunData({ ...resolveRunOptions({ size: 16, phantomCount: 12, quiet: true, ...extra }), phantomCount: 12, quiet: true });

let root: string;
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'bench-train-images-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('sampleTraining', () => {
  const train = phantomDataset(20, 16, 4).samples;

  it('keeps count samples, in their order, drawn by the seed', () => {
    const a = sampleTraining(train, 6, 3, 'd');
    expect(a).toHaveLength(6);
    expect(new Set(names(a)).size).toBe(6);
    expect(names(a)).toEqual([...names(a)].sort());
    expect(names(sampleTraining(train, 6, 3, 'd'))).toEqual(names(a));
    expect(names(sampleTraining(train, 6, 4, 'd'))).not.toEqual(names(a));
    expect(names(sampleTraining(train, 20, 3, 'd'))).toEqual(names(train));
  });

  it('nests the subsets of one seed, each holding every smaller one', () => {
    const subsets = [1, 3, 7, 12, 19].map((n) => new Set(names(sampleTraining(train, n, 9, 'd'))));
    for (let i = 1; i < subsets.length; i++) {
      for (const name of subsets[i - 1]) expect(subsets[i].has(name), `${name} of the ${subsets[i - 1].size} in the ${subsets[i].size}`).toBe(true);
    }
  });

  it.each([[21, /--train-images 21: there are only 20 training images \(of phantom-x\); give at most 20/], [0, /--train-images must be an integer >= 1, got 0/],
    [2.5, /--train-images must be an integer >= 1, got 2.5/]])('%s images: an error naming the flag and the limit', (count, message) => {
    expect(() => sampleTraining(train, count, 1, 'phantom-x')).toThrow(message);
  });
});

describe('the run\'s data with --train-images', () => {
  it('trains on the subset, tests on the same images as without it', async () => {
    const all = await load({});
    const some = await load({ trainImages: 4 });
    expect(some.trainAvailable).toBe(all.split.train.length);
    expect(all.trainAvailable).toBe(all.split.train.length);
    expect(some.split.train).toHaveLength(4);
    expect(names(some.split.test)).toEqual(names(all.split.test));
    for (const name of names(some.split.train)) expect(names(all.split.train)).toContain(name);
  });

  it('asks for no more images than the split left for training', async () => {
    await expect(load({ trainImages: 11 })).rejects.toThrow(/--train-images 11: there are only 10 training images \(of phantom\(count=12, seed=1\)\); give at most 10/);
  });

  it('is checked as a flag value', () => {
    expect(() => resolveRunOptions({ trainImages: 0 })).toThrow('--train-images must be an integer >= 1, got 0');
    expect(resolveRunOptions({}).trainImages).toBeUndefined();
  });

  it('is part of what a resumed run must share; a config written before the flag counts as all images', async () => {
    const config = runConfig(resolveRunOptions({ models: 'unet' }), 'compare', 'wasm');
    expect(config.trainImages).toBeNull();
    const { trainImages: _, ...older } = config;
    const path = join(root, 'older-config.json');
    await writeJson(path, older);
    await expect(checkSameRun(path, config, '--resume')).resolves.toBeUndefined();
    const subset = runConfig(resolveRunOptions({ models: 'unet', trainImages: 30 }), 'compare', 'wasm');
    await expect(checkSameRun(path, subset, '--resume')).rejects.toThrow(/--resume: .*older-config\.json was written with other options/);
  });

  it('a config gives back the data options it was written from, unset ones absent (not null)', () => {
    for (const flags of [{ models: 'unet' }, { models: 'unet', trainImages: 30, data: 'some/folder', label: 2, seed: 5 }]) {
      const options = resolveRunOptions(flags);
      const back = runDataOptions(runConfig(options, 'compare', 'wasm'));
      const { size, phantomCount, testFraction, seed, data, testData, label, trainImages } = options;
      expect(back).toEqual({ size, phantomCount, testFraction, seed, data, testData, label, trainImages });
    }
  });

  it('the table says how many of the training images were used', () => {
    const r = results([model('unet', [[0.5]])], 1);
    expect(renderMarkdown(r)).toContain('; 8 training images and 2 test images');
    const subset = { ...r, config: { ...r.config, trainImages: 3 }, dataset: { ...r.dataset, train: 3 } };
    expect(renderMarkdown(subset)).toContain('; 3 of the 8 training images (--train-images: a seeded subset; not the paper\'s protocol) and 2 test images');
  });

  it('train records the subset it trained on', async () => {
    const dir = join(root, 'subset');
    await runTrain({ model: 'unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, backend: 'wasm', out: dir, trainImages: 2 });
    const log = JSON.parse(await readFile(join(dir, 'training.json'), 'utf8'));
    expect(log).toMatchObject({ train: 2, trainAvailable: 5, test: 1 });
    expect(log.options.trainImages).toBe(2);
  }, 120_000);
});
