/** A tiny end-to-end comparison, then train, evaluate, latency and params on its outputs. */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { decode } from 'fast-png';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMarkdown, runCompare, runEvaluate, runPaired, runLatency, runParams, runRecalibrate, runSegment, runSegmentImages, runTrain, phantomDataset, segmentationCsv, type CompareResults } from '@sa-unet/bench';
import { useBackend } from '../../../test-utils/backends.js';
import { exifBlock, gray8, withPngExif, writeDataset } from './helpers.js';

let root: string;
let out: string;
let results: CompareResults;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'bench-e2e-'));
  out = join(root, 'run');
  ({ results } = await runCompare({
    models: 'unet,sa-unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out, quiet: true, workers: 1, backend: 'wasm',
  }));
}, 300_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('compare (two models, 64x64, one epoch, synthetic)', () => {
  it('writes every output file, and nothing partial', async () => {
    expect((await readdir(out)).sort()).toEqual(['checkpoints', 'config.json', 'images.csv', 'loss.svg', 'overlays', 'results.json', 'roc.svg', 'runs', 'table.csv', 'table.md']);
    expect((await readdir(root)).sort()).toEqual(['run']);
    expect((await readdir(join(out, 'checkpoints', 'sa-unet', 'repeat-1'))).sort()).toEqual(['model.json', 'weights.bin']);
    const overlays = (await readdir(join(out, 'overlays'))).sort();
    expect(overlays).toEqual(results.dataset.testNames.flatMap((n) => [`sa-unet-${n}.png`]).concat(results.dataset.testNames.map((n) => `unet-${n}.png`)).sort());
  });

  it('results.json holds both models with finite metrics, parameters and latency', async () => {
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(saved.models.map((m: { model: string }) => m.model)).toEqual(['unet', 'sa-unet']);
    expect(results.dataset).toMatchObject({ size: 64, train: 5, test: 1 });
    for (const m of results.models) {
      expect(m.params).toBeGreaterThan(1000);
      expect(m.repeats).toHaveLength(1);
      expect(m.repeats[0].epochLosses).toHaveLength(1);
      expect(m.repeats[0].metrics.pixelAucMicro).toBeGreaterThanOrEqual(0);
      expect(m.repeats[0].metrics.pixelAucMicro).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.repeats[0].metrics.hausdorff)).toBe(true);
      const { surfaceDice } = m.repeats[0].metrics; // the one test image's (its nerve is never empty)
      expect(surfaceDice >= 0 && surfaceDice <= 1, `surface Dice ${surfaceDice}`).toBe(true);
      expect(m.aggregate.surfaceDice.mean).toBe(surfaceDice);
      expect(m.inference.medianMs).toBeGreaterThan(0);
    }
    expect(results.config).toMatchObject({ preset: 'quick', size: 64, epochs: 1, baseFilters: 8, models: ['unet', 'sa-unet'], backend: 'wasm' });
  });

  it('the tables have the paper\'s shapes and numbers; the figures are real files', async () => {
    const md = await readFile(join(out, 'table.md'), 'utf8');
    expect(md).toContain('## Table 2');
    expect(md).toContain('## Table 3');
    expect(md).toContain('| SA-U-Net (proposed) | 0.');
    expect(md).toContain('0.923 / 5.158'); // the paper's SA-U-Net, HM70A wrist
    expect(md).toContain(`, 1 epoch, 1 repeat with seed ${results.config.seed + 1};`);
    const three = renderMarkdown({ ...results, config: { ...results.config, epochs: 8, repeats: 3 } });
    expect(three).toContain(`, 8 epochs, 3 repeats with seeds ${results.config.seed + 1}..${results.config.seed + 3};`);
    const csv = (await readFile(join(out, 'table.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(3);
    // images.csv: each model's test image, named, whose DSC is the repeat's (one test image).
    const images = (await readFile(join(out, 'images.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
    expect(images.map((row) => row.slice(0, 3))).toEqual([['model', 'repeat', 'image'], ['unet', '1', results.dataset.testNames[0]], ['sa-unet', '1', results.dataset.testNames[0]]]);
    const diceAt = images[0].indexOf('dice');
    expect(images.slice(1).map((row) => Number(row[diceAt]))).toEqual(results.models.map((m) => m.repeats[0].metrics.dice));
    expect(csv[0].split(',')).toEqual(expect.arrayContaining(['dice_mean', 'surfaceDice_mean', 'surfaceDice_sd']));
    const svg = await readFile(join(out, 'roc.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    // The legend's visible labels, not only its aria-label, name each model with its AUC.
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    const auc = (m: string) => results.models.find((r) => r.model === m)!.repeats[0]!.metrics.pixelAucMicro.toFixed(4);
    expect(labels).toEqual(expect.arrayContaining([`U-Net (AUC ${auc('unet')})`, `SA-U-Net (proposed) (AUC ${auc('sa-unet')})`]));
    const loss = await readFile(join(out, 'loss.svg'), 'utf8');
    expect([...loss.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).toEqual(expect.arrayContaining(['U-Net', 'SA-U-Net (proposed)']));
    expect(md).toMatch(new RegExp(`\\| U-Net \\|.*\\| ${results.models[0].repeats[0].epochLosses[0].toFixed(3)} \\|\n`));
    const png = decode(await readFile(join(out, 'overlays', `unet-${results.dataset.testNames[0]}.png`)));
    expect(png).toMatchObject({ width: 256, height: 256, channels: 3 });
    let green = 0;
    for (let i = 0; i < png.data.length; i += 3) if (png.data[i] === 0 && png.data[i + 1] === 255 && png.data[i + 2] === 0) green++;
    expect(green).toBeGreaterThan(0); // the ground-truth contour
  });

  it('never overwrites a results folder', async () => {
    await expect(runCompare({ models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 4, out, quiet: true, workers: 1, backend: 'wasm' }))
      .rejects.toThrow(/results folder .* already exists; choose another --out/);
    // --resume on a finished folder names the way to add to it.
    await expect(runCompare({ models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 4, out, quiet: true, workers: 1, backend: 'wasm', resume: true }))
      .rejects.toThrow(/^--resume: results folder .* is a finished run; --resume continues only an interrupted one .*To add repeats or models to it, give --extend .* and a new --out\.$/);
  });

  it('--resume skips the runs an interrupted session finished', async () => {
    const resumedOut = join(root, 'resumed');
    const partial = `${resumedOut}.partial`;
    // An interrupted run: its partial folder has unet's record (copied from the finished run).
    await runCompare({ models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'first'), quiet: true, workers: 1, backend: 'wasm' });
    await cp(join(root, 'first'), partial, { recursive: true });
    await rm(join(partial, 'results.json'));
    // Written by a version from before --recalibrate-bn, --no-channel-attention, --foreground-prior,
    // compare's --dpi and widths per model (which never recalibrated, always had the attention,
    // started at a zero bias, measured no areas and built every model at one width): resumes as it is.
    const { recalibrateBatchNorm: _, channelAttention: __, foregroundPrior: ___, pixelSize: ____, modelBaseFilters: _____, ...older } =
      JSON.parse(await readFile(join(partial, 'config.json'), 'utf8'));
    await writeFile(join(partial, 'config.json'), JSON.stringify(older));
    // Marked, so that the results show whether the record was taken over or the run trained again
    // (a rerun gives the same metrics: training is deterministic).
    const record = join(partial, 'runs', 'unet-repeat-1.json');
    await writeFile(record, JSON.stringify({ ...JSON.parse(await readFile(record, 'utf8')), epochSeconds: [-1] }));
    const { results: resumed } = await runCompare({
      models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: resumedOut, quiet: true, workers: 1, backend: 'wasm', resume: true,
    });
    const first = JSON.parse(await readFile(join(root, 'first', 'results.json'), 'utf8')) as CompareResults;
    expect(resumed.models[0].repeats[0].metrics.dice).toBe(first.models[0].repeats[0].metrics.dice);
    expect(resumed.models[0].repeats[0].epochSeconds).toEqual([-1]);
    // Other options than the interrupted run's are refused.
    await cp(join(root, 'first'), `${join(root, 'other')}.partial`, { recursive: true });
    await expect(runCompare({ models: 'unet', size: 64, epochs: 2, baseFilters: 8, phantomCount: 6, out: join(root, 'other'), quiet: true, workers: 1, backend: 'wasm', resume: true }))
      .rejects.toThrow(/--resume: .*config\.json was written with other options/);
    await cp(join(root, 'first'), `${join(root, 'other-bn')}.partial`, { recursive: true });
    await expect(runCompare({
      models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'other-bn'), quiet: true, workers: 1, backend: 'wasm', resume: true,
      recalibrateBatchNorm: true,
    })).rejects.toThrow(/--resume: .*config\.json was written with other options/);
    await cp(join(root, 'first'), `${join(root, 'other-attention')}.partial`, { recursive: true });
    await expect(runCompare({
      models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'other-attention'), quiet: true, workers: 1, backend: 'wasm', resume: true,
      channelAttention: false,
    })).rejects.toThrow(/--resume: .*config\.json was written with other options/);
    // The records hold areas measured at one pixel size: a run without areas is not continued with them.
    await cp(join(root, 'first'), `${join(root, 'other-pixel-size')}.partial`, { recursive: true });
    await expect(runCompare({
      models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'other-pixel-size'), quiet: true, workers: 1, backend: 'wasm', resume: true,
      mmPerPixel: 0.1,
    })).rejects.toThrow(/--resume: .*config\.json was written with other options/);
  }, 120_000);

  it('--extend adds repeats to a finished comparison in a new folder, keeping its runs and leaving it as it was', async () => {
    const common = { size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, workers: 1, backend: 'wasm' } as const;
    const listing = async (dir: string) => (await readdir(dir, { recursive: true })).sort();
    const before = { files: await listing(out), results: await readFile(join(out, 'results.json'), 'utf8') };
    const extended = join(root, 'extended');
    const { results: more } = await runCompare({ ...common, models: 'unet,sa-unet', repeats: 2, extend: out, out: extended });
    expect(more.models.map((m) => m.repeats.map((r) => r.repeat))).toEqual([[1, 2], [1, 2]]);
    // Repeat 1 is the finished run's record (its own timings: not trained again); repeat 2 is new.
    for (const [i, model] of more.models.entries()) {
      const { epochSeconds, epochLosses, metrics } = results.models[i].repeats[0];
      expect(model.repeats[0]).toMatchObject({ epochSeconds, epochLosses, metrics: { dice: metrics.dice } });
      expect(model.repeats[1].epochLosses).not.toEqual(model.repeats[0].epochLosses);
    }
    expect(more.config).toMatchObject({ models: ['unet', 'sa-unet'], repeats: 2 });
    // Two repeats of each: SA-U-Net against U-Net, paired by repeat, in results.json and table.md.
    expect(more.paired?.map((c) => [c.model, c.metric, c.difference.count])).toEqual([['unet', 'dice', 2], ['unet', 'hausdorff', 2]]);
    const unetDice = more.models[0].repeats.map((rep) => rep.metrics.dice);
    const saDice = more.models[1].repeats.map((rep) => rep.metrics.dice);
    expect(more.paired![0].difference.mean).toBeCloseTo((saDice[0] - unetDice[0] + saDice[1] - unetDice[1]) / 2, 12);
    expect(await readFile(join(extended, 'table.md'), 'utf8')).toContain('## SA-U-Net (proposed) against each model, paired by repeat');
    expect(await readdir(join(extended, 'checkpoints', 'unet'))).toEqual(['repeat-1', 'repeat-2']);
    expect({ files: await listing(out), results: await readFile(join(out, 'results.json'), 'utf8') }).toEqual(before);
    expect((await readdir(root)).filter((f) => f.startsWith('extended'))).toEqual(['extended']);
  }, 300_000);

  it('--extend keeps the runs of models at this run\'s base width, trains those at another anew, and combines folders', async () => {
    const common = { models: 'unet,sa-unet', size: 64, epochs: 1, phantomCount: 6, quiet: true, workers: 1, backend: 'wasm' } as const;
    const losses = (r: CompareResults) => r.models.map((m) => [m.model, m.baseFilters, m.repeats.map((rep) => rep.epochLosses)]);
    // U-Net at base 4 instead of out's 8: trained anew; SA-U-Net at 8 kept.
    const widths = join(root, 'widths');
    const { results: narrower } = await runCompare({ ...common, baseFilters: 8, modelBaseFilters: { unet: 4 }, extend: out, out: widths });
    const [unet, sa] = narrower.models;
    expect([unet.baseFilters, sa.baseFilters]).toEqual([4, 8]);
    expect(unet.params).toBeLessThan(results.models[0].params);
    expect(unet.repeats[0].epochLosses).not.toEqual(results.models[0].repeats[0].epochLosses);
    expect(sa.repeats[0]).toMatchObject({ epochLosses: results.models[1].repeats[0].epochLosses, epochSeconds: results.models[1].repeats[0].epochSeconds });
    expect((await readdir(join(widths, 'overlays'))).sort()).toEqual(results.dataset.testNames.flatMap((n) => [`sa-unet-${n}.png`, `unet-${n}.png`]).sort());
    // Two folders combined: U-Net at 8 from first (unet only), SA-U-Net from widths (whose U-Net, at 4, is not taken): nothing trained.
    const combined = join(root, 'combined');
    const first = JSON.parse(await readFile(join(root, 'first', 'results.json'), 'utf8')) as CompareResults;
    const { results: both } = await runCompare({ ...common, baseFilters: 8, extend: [join(root, 'first'), widths], out: combined });
    expect(losses(both)).toEqual([...losses(first), ...losses(narrower).slice(1)]);
    expect(both.models[0].repeats[0].epochSeconds).toEqual(first.models[0].repeats[0].epochSeconds);
    // The same model's runs from two folders: refused before anything is read or trained.
    await expect(runCompare({ ...common, baseFilters: 8, extend: [join(root, 'first'), out], out: join(root, 'ambiguous') }))
      .rejects.toThrow(/^--extend: .*first and .*run both hold runs of unet; give that model's runs from one folder$/);
    expect((await readdir(root)).filter((f) => f.startsWith('ambiguous'))).toEqual([]);
  }, 300_000);

  it('--extend refuses other options, a missing folder and an unfinished one, leaving nothing behind', async () => {
    const common = { models: 'unet', size: 64, baseFilters: 8, phantomCount: 6, quiet: true, workers: 1, backend: 'wasm' } as const;
    const refused = join(root, 'refused');
    await expect(runCompare({ ...common, epochs: 2, extend: out, out: refused })).rejects.toThrow(/^--extend: .*run[/\\]config\.json was written with other options/);
    await expect(runCompare({ ...common, epochs: 1, extend: join(root, 'nowhere'), out: refused })).rejects.toThrow(/^--extend: .*nowhere is not a folder/);
    const unfinished = join(root, 'unfinished.partial');
    await mkdir(unfinished);
    await writeFile(join(unfinished, 'config.json'), await readFile(join(out, 'config.json')));
    await expect(runCompare({ ...common, epochs: 1, extend: unfinished, out: refused })).rejects.toThrow(/^--extend: .*unfinished\.partial has no results\.json; .*use --resume/);
    await rm(unfinished, { recursive: true });
    expect((await readdir(root)).filter((f) => f.startsWith('refused'))).toEqual([]);
  });

  it('paired sets a finished comparison against its ablation, seed by seed', async () => {
    const ablation = join(root, 'paired-ablation');
    const { results: without } = await runCompare({
      models: 'sa-unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, workers: 1, backend: 'wasm', channelAttention: false, out: ablation,
    });
    const { paired, markdown } = await runPaired({ a: out, b: ablation, quiet: true });
    expect(paired.differingOptions).toEqual([{ option: 'channelAttention', a: true, b: false }]);
    expect(paired.models.map((m) => m.model)).toEqual(['sa-unet']); // U-Net is only in A
    const [sa] = paired.models;
    const withRun = results.models[1].repeats[0];
    expect(sa.seeds).toEqual([withRun.seed]);
    expect(sa.params.a).toBeGreaterThan(sa.params.b); // the attention's 1-D kernels
    const [dice, hd] = sa.metrics;
    expect([dice.a.mean, dice.b.mean]).toEqual([withRun.metrics.dice, without.models[0].repeats[0].metrics.dice]);
    expect(hd.difference.mean).toBeCloseTo(withRun.metrics.hausdorff - without.models[0].repeats[0].metrics.hausdorff, 12);
    expect(markdown).toContain('| channelAttention | true | false |');
  });

  it('--recalibrate-bn re-estimates batch norm\'s statistics after training: the same weights, other statistics, recorded', async () => {
    const common = { model: 'unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, backend: 'wasm' } as const;
    await runTrain({ ...common, out: join(root, 'bn-moving') });
    await runTrain({ ...common, out: join(root, 'bn-recalibrated'), recalibrateBatchNorm: true });
    const [moving, recalibrated] = await Promise.all(['bn-moving', 'bn-recalibrated'].map(async (dir) => {
      const model = await tfl.loadLayersModel(fileSystem(join(root, dir)));
      const weights = Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
      model.dispose();
      return weights;
    }));
    const names = Object.keys(moving);
    const statistics = names.filter((n) => /moving_(mean|variance)$/.test(n));
    expect(statistics.length).toBeGreaterThan(0);
    for (const n of names.filter((n) => !statistics.includes(n))) expect(recalibrated[n], n).toEqual(moving[n]);
    expect(statistics.every((n) => JSON.stringify(recalibrated[n]) !== JSON.stringify(moving[n]))).toBe(true);
    const log = JSON.parse(await readFile(join(root, 'bn-recalibrated', 'training.json'), 'utf8'));
    expect(log.options.recalibrateBatchNorm).toBe(true);
    expect(JSON.parse(await readFile(join(root, 'bn-moving', 'training.json'), 'utf8')).options.recalibrateBatchNorm).toBe(false);
  }, 120_000);
  it('--foreground-prior auto trains from the training masks\' foreground fraction, recorded', async () => {
    const dir = join(root, 'prior');
    await runTrain({ model: 'unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, backend: 'wasm', out: dir, foregroundPrior: 'auto' });
    expect(JSON.parse(await readFile(join(dir, 'training.json'), 'utf8')).options.foregroundPrior).toBe('auto');
    const other = join(root, 'prior-other.partial');
    await cp(join(root, 'first'), other, { recursive: true });
    await expect(runCompare({
      models: 'unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'prior-other'), quiet: true, workers: 1, backend: 'wasm', resume: true,
      foregroundPrior: 'auto',
    })).rejects.toThrow(/--resume: .*config\.json was written with other options/);
  }, 120_000);

  it('--no-channel-attention trains SA-U-Net without its layers\' channel attention, recorded and stated in the table', async () => {
    const dir = join(root, 'no-attention');
    await runTrain({ model: 'sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, backend: 'wasm', out: dir, channelAttention: false });
    const model = await tfl.loadLayersModel(fileSystem(dir));
    const layers = model.layers.filter((l) => l.getClassName() === 'ScaleAttentionalConv2D');
    expect(layers.length).toBeGreaterThan(0);
    expect(layers.every((l) => l.getConfig().useAttention === false)).toBe(true);
    model.dispose();
    expect(JSON.parse(await readFile(join(dir, 'training.json'), 'utf8')).options.channelAttention).toBe(false);
    const note = /SA-U-Net's layers had no channel attention \(--no-channel-attention; an ablation, not in the paper\)/;
    expect(renderMarkdown(results)).not.toMatch(note);
    expect(renderMarkdown({ ...results, config: { ...results.config, channelAttention: false } })).toMatch(note);
  }, 120_000);
});

describe('train, evaluate, latency, params', () => {
  it('evaluate works on a saved checkpoint and any images/masks folder', async () => {
    const dataDir = join(root, 'eval-data');
    const samples = phantomDataset(3, 48, 11).samples;
    await writeDataset(dataDir, {
      images: Object.fromEntries(samples.map((s) => [`${s.name}.png`, gray8(48, 48, (x, y) => Math.round(s.image[y * 48 + x] * 255))])),
      masks: Object.fromEntries(samples.map((s) => [`${s.name}.png`, gray8(48, 48, (x, y) => s.mask[y * 48 + x] * 255)])),
    });
    const evalOut = join(root, 'eval-out');
    const evaluation = await runEvaluate({ model: join(out, 'checkpoints', 'sa-unet', 'repeat-1'), data: dataDir, out: evalOut, quiet: true, backend: 'wasm' });
    expect(evaluation.records).toHaveLength(3);
    expect(evaluation.areas).toBeUndefined();
    expect((await readdir(evalOut)).sort()).toEqual(['images.csv', 'overlays', 'results.json', 'table.md']);
    const perImage = (await readFile(join(evalOut, 'images.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
    expect(perImage.map((row) => row[0])).toEqual(['image', ...samples.map((sm) => sm.name).sort()]);
    expect(perImage.slice(1).map((row) => Number(row[perImage[0].indexOf('dice')]))).toEqual(evaluation.records.map((r) => r.dice));
    // With a pixel size: the areas of predictions and masks, as segment measures each image.
    const model = join(out, 'checkpoints', 'sa-unet', 'repeat-1');
    const areasOut = join(root, 'eval-areas');
    const withAreas = await runEvaluate({ model, data: dataDir, dpi: 96, out: areasOut, quiet: true, backend: 'wasm' });
    expect(withAreas.records).toEqual(evaluation.records);
    const names = (await readdir(join(dataDir, 'images'))).sort();
    for (const [i, name] of names.entries()) {
      const one = await runSegment({ model, image: join(dataDir, 'images', name), dpi: 96, quiet: true, backend: 'wasm' });
      expect(withAreas.areas!.predictedMm2[i]).toBeCloseTo(one.csaMm2!, 9);
    }
    // The masks' areas at 64x64 (nearest-neighbour resized) agree with their 48x48 originals' at
    // 96 dpi, (25.4 / 96)² mm² per pixel, to within the resize's rounding.
    samples.forEach((s, i) => {
      const original = s.mask.reduce((a, b) => a + b, 0) * (25.4 / 96) ** 2;
      expect(original).toBeGreaterThan(0);
      expect(Math.abs(withAreas.areas!.truthMm2[i]! / original - 1)).toBeLessThan(0.1);
    });
    expect(withAreas.areas!.differenceMm2.count).toBe(3);
    const saved = JSON.parse(await readFile(join(areasOut, 'results.json'), 'utf8'));
    expect(saved.areas.truthMm2).toEqual(withAreas.areas!.truthMm2);
    const areaRows = (await readFile(join(areasOut, 'images.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
    expect(areaRows.slice(1).map((row) => Number(row[areaRows[0].indexOf('mask_mm2')]))).toEqual(withAreas.areas!.truthMm2);
    expect(await readFile(join(areasOut, 'table.md'), 'utf8')).toMatch(/Cross-sectional area at 96 dpi of the original images \(3 images\): masks .* mm², predictions .*\n.*95% limits of agreement/);
    await expect(runEvaluate({ model, data: dataDir, dpi: 96, mmPerPixel: 0.1, quiet: true })).rejects.toThrow('give --dpi or --mm-per-pixel, not both');
    await expect(runEvaluate({ model, data: dataDir, mmPerPixel: -1, quiet: true })).rejects.toThrow(/--mm-per-pixel/);
    await expect(runEvaluate({ model: join(root, 'no-model'), data: dataDir, quiet: true, backend: 'wasm' })).rejects.toThrow(/cannot read .*no-model\/model\.json/);
    // A compare run's results folder, given whole: the error names the checkpoints inside it.
    const models = ['sa-unet', 'unet'].map((m) => join(out, 'checkpoints', m, 'repeat-1').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    await expect(runEvaluate({ model: out, data: dataDir, quiet: true, backend: 'wasm' }))
      .rejects.toThrow(new RegExp(`^model .*: no model\\.json there, but saved models below it: ${models.join(', ')}; pass one of those folders$`));
    // A model.json that tfjs-layers cannot build: its folder named, with tfjs' reason.
    const broken = join(root, 'broken-model');
    await mkdir(broken);
    await writeFile(join(broken, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    await expect(runEvaluate({ model: broken, data: dataDir, quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^model .*broken-model: cannot build the model of its model\.json: .*Improper config format/);
    // An existing --out is refused before any work (here, before the missing model is even read).
    await expect(runEvaluate({ model: join(root, 'no-model'), data: dataDir, out: evalOut, quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^results folder .*eval-out already exists; choose another --out/);
  });

  it('recalibrate re-estimates a saved model\'s batch-norm statistics from a folder of images, and saves it anew', async () => {
    const imagesDir = join(root, 'recalibration-images');
    await mkdir(imagesDir);
    const samples = phantomDataset(6, 40, 21).samples; // another size than the model's: resized to it
    for (const s of samples) await writeFile(join(imagesDir, `${s.name}.png`), gray8(40, 40, (x, y) => Math.round(s.image[y * 40 + x] * 255)));
    const checkpoint = join(out, 'checkpoints', 'sa-unet', 'repeat-1');
    const target = join(root, 'recalibrated');
    const result = await runRecalibrate({ model: checkpoint, images: imagesDir, out: target, quiet: true, backend: 'wasm' });
    expect(result).toMatchObject({ count: 6, size: 64, batches: 1 }); // 6 images, batches of 4: one
    expect(result.layers).toBeGreaterThan(10);
    expect((await readdir(target)).sort()).toEqual(['model.json', 'recalibration.json', 'weights.bin']);
    expect(JSON.parse(await readFile(join(target, 'recalibration.json'), 'utf8'))).toMatchObject({ count: 6, size: 64, batchSize: 4, layers: result.layers });
    const [before, after] = await Promise.all([checkpoint, target].map(async (dir) => {
      const model = await tfl.loadLayersModel(fileSystem(dir));
      const weights = Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
      model.dispose();
      return weights;
    }));
    const statistics = Object.keys(before).filter((n) => /moving_(mean|variance)$/.test(n));
    expect(statistics).toHaveLength(2 * result.layers);
    for (const n of Object.keys(before).filter((k) => !statistics.includes(k))) expect(after[n], n).toEqual(before[n]);
    expect(statistics.every((n) => JSON.stringify(after[n]) !== JSON.stringify(before[n]))).toBe(true);

    // A dataset folder works too (its images/); nothing is written on failure.
    const fromDataset = await runRecalibrate({ model: checkpoint, images: join(root, 'eval-data'), out: join(root, 'recalibrated-2'), quiet: true, backend: 'wasm' });
    expect(fromDataset.count).toBe(3);
    const empty = join(root, 'no-images');
    await mkdir(empty);
    await expect(runRecalibrate({ model: checkpoint, images: empty, out: join(root, 'recalibrated-3'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^image folder .*no-images holds no PNG or JPEG file: it is empty$/);
    // A folder of other files (TIFF, say) or of folders says what it holds instead.
    await writeFile(join(empty, 'a.tif'), 'II*');
    await writeFile(join(empty, 'b.TIF'), 'II*');
    await writeFile(join(empty, 'notes.txt'), 'x');
    await mkdir(join(empty, 'train'));
    await expect(runRecalibrate({ model: checkpoint, images: empty, out: join(root, 'recalibrated-3'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^image folder .*no-images holds no PNG or JPEG file: it holds 1 folder, 2 \.tif files, 1 \.txt file; images must be PNG or JPEG files \(\.png, \.jpg, \.jpeg\)$/);
    await expect(runRecalibrate({ model: checkpoint, images: imagesDir, out: target, quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^results folder .*recalibrated already exists; choose another --out/);
    expect((await readdir(root)).filter((f) => f.startsWith('recalibrated')).sort()).toEqual(['recalibrated', 'recalibrated-2']);
  });

  it('segment measures the cross-sectional area of one image', async () => {
    const dataDir = join(root, 'eval-data');
    const file = join(dataDir, 'images', (await readdir(join(dataDir, 'images')))[0]);
    const overlay = join(root, 'segment.png');
    const result = await runSegment({ model: join(out, 'checkpoints', 'unet', 'repeat-1'), image: file, dpi: 96, overlay, quiet: true, backend: 'wasm' });
    expect(result).toMatchObject({ width: 48, height: 48, size: 64 });
    // 48 px at 96 dpi seen at 64 px: each mask pixel is (25.4 / 96) * 48 / 64 mm wide.
    expect(result.csaMm2).toBeCloseTo(result.maskPixels * ((25.4 / 96) * (48 / 64)) ** 2, 9);
    expect(decode(await readFile(overlay))).toMatchObject({ width: 256, height: 256 });
    await expect(runSegment({ model: join(out, 'checkpoints', 'unet', 'repeat-1'), image: file, dpi: 96, mmPerPixel: 0.1, quiet: true }))
      .rejects.toThrow(/give --dpi or --mm-per-pixel, not both/);
    const model = join(out, 'checkpoints', 'unet', 'repeat-1');
    await expect(runSegment({ model, image: file, overlay: join(root, 'segment.jpg'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^--overlay .*segment\.jpg: the overlay is written as PNG; give a file name ending in \.png$/);
    await expect(runSegment({ model, image: file, overlay: join(root, 'no-folder', 'segment.png'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^--overlay .*no-folder\/segment\.png: folder .*no-folder does not exist$/);
    expect((await readdir(root)).filter((f) => f.startsWith('segment'))).toEqual(['segment.png']);
  });

  it('segment measures every image of a folder, as one by one, into a CSV written only when all succeed', async () => {
    const model = join(out, 'checkpoints', 'sa-unet', 'repeat-1');
    const dataDir = join(root, 'eval-data'); // a dataset folder: its images/ are segmented
    const names = (await readdir(join(dataDir, 'images'))).sort();
    const csv = join(root, 'areas.csv');
    const tensors = tf.memory().numTensors;
    const rows = await runSegmentImages({ model, images: dataDir, csv, mmPerPixel: 0.1, quiet: true, backend: 'wasm' });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(rows.map((r) => r.file)).toEqual(names);
    for (const [i, name] of names.entries()) {
      const one = await runSegment({ model, image: join(dataDir, 'images', name), mmPerPixel: 0.1, quiet: true, backend: 'wasm' });
      expect(rows[i]).toMatchObject({ width: one.width, height: one.height, size: one.size, maskPixels: one.maskPixels, csaMm2: one.csaMm2 });
    }
    const lines = (await readFile(csv, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('image,width,height,model_size,mask_pixels,csa_mm2');
    expect(lines.slice(1)).toEqual(rows.map((r) => `${r.file},${r.width},${r.height},${r.size},${r.maskPixels},${r.csaMm2}`));
    // Without a pixel size the area column is empty.
    const [noArea] = await runSegmentImages({ model, images: join(dataDir, 'images'), quiet: true, backend: 'wasm' });
    expect(noArea!.csaMm2).toBeNull();
    expect(segmentationCsv([noArea!]).split('\n')[1]).toMatch(/,\d+,$/);

    // Refusals name what is wrong; an unreadable image is named and no table is written.
    const bad = join(root, 'segment-bad');
    await mkdir(bad);
    await writeFile(join(bad, 'a.png'), gray8(40, 40, () => 100));
    await writeFile(join(bad, 'b.png'), 'not a png');
    const badCsv = join(root, 'bad-areas.csv');
    await expect(runSegmentImages({ model, images: bad, csv: badCsv, quiet: true, backend: 'wasm' })).rejects.toThrow(/b\.png/);
    expect(tf.memory().numTensors).toBe(tensors);
    await expect(runSegmentImages({ model, images: join(root, 'no-such-folder'), quiet: true })).rejects.toThrow(/^image folder .*no-such-folder does not exist or is not a folder$/);
    await expect(runSegmentImages({ model, images: dataDir, csv: join(root, 'areas.txt'), quiet: true }))
      .rejects.toThrow(/^--csv .*areas\.txt: the table is written as CSV; give a file name ending in \.csv$/);
    await expect(runSegmentImages({ model, images: dataDir, csv: join(root, 'no-folder', 'a.csv'), quiet: true })).rejects.toThrow(/^--csv .*no-folder\/a\.csv: folder .*no-folder does not exist$/);
    await expect(runSegmentImages({ model, images: dataDir, overlay: join(root, 'o.png'), quiet: true }))
      .rejects.toThrow("--overlay draws one image's contour: give it with --image, not --images");
    await expect(runSegmentImages({ model, images: dataDir, image: join(dataDir, 'images', names[0]!), quiet: true })).rejects.toThrow('give --image or --images, not both');
    await expect(runSegment({ model, quiet: true })).rejects.toThrow('give --image FILE (one image) or --images DIR (a folder of them)');
    await expect(runSegment({ model, images: dataDir, quiet: true })).rejects.toThrow('runSegment segments one --image; runSegmentImages segments a folder of --images');
    await expect(runSegmentImages({ model, quiet: true })).rejects.toThrow('give --images DIR (a folder of PNG or JPEG images)');
    expect((await readdir(root)).filter((f) => f.endsWith('.csv')).sort()).toEqual(['areas.csv']);
  });

  it('segment --masks writes each predicted mask at its image\'s size, named after it: with the images, a dataset', async () => {
    const model = join(out, 'checkpoints', 'sa-unet', 'repeat-1');
    // The model's own size (64x64: the mask as predicted), and wide and tall images (resized back).
    const images = join(root, 'mask-images');
    await mkdir(images);
    const phantom = phantomDataset(3, 64, 21).samples;
    const sizes: Array<[string, number, number]> = [['a.png', 64, 64], ['b.png', 80, 48], ['c.png', 40, 72]];
    const level = (i: number, w: number, h: number) => (x: number, y: number) =>
      Math.round(phantom[i]!.image[Math.floor((y * 64) / h) * 64 + Math.floor((x * 64) / w)]! * 255);
    for (const [i, [file, w, h]] of sizes.entries()) await writeFile(join(images, file), gray8(w, h, level(i, w, h)));
    // c.png's pixels stored sideways (72x40) with EXIF orientation 6 (turn 90° clockwise), as phones store them.
    await writeFile(join(images, 'd.png'), withPngExif(gray8(72, 40, (u, v) => level(2, 40, 72)(39 - v, u)), exifBlock(6)));
    sizes.push(['d.png', 40, 72]);
    const masks = join(root, 'predicted', 'masks'); // its parent is made too, as for --out
    const tensors = tf.memory().numTensors;
    const rows = await runSegmentImages({ model, images, masks, quiet: true, backend: 'wasm' });
    expect(tf.memory().numTensors).toBe(tensors);
    expect((await readdir(masks)).sort()).toEqual(['a.png', 'b.png', 'c.png', 'd.png']);
    expect(await readdir(join(root, 'predicted'))).toEqual(['masks']); // no partial folder left
    for (const [file, w, h] of sizes) {
      const one = await runSegment({ model, image: join(images, file), quiet: true, backend: 'wasm' });
      const png = decode(await readFile(join(masks, file)));
      expect(png).toMatchObject({ width: w, height: h, channels: 1, depth: 8 });
      // The model's probabilities resized to the image (bilinear, half-pixel centres), then > 0.5.
      const atImage = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(one.probabilities, [64, 64, 1]), [h, w], false, true));
      const expected = Uint8Array.from(await atImage.data(), (p) => (p > 0.5 ? 255 : 0));
      atImage.dispose();
      expect(Array.from(png.data), file).toEqual(Array.from(expected));
      if (w === 64 && h === 64) expect(Array.from(png.data)).toEqual(Array.from(one.mask, (m) => m * 255));
      expect(rows.find((r) => r.file === file)?.maskPixels).toBe(one.maskPixels);
    }
    // The turned image is segmented as shown: c.png's mask, not a sideways one.
    expect(Array.from(decode(await readFile(join(masks, 'd.png'))).data)).toEqual(Array.from(decode(await readFile(join(masks, 'c.png'))).data));
    const foreground = decode(await readFile(join(masks, 'a.png'))).data.filter((v) => v === 255).length;
    expect(foreground, 'the test needs a mask that is neither empty nor full').toBeGreaterThan(0);
    expect(foreground).toBeLessThan(64 * 64);

    // Beside its image, a mask is a dataset's: the model scores DSC 1 against its own mask.
    const dataset = join(root, 'predicted');
    await mkdir(join(dataset, 'images'));
    await cp(join(images, 'a.png'), join(dataset, 'images', 'a.png'));
    await rm(join(masks, 'b.png'));
    await rm(join(masks, 'c.png'));
    await rm(join(masks, 'd.png'));
    const evaluation = await runEvaluate({ model, data: dataset, quiet: true, backend: 'wasm' });
    expect(evaluation.records.map((r) => r.dice)).toEqual([1]);

    // One image writes one mask; an existing folder is refused before any work; a failure leaves none.
    const single = join(root, 'single-mask');
    await runSegment({ model, image: join(images, 'b.png'), masks: single, quiet: true, backend: 'wasm' });
    expect(await readdir(single)).toEqual(['b.png']);
    await expect(runSegment({ model: join(root, 'no-model'), image: join(images, 'b.png'), masks: single, quiet: true }))
      .rejects.toThrow(/^--masks .*single-mask already exists; give a new folder \(masks are never written over\)$/);
    await expect(runSegment({ model, image: join(images, 'b.png'), masks: join(root, 'b-mask.PNG'), quiet: true }))
      .rejects.toThrow(/^--masks .*b-mask\.PNG: give a folder, not an image file: each mask is written into it as <image name>\.png$/);
    const bad = join(root, 'masks-bad');
    await mkdir(bad);
    await writeFile(join(bad, 'a.png'), gray8(40, 40, () => 100));
    await writeFile(join(bad, 'b.png'), 'not a png');
    await expect(runSegmentImages({ model, images: bad, masks: join(root, 'bad-masks'), quiet: true, backend: 'wasm' })).rejects.toThrow(/b\.png/);
    expect((await readdir(root)).filter((f) => f.startsWith('bad-masks') || f.startsWith('b-mask'))).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('train saves one model with its log', async () => {
    const trainOut = join(root, 'trained');
    await runTrain({ model: 'sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 4, out: trainOut, quiet: true, backend: 'wasm' });
    expect((await readdir(trainOut)).sort()).toEqual(['model.json', 'overlays', 'training.json', 'weights.bin']);
    await expect(runTrain({ model: 'segnet', out: join(root, 'x'), quiet: true })).rejects.toThrow(/unknown model "segnet"; expected one of: unet, /);
    await expect(runTrain({ model: 'sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 4, out: trainOut, quiet: true, backend: 'wasm', resume: true }))
      .rejects.toThrow(/^--resume: results folder .*trained is a finished run; .*To train it further, give --init .*trained and a new --out\.$/);
    // --init: fine-tunes the saved model (its input size is the default --size), or says why it cannot.
    const tuned = join(root, 'tuned');
    await runTrain({ model: 'sa-unet', init: trainOut, epochs: 1, baseFilters: 8, phantomCount: 4, out: tuned, quiet: true, backend: 'wasm' });
    const log = JSON.parse(await readFile(join(tuned, 'training.json'), 'utf8'));
    expect(log).toMatchObject({ init: trainOut, options: { size: 32, baseFilters: 8 } });
    const tensors = tf.memory().numTensors;
    await expect(runTrain({ model: 'unet', init: trainOut, epochs: 1, baseFilters: 8, phantomCount: 4, out: join(root, 'mistuned'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^--init .*trained is not a model of this architecture: its weight 1 of \d+ is "sa_unet_.*", the new model's \(\d+ weights\) is "unet_.*"; give the --model it was trained as$/);
    await expect(runTrain({ model: 'sa-unet', init: join(root, 'no-model'), out: join(root, 'mistuned'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/cannot read .*no-model\/model\.json/);
    expect((await readdir(root)).filter((f) => f.startsWith('mistuned'))).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors); // both models of the refused fine-tuning were freed
    // Masks with no foreground at all leave nothing to learn: refused before any training or output.
    const blank = await writeDataset(join(root, 'blank-masks'), {
      images: { 'a.png': gray8(8, 8, (x) => x * 30), 'b.png': gray8(8, 8, (_x, y) => y * 30) },
      masks: { 'a.png': gray8(8, 8, () => 0), 'b.png': gray8(8, 8, () => 0) },
    });
    await expect(runTrain({ model: 'sa-unet', data: blank, testFraction: 0.5, size: 32, epochs: 1, out: join(root, 'blank-out'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/^nothing to learn: none of the 1 training masks of .*blank-masks has a non-zero pixel at 32x32$/);
    expect((await readdir(root)).filter((f) => f.startsWith('blank-out'))).toEqual([]);
  });

  it('latency measures inference (as built and folded) and an Adam step per model', async () => {
    const rows = await runLatency({ models: 'sa-unet', size: 32, baseFilters: 8, backends: 'wasm', runs: 3, steps: 1, foldBatchNorm: true, quiet: true });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ backend: 'wasm', model: 'sa-unet' });
    expect(rows[0].inference!.medianMs).toBeGreaterThan(0);
    expect(rows[0].foldedInference!.medianMs).toBeGreaterThan(0); // measured in the worker thread too
    expect(rows[0].stepMedianMs).toBeGreaterThan(0);
    expect(rows[0].params).toBeGreaterThan(0);
    expect(rows[0].error).toBeUndefined();
    await expect(runLatency({ backends: 'tensorflow', quiet: true })).rejects.toThrow(/^tensorflow backend unavailable: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed \(npm i @tensorflow\/tfjs-node\)$/);
  });

  it('latency builds each model at its own base width where --base-filters gives one', async () => {
    const rows = await runLatency({ models: 'unet,sa-unet', size: 32, baseFilters: 8, modelBaseFilters: { unet: 4 }, backends: 'wasm', runs: 1, steps: 1, quiet: true });
    expect(rows.map((r) => [r.model, r.params])).toEqual([['unet', 136_537], ['sa-unet', 35_503]]); // params --base-filters 4,8
    await expect(runLatency({ models: 'sa-unet', modelBaseFilters: { unet: 4 }, backends: 'wasm', quiet: true }))
      .rejects.toThrow(/^--base-filters: unet=4 names a model that this run does not train \(models: sa-unet\)$/);
  });

  it('params prints the table', async () => {
    expect(await runParams({ size: 64 })).toContain('| sa-unet |');
    // By base width: the counts of FINDINGS.md's matched-parameter table.
    const byWidth = await runParams({ size: 64, baseFilters: [4, 16] });
    expect(byWidth).toContain('| model | base 4 | base 16 |\n|---|---:|---:|\n');
    expect(byWidth).toContain('| unet | 136,537 | 2,163,553 |\n');
    expect(byWidth).toContain('| sa-unet | 11,218 | 123,385 |');
    await expect(runParams({ size: 64, baseFilters: [2] })).rejects.toThrow(/--base-filters must be an integer >= 4, got 2/);
    await expect(runParams({ size: 50 })).rejects.toThrow(/--size must be a multiple of 16 .*got 50; nearest: 48 or 64/);
  });

  it('two worker threads reproduce the one-thread run exactly (seeded jobs, auto backend resolved once)', async () => {
    const threaded = await runCompare({
      models: 'unet,sa-unet', size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, out: join(root, 'threads'), quiet: true, workers: 2, backend: 'wasm',
    });
    for (const [i, model] of threaded.results.models.entries()) {
      expect(model.model).toBe(results.models[i].model);
      expect(model.repeats.map((r) => r.epochLosses)).toEqual(results.models[i].repeats.map((r) => r.epochLosses));
      expect(model.repeats.map((r) => r.metrics)).toEqual(results.models[i].repeats.map((r) => r.metrics));
    }
  }, 300_000);

  it('in one thread a failed run is named as the worker threads name it', async () => {
    const failing = join(root, 'failing-in-thread');
    await mkdir(join(`${failing}.partial`, 'checkpoints'), { recursive: true });
    await writeFile(join(`${failing}.partial`, 'checkpoints', 'sa-unet'), 'not a folder');
    await expect(runCompare({
      models: 'sa-unet', size: 32, epochs: 1, baseFilters: 4, phantomCount: 4, quiet: true, backend: 'wasm', out: failing, workers: 1, resume: true,
    })).rejects.toThrow(/^sa-unet repeat 1: .*\n0 finished \(model, repeat\) runs are kept in .*failing-in-thread\.partial/);
  }, 120_000);

  it('a failed run stops the schedule, the run in progress is kept, and --resume continues with other --models or --repeats', async () => {
    const common = { size: 64, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, backend: 'wasm' } as const;
    const failing = join(root, 'failing');
    // A file stands where sa-unet's checkpoint folder goes, so its run fails when it saves.
    await mkdir(join(`${failing}.partial`, 'checkpoints'), { recursive: true });
    await writeFile(join(`${failing}.partial`, 'checkpoints', 'sa-unet'), 'not a folder');
    await expect(runCompare({ ...common, models: 'unet,sa-unet', out: failing, workers: 2, resume: true }))
      .rejects.toThrow(/^sa-unet repeat 1: .*\n1 finished \(model, repeat\) run is kept in .*failing\.partial: the same command with --resume continues/);
    expect(await readdir(join(`${failing}.partial`, 'runs'))).toEqual(['unet-repeat-1.json']);
    const kept = JSON.parse(await readFile(join(`${failing}.partial`, 'runs', 'unet-repeat-1.json'), 'utf8'));
    expect(kept.epochLosses).toEqual(results.models[0].repeats[0].epochLosses);

    // Fewer models: the kept run is taken as it is (its own timings), nothing is trained.
    await cp(`${failing}.partial`, `${join(root, 'subset')}.partial`, { recursive: true });
    const subset = await runCompare({ ...common, models: 'unet', out: join(root, 'subset'), workers: 1, resume: true });
    expect(subset.results.models.map((m) => m.model)).toEqual(['unet']);
    expect(subset.results.models[0].repeats[0].epochSeconds).toEqual(kept.epochSeconds);

    // The failed model again, and a second repeat of both: trained, the kept run reused.
    await rm(join(`${failing}.partial`, 'checkpoints', 'sa-unet'));
    const resumed = await runCompare({ ...common, models: 'unet,sa-unet', repeats: 2, out: failing, workers: 1, resume: true });
    expect(resumed.results.models.map((m) => m.repeats.map((r) => r.repeat))).toEqual([[1, 2], [1, 2]]);
    expect(resumed.results.models[0].repeats[0].epochSeconds).toEqual(kept.epochSeconds);
    expect(resumed.results.models[1].repeats[0].metrics).toEqual(results.models[1].repeats[0].metrics);
    expect(resumed.results.config).toMatchObject({ models: ['unet', 'sa-unet'], repeats: 2 });
  }, 300_000);

  it('--resume continues an unfinished run from its last saved epoch, as the uninterrupted run', async () => {
    const common = {
      models: 'sa-unet', size: 32, epochs: 2, baseFilters: 8, phantomCount: 4, quiet: true, workers: 1, backend: 'wasm', stateEverySeconds: 0,
    } as const;
    const reference = (await runCompare({ ...common, out: join(root, 'uninterrupted') })).results.models[0].repeats[0];
    const interrupted = join(root, 'interrupted');
    // Its checkpoint cannot be written, so the run fails once trained, its state kept after epoch 1.
    await mkdir(join(`${interrupted}.partial`, 'checkpoints'), { recursive: true });
    await writeFile(join(`${interrupted}.partial`, 'checkpoints', 'sa-unet'), 'not a folder');
    await expect(runCompare({ ...common, out: interrupted, resume: true }))
      .rejects.toThrow(/\n0 finished \(model, repeat\) runs are kept in .*, and the training state of 1 unfinished one as of its last saved epoch: the same command with --resume/);
    const state = join(`${interrupted}.partial`, 'training', 'sa-unet-repeat-1');
    const saved = JSON.parse(await readFile(join(state, 'progress.json'), 'utf8')) as { epochLosses: number[]; epochSeconds: number[] };
    expect(saved.epochLosses).toEqual(reference.epochLosses.slice(0, 1));

    await rm(join(`${interrupted}.partial`, 'checkpoints', 'sa-unet'));
    const resumed = (await runCompare({ ...common, out: interrupted, resume: true })).results.models[0].repeats[0];
    expect(resumed.epochLosses).toEqual(reference.epochLosses);
    expect(resumed.metrics).toEqual(reference.metrics);
    expect(resumed.epochSeconds[0]).toBe(saved.epochSeconds[0]); // epoch 1 was not trained again
    expect(await readdir(interrupted)).not.toContain('training');
  }, 300_000);

  it('train --resume continues an interrupted run from its last saved epoch; other options are refused', async () => {
    const common = { model: 'sa-unet', size: 32, epochs: 2, baseFilters: 8, phantomCount: 4, quiet: true, backend: 'wasm', stateEverySeconds: 0 } as const;
    await runTrain({ ...common, out: join(root, 'train-straight') });
    const reference = JSON.parse(await readFile(join(root, 'train-straight', 'training.json'), 'utf8')) as { epochLosses: number[]; metrics: object };
    const out = join(root, 'train-resumed');
    // A folder stands where model.json goes, so the run fails once trained, its state kept after epoch 1.
    await mkdir(join(`${out}.partial`, 'model.json'), { recursive: true });
    await expect(runTrain({ ...common, out, resume: true }))
      .rejects.toThrow(/model\.json.*\nthe training state after epoch 1 is kept in .*train-resumed\.partial: the same command with --resume continues from it$/s);
    await rm(join(`${out}.partial`, 'model.json'), { recursive: true });
    await expect(runTrain({ ...common, epochs: 3, out, resume: true }))
      .rejects.toThrow(/^--resume: .*resume-config\.json was written with other options; rerun with the same options, or without --resume to start over\n/);
    await runTrain({ ...common, out, resume: true });
    const resumed = JSON.parse(await readFile(join(out, 'training.json'), 'utf8')) as { epochLosses: number[]; metrics: object };
    expect(resumed.epochLosses).toEqual(reference.epochLosses);
    expect(resumed.metrics).toEqual(reference.metrics);
    expect((await readdir(out)).sort()).toEqual(['model.json', 'overlays', 'training.json', 'weights.bin']);
    expect((await readdir(root)).filter((f) => f.startsWith('train-resumed'))).toEqual(['train-resumed']);
  }, 300_000);

  it('a whole comparison leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await runCompare({ models: 'unet,sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 4, out: join(root, 'leaks'), quiet: true, workers: 1, backend: 'wasm' });
    await runLatency({ models: 'unet', size: 32, baseFilters: 8, backends: 'wasm', runs: 1, steps: 1, quiet: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});
