/**
 * The commands that take a saved model read its files (and segment its image) before starting a
 * backend, so a missing model is reported at once, not after seconds of probing for WebGPU.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gray8, writeDataset } from './helpers.js';

const selectBackend = vi.hoisted(() => vi.fn(async () => {
  throw new Error('selectBackend was called before the files were read');
}));
vi.mock('../src/backend.js', async (importOriginal) => ({ ...(await importOriginal<typeof import('../src/backend.js')>()), selectBackend }));

const { runEvaluate, runRecalibrate, runSegment, runSegmentImages, runTrain } = await import('../src/index.js');

let root: string;
let data: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'read-first-'));
  data = await writeDataset(join(root, 'data'), { images: { 'a.png': gray8(8, 8, (x) => x * 30) }, masks: { 'a.png': gray8(8, 8, (x) => (x > 3 ? 1 : 0)) } });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('a missing model is reported before any backend starts', () => {
  it.each<[string, (model: string) => Promise<unknown>]>([
    ['evaluate', (model) => runEvaluate({ model, data, quiet: true, backend: 'webgpu' })],
    ['segment', (model) => runSegment({ model, image: join(data, 'images', 'a.png'), quiet: true, backend: 'webgpu' })],
    ['segment --images', (model) => runSegmentImages({ model, images: data, quiet: true, backend: 'webgpu' })],
    ['recalibrate', (model) => runRecalibrate({ model, images: data, out: join(root, 'out'), quiet: true, backend: 'webgpu' })],
    ['train --init', (model) => runTrain({ model: 'sa-unet', init: model, out: join(root, 'out'), quiet: true, backend: 'webgpu' })],
  ])('%s', async (_, run) => {
    await expect(run(join(root, 'no-model'))).rejects.toThrow(/cannot read .*no-model\/model\.json/);
    expect(selectBackend).not.toHaveBeenCalled();
  });

  it('evaluate and segment --images: a missing data folder too', async () => {
    await tf.setBackend('cpu'); // to save a model to read (selectBackend is the mock here)
    const model = join(root, 'model');
    const input = tfl.input({ shape: [8, 8, 1] });
    await tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(input) as tfl.SymbolicTensor }).save(fileSystem(model));
    await expect(runEvaluate({ model, data: join(root, 'no-data'), quiet: true, backend: 'webgpu' })).rejects.toThrow(/dataset folder .*no-data does not exist/);
    // segment --images lists its folder first (the images are read one by one as they are segmented).
    await expect(runSegmentImages({ model, images: join(root, 'no-data'), quiet: true, backend: 'webgpu' })).rejects.toThrow(/image folder .*no-data does not exist/);
    expect(selectBackend).not.toHaveBeenCalled();
  });
});
