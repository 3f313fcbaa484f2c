/**
 * compare --dpi / --mm-per-pixel: each model's predicted cross-sectional areas against the masks',
 * per repeat and over repeats, in results.json, table.md and table.csv; nothing of it without a
 * pixel size.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '@sa-unet/seg-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AREA_AGGREGATED, areaAgreement, loadSavedModel, phantomDataset, predictSamples, renderCsv, renderMarkdown, resolveRunOptions, runCompare, runTrain,
  type AreaMetric, type CompareResults, type ModelResult,
} from '@sa-unet/bench';
import { useBackend } from '../../../test-utils/backends.js';
import { model, results } from './helpers.js';

/** `model(name)` with area metrics per repeat: each key's values over the repeats. */
function withAreas(m: ModelResult, perRepeat: Record<AreaMetric, number[]>): ModelResult {
  const repeats = m.repeats.map((rep, i) => ({
    ...rep, metrics: { ...rep.metrics, ...Object.fromEntries(AREA_AGGREGATED.map((k) => [k, perRepeat[k][i]])) },
  }));
  return { ...m, repeats, areaAggregate: Object.fromEntries(AREA_AGGREGATED.map((k) => [k, summarize(perRepeat[k])])) as ModelResult['areaAggregate'] };
}

describe('the area table', () => {
  const unet = withAreas(model('unet', [[0.5], [0.5]]), {
    areaMaskMm2: [9, 9], areaPredictedMm2: [10, 12], areaBiasMm2: [1, 3], areaLowerLimitMm2: [-2, -4], areaUpperLimitMm2: [4, 10],
    areaAbsoluteErrorMm2: [2, 4], areaRelativeError: [0.2, 0.4],
  });
  const withPixelSize = (r: CompareResults): CompareResults => ({ ...r, config: { ...r.config, pixelSize: { dpi: 150 } } });

  it('gives each model\'s predicted area, bias, limits of agreement and errors, mean ± SD over repeats (known values)', () => {
    const md = renderMarkdown(withPixelSize(results([unet], 8)));
    expect(md).toContain('## Cross-sectional area (mm²)\n\n| model | predicted area | bias (prediction − mask) | 95% limits of agreement | absolute error | relative error |');
    expect(md).toContain('| U-Net | 11.00 ± 1.41 | +2.00 ± 1.41 | −3.00 to +7.00 | 3.00 ± 1.41 | 30.00% ± 14.14 |\n');
    expect(md).toContain('Areas at 150 dpi of the original images: ');
    expect(md).toContain('the test masks\' mean area 9.00 mm².');
    const one = withAreas(model('unet', [[0.5]]), {
      areaMaskMm2: [9], areaPredictedMm2: [8.5], areaBiasMm2: [-0.5], areaLowerLimitMm2: [-2.25], areaUpperLimitMm2: [1.25],
      areaAbsoluteErrorMm2: [1], areaRelativeError: [0.125],
    });
    expect(renderMarkdown(withPixelSize(results([one], 8)))).toContain('| U-Net | 8.50 | −0.50 | −2.25 to +1.25 | 1.00 | 12.50% |\n');
    const [header, row] = renderCsv(withPixelSize(results([unet], 8))).trim().split('\n').map((line) => line.split(','));
    expect(header.slice(-2 * AREA_AGGREGATED.length)).toEqual(AREA_AGGREGATED.flatMap((k) => [`${k}_mean`, `${k}_sd`]));
    expect(Number(row[header.indexOf('areaBiasMm2_mean')])).toBe(2);
    expect(Number(row[header.indexOf('areaBiasMm2_sd')])).toBeCloseTo(Math.SQRT2, 12);
    expect(Number(row[header.indexOf('areaUpperLimitMm2_mean')])).toBe(7);
  });

  it('is left out, with its CSV columns, where the run had no pixel size', () => {
    const r = results([model('unet', [[0.5]])], 8);
    expect(renderMarkdown(r)).not.toContain('Cross-sectional area');
    expect(renderCsv(r).split('\n')[0]).not.toContain('area');
  });
});

describe('compare with a pixel size', () => {
  let root: string;
  let results: CompareResults;
  const common = { models: 'unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, testFraction: 0.5, quiet: true, workers: 1, backend: 'wasm' } as const;

  beforeAll(async () => {
    await useBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'bench-areas-'));
    ({ results } = await runCompare({ ...common, mmPerPixel: 0.1, out: join(root, 'run') }));
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('measures the test images\' areas with the checkpoint\'s predictions at that pixel size, and records it', async () => {
    expect(results.config.pixelSize).toEqual({ spacingMm: [0.1, 0.1] });
    const metrics = results.models[0].repeats[0].metrics;
    // The phantom's originals are the model's size: each pixel 0.01 mm².
    const test = phantomDataset(6, 32, 1).samples.filter((s) => results.dataset.testNames.includes(s.name));
    expect(test).toHaveLength(3);
    const { model: saved } = await loadSavedModel(join(root, 'run', results.models[0].repeats[0].checkpoint));
    const maps = await predictSamples(saved, test, 32);
    saved.dispose();
    const expected = areaAgreement(maps, test, 32, { spacingMm: [0.1, 0.1] });
    expect(metrics.areaMaskMm2).toBeCloseTo(test.reduce((n, s) => n + s.mask.reduce((a, v) => a + v, 0), 0) * 0.01 / 3, 9);
    expect(metrics.areaPredictedMm2).toBeCloseTo(summarize(expected.predictedMm2).mean, 9);
    expect(metrics.areaBiasMm2).toBeCloseTo(expected.differenceMm2.mean, 9);
    expect([metrics.areaLowerLimitMm2, metrics.areaUpperLimitMm2]).toEqual(expected.limitsOfAgreementMm2);
    expect(metrics.areaAbsoluteErrorMm2).toBeCloseTo(expected.absoluteErrorMm2.mean, 9);
    expect(metrics.areaRelativeError).toBeCloseTo(expected.relativeError.mean, 9);
    expect(results.models[0].areaAggregate!.areaBiasMm2).toMatchObject({ mean: metrics.areaBiasMm2, count: 1 });
    expect(JSON.parse(await readFile(join(root, 'run', 'config.json'), 'utf8')).pixelSize).toEqual({ spacingMm: [0.1, 0.1] });
    expect(await readFile(join(root, 'run', 'table.md'), 'utf8')).toContain('Areas at 0.1 mm per pixel of the original images');
    expect((await readFile(join(root, 'run', 'table.csv'), 'utf8')).split('\n')[0]).toContain('areaBiasMm2_mean');
    const rows = (await readFile(join(root, 'run', 'images.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
    expect(rows.map((row) => row[2])).toEqual(['image', ...results.dataset.testNames]);
    expect(rows.slice(1).map((row) => Number(row[rows[0].indexOf('predicted_mm2')]))).toEqual(expected.predictedMm2);
  });

  it('train measures the held-out images\' areas too, in training.json', async () => {
    const out = join(root, 'trained');
    await runTrain({ model: 'sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, testFraction: 0.5, quiet: true, backend: 'wasm', out, dpi: 254 });
    const log = JSON.parse(await readFile(join(out, 'training.json'), 'utf8'));
    expect(log.options.pixelSize).toEqual({ dpi: 254 });
    // 254 dpi: 0.1 mm pixels, as the compare run's; the same test images, so the same mask area.
    expect(log.metrics.areaMaskMm2).toBeCloseTo(results.models[0].repeats[0].metrics.areaMaskMm2!, 9);
    expect(log.metrics.areaBiasMm2).toBeCloseTo(log.metrics.areaPredictedMm2 - log.metrics.areaMaskMm2, 9);
  });

  it('refuses both pixel sizes at once and bad values, naming the flag, before any work', async () => {
    expect(() => resolveRunOptions({ dpi: 96, mmPerPixel: 0.1 })).toThrow('give --dpi or --mm-per-pixel, not both');
    expect(() => resolveRunOptions({ dpi: 0 })).toThrow('--dpi must be a number > 0, got 0');
    expect(() => resolveRunOptions({ mmPerPixel: Number.NaN })).toThrow('--mm-per-pixel must be a number > 0, got null');
    expect(resolveRunOptions({ dpi: 150 }).pixelSize).toEqual({ dpi: 150 });
    expect(resolveRunOptions({}).pixelSize).toBeUndefined();
    await expect(runCompare({ ...common, dpi: -1, out: join(root, 'refused') })).rejects.toThrow('--dpi must be a number > 0, got -1');
  });
});
