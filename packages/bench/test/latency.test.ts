/** `latency`'s parts: one model's measurement, whose failures are recorded rather than thrown, and the table. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { measureModel, renderLatencyTable, type LatencyJob, type LatencyRow } from '../src/commands/latency.js';
import { multiplyAdds } from '@sa-unet/unet-zoo';
import { buildModel } from '../src/commands/run-model.js';
import { useBackend } from '../../../test-utils/backends.js';

beforeAll(() => useBackend('wasm'));

const job: LatencyJob = { backend: 'wasm', model: 'sa-unet', size: 32, baseFilters: 8, runs: 2, steps: 1 };
const heapFull = () => new WebAssembly.RuntimeError('memory access out of bounds');

/** buildModel, with `sabotage` applied to the model it builds. */
const buildWith = (sabotage: (model: tfl.LayersModel) => void): typeof buildModel => (...args) => {
  const model = buildModel(...args);
  sabotage(model);
  return model;
};

describe('measureModel', () => {
  it('measures inference and Adam steps, leaving no tensors', async () => {
    const before = tf.memory().numTensors;
    const row = await measureModel(job);
    expect(row).toMatchObject({ backend: 'wasm', model: 'sa-unet' });
    expect(row.params).toBeGreaterThan(0);
    const model = buildModel(job.model, { size: job.size, baseFilters: job.baseFilters }, 1);
    expect(row.multiplyAdds).toBe(multiplyAdds(model));
    model.dispose();
    expect(row.inference!.medianMs).toBeGreaterThan(0);
    expect(row.stepMedianMs).toBeGreaterThan(0);
    expect(row.error).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with foldBatchNorm, also times inference of the folded model, leaving no tensors', async () => {
    const before = tf.memory().numTensors;
    const row = await measureModel({ ...job, foldBatchNorm: true });
    expect(row.inference!.medianMs).toBeGreaterThan(0);
    expect(row.foldedInference!.medianMs).toBeGreaterThan(0);
    expect(row.foldedInference!.runs).toBe(job.runs);
    expect(row.error).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
    expect((await measureModel(job)).foldedInference, 'not asked for').toBeUndefined();
  });

  it('with replay (and foldBatchNorm), also times inference replayed, of the folded model too, and Adam steps replayed, leaving no tensors', async () => {
    const before = tf.memory().numTensors;
    const row = await measureModel({ ...job, replay: true, foldBatchNorm: true });
    for (const l of [row.replayedInference, row.foldedReplayedInference]) {
      expect(l!.medianMs).toBeGreaterThan(0);
      expect(l!.runs).toBe(job.runs);
    }
    expect(row.replayedStep!.medianMs).toBeGreaterThan(0);
    expect(row.replayedStep!.p90Ms).toBeGreaterThanOrEqual(row.replayedStep!.medianMs);
    expect(row.error).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
    const replayedOnly = await measureModel({ ...job, replay: true });
    expect(replayedOnly.replayedInference!.medianMs).toBeGreaterThan(0);
    expect(replayedOnly.foldedReplayedInference, 'the folded model not asked for').toBeUndefined();
    const plain = await measureModel(job);
    expect(plain.replayedInference, 'not asked for').toBeUndefined();
    expect(plain.replayedStep, 'not asked for').toBeUndefined();
  });

  it('a step that runs out of memory: inference kept, the step missing, the reason recorded', async () => {
    const before = tf.memory().numTensors;
    const row = await measureModel(job, buildWith((model) => {
      vi.spyOn(model, 'trainOnBatch').mockRejectedValue(heapFull());
    }));
    expect(row.inference!.medianMs).toBeGreaterThan(0);
    expect(row).toMatchObject({ stepMedianMs: null, stepP90Ms: null, stepFirstMs: null });
    expect(row.error).toMatch(/^training of sa_unet.* at 32x32, batch 4, ran out of the backend's memory \(memory access out of bounds\); the wasm backend is limited to 4 GB: use a smaller --size, or --backend webgpu or tensorflow$/);
    expect(row.params).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an inference that fails: neither measured', async () => {
    const row = await measureModel(job, buildWith((model) => {
      vi.spyOn(model, 'predict').mockImplementation(() => {
        throw heapFull();
      });
    }));
    expect(row).toMatchObject({ inference: null, stepMedianMs: null });
    expect(row.error).toMatch(/^inference of sa_unet.* at 32x32, batch 1, ran out of the backend's memory/);
  });
});

describe('renderLatencyTable', () => {
  it('a row per measurement, dashes and a note for what could not be measured', () => {
    const rows: LatencyRow[] = [
      { backend: 'wasm', model: 'unet', params: 8_640_193, inference: { firstMs: 912.4, medianMs: 700.123, p90Ms: 750.5, runs: 3 }, stepMedianMs: 7109.33, stepP90Ms: 7284.31, stepFirstMs: 8001 },
      { backend: 'wasm', model: 'unet-plus-plus', params: 9_163_329, inference: { firstMs: 3000, medianMs: 2400, p90Ms: 2500, runs: 3 }, stepMedianMs: null, stepP90Ms: null, stepFirstMs: null, error: 'ran out of memory' },
      { backend: 'wasm', model: 'multires-unet', params: NaN, inference: null, stepMedianMs: null, stepP90Ms: null, stepFirstMs: null, error: 'the worker thread measuring it stopped (exit code 1)' },
    ];
    expect(renderLatencyTable(rows, { size: 256, baseFilters: 32, modelBaseFilters: { unet: 8, 'sa-unet': 16 }, runs: 3, steps: 1 }).split('\n')[0])
      .toMatch(/^Latency at 256x256x1, base 32 \(unet 8, sa-unet 16\): inference at batch 1/);
    const table = renderLatencyTable(rows, { size: 256, baseFilters: 32, runs: 3, steps: 1 });
    expect(table.split('\n')).toEqual([
      'Latency at 256x256x1, base 32: inference at batch 1 (median / p90 of 3 after warm-up; first call), Adam step at batch 4 (median / p90 of 1; first step)',
      '',
      '| backend | model | parameters | inference ms (median / p90) | first call ms | Adam step ms (median / p90) | first step ms |',
      '|---|---|---:|---:|---:|---:|---:|',
      '| wasm | unet | 8,640,193 | 700.12 / 750.50 | 912 | 7109.3 / 7284.3 | 8001 |',
      '| wasm | unet-plus-plus | 9,163,329 | 2400.00 / 2500.00 | 3000 | - | - |',
      '| wasm | multires-unet | - | - | - | - | - |',
      '',
      '- wasm, unet-plus-plus: Adam step not measured: ran out of memory',
      '- wasm, multires-unet: not measured: the worker thread measuring it stopped (exit code 1)',
      '',
    ]);
  });

  it('with multiply-adds, a column of them in billions after the parameters (a dash where the model was not built)', () => {
    const l = (medianMs: number) => ({ firstMs: 300, medianMs, p90Ms: medianMs + 1, runs: 30 });
    const rows: LatencyRow[] = [
      { backend: 'webgpu', model: 'unet', params: 8_640_193, multiplyAdds: 16_331_000_000, inference: l(8), stepMedianMs: 48.8, stepP90Ms: 50, stepFirstMs: 900 },
      { backend: 'webgpu', model: 'sa-unet', params: 35_503, multiplyAdds: 4_512_345, inference: l(27), stepMedianMs: 206, stepP90Ms: 207, stepFirstMs: 911 },
      { backend: 'webgpu', model: 'sa-unet', params: NaN, multiplyAdds: NaN, inference: null, stepMedianMs: null, stepP90Ms: null, stepFirstMs: null, error: 'the worker thread measuring it stopped (exit code 1)' },
    ];
    const [, , header, rule, first, small, second] = renderLatencyTable(rows, { size: 256, baseFilters: 32, runs: 30, steps: 5 }).split('\n');
    expect(header).toBe('| backend | model | parameters | GMACs per image | inference ms (median / p90) | first call ms | Adam step ms (median / p90) | first step ms |');
    expect(rule).toBe('|---|---|---:|---:|---:|---:|---:|---:|');
    expect(first).toBe('| webgpu | unet | 8,640,193 | 16.3 | 8.00 / 9.00 | 300 | 48.8 / 50.0 | 900 |');
    expect(small, 'three significant digits').toBe('| webgpu | sa-unet | 35,503 | 0.00451 | 27.00 / 28.00 | 300 | 206.0 / 207.0 | 911 |');
    expect(second).toBe('| webgpu | sa-unet | - | - | - | - | - | - |');
  });

  it('with folded inference, a column for it (a dash where it could not be measured)', () => {
    const rows: LatencyRow[] = [
      { backend: 'webgpu', model: 'sa-unet', params: 456_459, inference: { firstMs: 376, medianMs: 15.6, p90Ms: 17.25, runs: 30 }, foldedInference: { firstMs: 300, medianMs: 12.345, p90Ms: 13, runs: 30 }, stepMedianMs: 88.7, stepP90Ms: 90.01, stepFirstMs: 1124 },
      { backend: 'webgpu', model: 'unet', params: 8_640_193, inference: null, foldedInference: null, stepMedianMs: null, stepP90Ms: null, stepFirstMs: null, error: 'device lost' },
    ];
    expect(renderLatencyTable(rows, { size: 256, baseFilters: 32, runs: 30, steps: 5 }).split('\n')).toEqual([
      'Latency at 256x256x1, base 32: inference at batch 1 (median / p90 of 30 after warm-up; first call), Adam step at batch 4 (median / p90 of 5; first step); folded: inference with the batch norms folded into the convolutions before them (foldBatchNorm)',
      '',
      '| backend | model | parameters | inference ms (median / p90) | first call ms | folded ms (median / p90) | Adam step ms (median / p90) | first step ms |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
      '| webgpu | sa-unet | 456,459 | 15.60 / 17.25 | 376 | 12.35 / 13.00 | 88.7 / 90.0 | 1124 |',
      '| webgpu | unet | 8,640,193 | - | - | - | - | - |',
      '',
      '- webgpu, unet: not measured: device lost',
      '',
    ]);
  });

  it('with replayed inference, its columns after the folded one, each named in the caption', () => {
    const l = (medianMs: number) => ({ firstMs: 300, medianMs, p90Ms: medianMs + 1, runs: 30 });
    const rows: LatencyRow[] = [
      { backend: 'webgpu', model: 'unet', params: 8_640_193, inference: l(8), foldedInference: l(4.5), replayedInference: l(4), foldedReplayedInference: l(3.25), stepMedianMs: 48.8, stepP90Ms: 50, stepFirstMs: 900 },
      { backend: 'webgpu', model: 'sa-unet', params: 456_459, inference: l(15.6), foldedInference: l(12), replayedInference: null, foldedReplayedInference: null, stepMedianMs: 88.7, stepP90Ms: 90, stepFirstMs: 1124, error: 'device lost' },
    ];
    const [caption, , header, , first, second] = renderLatencyTable(rows, { size: 256, baseFilters: 32, runs: 30, steps: 5 }).split('\n');
    expect(caption).toMatch(/; folded: .*\(foldBatchNorm\); replayed: inference through replayPredict .*; folded \+ replayed: both$/);
    expect(header).toBe('| backend | model | parameters | inference ms (median / p90) | first call ms | folded ms (median / p90) | replayed ms (median / p90) | ' +
      'folded + replayed ms (median / p90) | Adam step ms (median / p90) | first step ms |');
    expect(first).toBe('| webgpu | unet | 8,640,193 | 8.00 / 9.00 | 300 | 4.50 / 5.50 | 4.00 / 5.00 | 3.25 / 4.25 | 48.8 / 50.0 | 900 |');
    expect(second).toBe('| webgpu | sa-unet | 456,459 | 15.60 / 16.60 | 300 | 12.00 / 13.00 | - | - | 88.7 / 90.0 | 1124 |');
  });

  it('with replayed Adam steps, their column last, named in the caption', () => {
    const l = (medianMs: number) => ({ firstMs: 300, medianMs, p90Ms: medianMs + 1, runs: 30 });
    const rows: LatencyRow[] = [
      { backend: 'webgpu', model: 'unet', params: 8_640_193, inference: l(8), replayedInference: l(4), stepMedianMs: 48.8, stepP90Ms: 50, stepFirstMs: 900, replayedStep: { medianMs: 36.25, p90Ms: 37 } },
      { backend: 'webgpu', model: 'sa-unet', params: 456_459, inference: l(15.6), replayedInference: l(9), stepMedianMs: 88.7, stepP90Ms: 90, stepFirstMs: 1124, replayedStep: null, error: 'device lost' },
    ];
    const [caption, , header, rule, first, second] = renderLatencyTable(rows, { size: 256, baseFilters: 32, runs: 30, steps: 5 }).split('\n');
    expect(caption).toMatch(/; replayed: inference through replayPredict .*; replayed Adam step: through replayTrainStep \(on webgpu its recorded commands\), after four warm-up steps$/);
    expect(header).toBe('| backend | model | parameters | inference ms (median / p90) | first call ms | replayed ms (median / p90) | Adam step ms (median / p90) | first step ms | ' +
      'replayed Adam step ms (median / p90) |');
    expect(rule).toBe('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    expect(first).toBe('| webgpu | unet | 8,640,193 | 8.00 / 9.00 | 300 | 4.00 / 5.00 | 48.8 / 50.0 | 900 | 36.3 / 37.0 |');
    expect(second).toBe('| webgpu | sa-unet | 456,459 | 15.60 / 16.60 | 300 | 9.00 / 10.00 | 88.7 / 90.0 | 1124 | - |');
  });
});
