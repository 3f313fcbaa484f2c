/**
 * `paired`: two results folders of compare against each other, paired by seed: the options they
 * differ in, each model's values and differences, the signed-rank test, the table, the JSON, and
 * every folder it refuses. The folders are written from known values (results.json and
 * config.json as compare writes them); e2e.test.ts runs it on folders compare trained.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '@sa-unet/seg-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPaired, signedRankTest, type CompareResults, type ModelResult, type RunConfig } from '@sa-unet/bench';
import { buildProgram } from '../src/program.js';
import { model, results } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bench-paired-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A model whose runs with these seeds scored these DSCs and HDs. */
function runs(name: ModelResult['model'], seeds: number[], dice: number[], hausdorff: number[], params = 1000): ModelResult {
  const m = model(name, seeds.map(() => [0.5]));
  return { ...m, params, repeats: m.repeats.map((rep, i) => ({ ...rep, seed: seeds[i], metrics: { ...rep.metrics, dice: dice[i], hausdorff: hausdorff[i] } })) };
}

/** Writes a finished results folder: results.json, and config.json as compare writes it (`config` overrides). */
async function folder(name: string, models: ModelResult[], config: Partial<RunConfig> & Record<string, unknown> = {}, dataset: Partial<CompareResults['dataset']> = {}): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const r = results(models, 32);
  const full = { ...r, config: { ...r.config, ...config }, dataset: { ...r.dataset, ...dataset } };
  await writeFile(join(dir, 'results.json'), JSON.stringify(full));
  await writeFile(join(dir, 'config.json'), JSON.stringify(full.config));
  return dir;
}

const quiet = { quiet: true } as const;

describe('paired', () => {
  it('pairs each model\'s runs by seed: values, differences, who did better, the test, the options that differ', async () => {
    // A: seeds 2 to 7; B: seeds 3 to 8, without channel attention and at another learning rate: seeds 3 to 7 pair.
    const a = await folder('a', [
      runs('unet', [2, 3, 4, 5, 6, 7], [0.9, 0.60, 0.65, 0.50, 0.55, 0.62], [1, 7, 5, 9, 8, 6], 2000),
      runs('sa-unet', [2, 3, 4, 5, 6, 7], [0.9, 0.62, 0.66, 0.58, 0.54, 0.70], [1, 6, 5, 7, 8.5, 4], 1000),
    ]);
    const b = await folder('b', [
      runs('unet', [3, 4, 5, 6, 7, 8], [0.61, 0.60, 0.52, 0.50, 0.60, 0.1], [7, 6, 8, 9, 6, 1], 500),
      runs('sa-unet', [3, 4, 5, 6, 7, 8], [0.60, 0.64, 0.55, 0.56, 0.66, 0.1], [6, 5.5, 7.5, 8, 5, 1], 990),
    ], { channelAttention: false, learningRate: 1e-3 });
    const { paired, markdown } = await runPaired({ a, b, ...quiet });
    expect(paired.runs).toEqual({ a: { dir: a, date: '2026-12-03T00:00:00.000Z', backend: 'wasm' }, b: { dir: b, date: '2026-12-03T00:00:00.000Z', backend: 'wasm' } });
    expect(paired.differingOptions).toEqual([
      { option: 'channelAttention', a: true, b: false },
      { option: 'learningRate', a: 5e-4, b: 1e-3 },
    ]);
    expect(paired.testSet).toEqual({ source: 'phantom', size: 64, images: 2, label: null });
    expect(paired.models.map((m) => [m.model, m.params, m.seeds])).toEqual([
      ['unet', { a: 2000, b: 500 }, [3, 4, 5, 6, 7]],
      ['sa-unet', { a: 1000, b: 990 }, [3, 4, 5, 6, 7]],
    ]);
    const [dice, hd] = paired.models[1].metrics;
    const aDice = [0.62, 0.66, 0.58, 0.54, 0.70];
    const bDice = [0.60, 0.64, 0.55, 0.56, 0.66];
    const diceDiffs = aDice.map((v, i) => v - bDice[i]);
    expect(dice).toMatchObject({ metric: 'dice', aBetter: 4, bBetter: 1, ties: 0, a: summarize(aDice), b: summarize(bDice) });
    expect(dice.difference.mean).toBeCloseTo(summarize(diceDiffs).mean, 12);
    expect(dice.signedRank).toEqual(signedRankTest(diceDiffs));
    // HD: lower is better; seed 3 a tie (dropped by the test), seed 6 B's.
    const hdDiffs = [6 - 6, 5 - 5.5, 7 - 7.5, 8.5 - 8, 4 - 5];
    expect(hd).toMatchObject({ metric: 'hausdorff', aBetter: 3, bBetter: 1, ties: 1 });
    expect(hd.signedRank).toEqual(signedRankTest(hdDiffs));
    expect(hd.signedRank.n).toBe(4);

    expect(markdown).toContain('| | A | B |\n|---|---|---|\n' +
      `| results folder | ${a} | ${b} |\n| finished | 2026-12-03 00:00 UTC | 2026-12-03 00:00 UTC |\n` +
      '| channelAttention | true | false |\n| learningRate | 0.0005 | 0.001 |\n\n' +
      'Other options the same; both scored on the same 2 test images (64x64, phantom).\n');
    const p = (x: number) => x.toFixed(3);
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
    const ms = (v: number[]) => `${summarize(v).mean.toFixed(3)} ± ${summarize(v).sd.toFixed(3)}`;
    expect(markdown).toContain('| model | parameters (A / B) | seeds | metric | A | B | A − B | A better in | p |\n|---|---:|---|---|---|---|---|---|---|\n');
    expect(markdown).toContain(`| SA-U-Net (proposed) | 1,000 / 990 | 5 (3 to 7) | DSC | ${ms(aDice)} | ${ms(bDice)} | ` +
      `${signed(dice.difference.mean)} ± ${dice.difference.sd.toFixed(3)} | 4 of 5 | ${p(dice.signedRank.pValue)} |\n` +
      `|  |  |  | HD (px) | ${ms([6, 5, 7, 8.5, 4])} | ${ms([6, 5.5, 7.5, 8, 5])} | ${signed(hd.difference.mean)} ± ${hd.difference.sd.toFixed(3)} | ` +
      `3 of 5 (1 equal) | ${p(hd.signedRank.pValue)} |\n`);
  });

  it('lists a model\'s base width where the two differ, and says so where no option differs', async () => {
    const one = [runs('unet', [2, 3], [0.5, 0.6], [4, 5])];
    const a = await folder('width-a', one);
    const b = await folder('width-b', [{ ...one[0], baseFilters: 4 }], { modelBaseFilters: { unet: 4 } });
    const widths = await runPaired({ a, b, ...quiet });
    expect(widths.paired.differingOptions).toEqual([{ option: 'baseFilters of unet', a: 16, b: 4 }]);
    const same = await runPaired({ a, b: await folder('same-options', one), ...quiet });
    expect(same.paired.differingOptions).toEqual([]);
    expect(same.markdown).toContain('The same options, both scored on the same 2 test images (64x64, phantom): differences come from the code or the machine, not the protocol.');
    // Identical runs: every seed a tie, so no test.
    expect(same.paired.models[0].metrics[0]).toMatchObject({ aBetter: 0, bBetter: 0, ties: 2 });
    expect(same.markdown).toContain('| U-Net | 1,000 / 1,000 | 2 (2, 3) | DSC | 0.550 ± 0.071 | 0.550 ± 0.071 | +0.000 ± 0.000 | 0 of 2 (2 equal) | n/a |');
  });

  it('counts an option added since an older config was written at the value the bench had before it', async () => {
    const one = [runs('sa-unet', [2, 3], [0.5, 0.6], [4, 5])];
    const older = await folder('older', one);
    const config = JSON.parse(await readFile(join(older, 'config.json'), 'utf8'));
    delete config.channelAttention;
    delete config.trainImages;
    await writeFile(join(older, 'config.json'), JSON.stringify(config));
    const now = await folder('now', one);
    expect((await runPaired({ a: older, b: now, ...quiet })).paired.differingOptions).toEqual([]);
    const ablation = await folder('ablation', one, { channelAttention: false });
    expect((await runPaired({ a: older, b: ablation, ...quiet })).paired.differingOptions).toEqual([{ option: 'channelAttention', a: true, b: false }]);
  });

  it('pairs runs of one data folder given by two paths, listing the paths', async () => {
    const one = [runs('unet', [2, 3], [0.5, 0.6], [4, 5])];
    const data = { data: '../shared/datasets/usgra-nerve', label: 1 };
    const a = await folder('relative', one, data, { source: '../shared/datasets/usgra-nerve' });
    const b = await folder('absolute', one, { ...data, data: '/work/shared/datasets/usgra-nerve' }, { source: '/work/shared/datasets/usgra-nerve' });
    const { paired } = await runPaired({ a, b, ...quiet });
    expect(paired.differingOptions).toEqual([{ option: 'data', a: '../shared/datasets/usgra-nerve', b: '/work/shared/datasets/usgra-nerve' }]);
    expect(paired.testSet).toEqual({ source: '../shared/datasets/usgra-nerve', size: 64, images: 2, label: 1 });
    // Other image names are other test sets, whatever the folders.
    const other = await folder('other-names', one, data, { source: '../shared/datasets/usgra-nerve', testNames: ['a', 'z'] });
    await expect(runPaired({ a, b: other, ...quiet })).rejects.toThrow(/were scored on different test sets/);
  });

  it('compares only the models asked for, and writes the comparison as JSON with --out', async () => {
    const both = [runs('unet', [2, 3], [0.5, 0.6], [4, 5]), runs('sa-unet', [2, 3], [0.4, 0.7], [3, 6])];
    const a = await folder('models-a', both);
    const b = await folder('models-b', [runs('sa-unet', [2, 3], [0.45, 0.6], [3, 5]), runs('unet', [2, 3], [0.5, 0.5], [4, 4])]);
    const everything = await runPaired({ a, b, ...quiet });
    expect(everything.paired.models.map((m) => m.model)).toEqual(['unet', 'sa-unet']); // A's order
    const out = join(root, 'json', 'paired.json');
    const { paired } = await runPaired({ a, b, models: 'sa-unet', out, ...quiet });
    expect(paired.models.map((m) => m.model)).toEqual(['sa-unet']);
    expect(paired.models[0].metrics[0].difference.mean).toBeCloseTo(((0.4 - 0.45) + (0.7 - 0.6)) / 2, 12);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(JSON.parse(JSON.stringify(paired)));
  });

  it('compares the metrics asked for with --metrics, each in its direction', async () => {
    const scoredBy = (name: string, auc: number[], zeroOverlap: number[]) => {
      const m = runs('sa-unet', [2, 3, 4], [0.5, 0.5, 0.5], [4, 4, 4]);
      return folder(name, [{ ...m, repeats: m.repeats.map((rep, i) => ({ ...rep, metrics: { ...rep.metrics, pixelAucMicro: auc[i], zeroOverlapRate: zeroOverlap[i] } })) }]);
    };
    const a = await scoredBy('metrics-a', [0.80, 0.82, 0.70], [0.1, 0.2, 0.3]);
    const b = await scoredBy('metrics-b', [0.75, 0.80, 0.72], [0.2, 0.2, 0.4]);
    const { paired, markdown } = await runPaired({ a, b, metrics: 'pixelAucMicro, zeroOverlapRate', ...quiet });
    const [auc, zero] = paired.models[0].metrics;
    expect(auc).toMatchObject({ metric: 'pixelAucMicro', aBetter: 2, bBetter: 1, ties: 0 }); // higher is better
    expect(auc.difference.mean).toBeCloseTo((0.05 + 0.02 - 0.02) / 3, 12);
    expect(zero).toMatchObject({ metric: 'zeroOverlapRate', aBetter: 2, bBetter: 0, ties: 1 }); // lower is better
    expect(markdown).toMatch(/\| pixel AUC \| 0\.773 ± 0\.064 \| 0\.757 ± 0\.040 \| \+0\.017 ± 0\.035 \| 2 of 3 \|/);
    expect(markdown).toContain('| zero-overlap rate | 0.200 ± 0.100 | 0.267 ± 0.115 | −0.067 ± 0.058 | 2 of 3 (1 equal) |');
    await expect(runPaired({ a, b, metrics: 'dice,auc', ...quiet })).rejects.toThrow(
      /^paired: --metrics: unknown metric "auc"; expected any of: precision, recall, specificity, dice, iou, hausdorff, hausdorff95, assd, surfaceDice, pixelAucMicro, pixelAucMacro, zeroOverlapRate$/);
    await expect(runPaired({ a, b, metrics: ' , ', ...quiet })).rejects.toThrow(/^paired: --metrics: give at least one of precision, /);
  });

  it('runs from the command line: sa-unet-bench paired A B --models --metrics --out', async () => {
    const both = [runs('unet', [2, 3], [0.5, 0.6], [4, 5]), runs('sa-unet', [2, 3], [0.4, 0.7], [3, 6])];
    const a = await folder('cli-a', both);
    const b = await folder('cli-b', both, { learningRate: 1e-3 });
    const out = join(root, 'cli.json');
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      await buildProgram({ forTests: true }).parseAsync(['node', 'sa-unet-bench', 'paired', a, b, '--models', 'sa-unet', '--metrics', 'iou', '--out', out]);
    } finally {
      process.stdout.write = write;
    }
    const saved = JSON.parse(await readFile(out, 'utf8'));
    expect(saved.models.map((m: { model: string; metrics: Array<{ metric: string }> }) => [m.model, m.metrics.map((c) => c.metric)])).toEqual([['sa-unet', ['iou']]]);
    expect(saved.differingOptions).toEqual([{ option: 'learningRate', a: 5e-4, b: 1e-3 }]);
    expect(written.join('')).toContain('| SA-U-Net (proposed) | 1,000 / 1,000 | 2 (2, 3) | IoU | 0.330 ± 0.000 |');
  });

  it('refuses what it cannot pair, naming the folder and what was expected', async () => {
    const one = [runs('unet', [2, 3], [0.5, 0.6], [4, 5])];
    const a = await folder('refuse-a', one);
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['the same folder twice', async () => a, /^paired: .*refuse-a and .*refuse-a are the same folder; give two results folders of compare$/],
      ['no folder', async () => join(root, 'nowhere'), /^paired: .*nowhere is not a folder; give a finished results folder of compare$/],
      ['an unfinished run', async () => {
        const dir = join(root, 'unfinished.partial');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'config.json'), JSON.stringify(results(one, 32).config));
        return dir;
      }, /^paired: .*unfinished\.partial has no results\.json; give a finished results folder of compare/],
      ['a train folder', async () => folder('trained', one, { command: 'train' }), /^paired: .*trained holds the results of "train", not of compare$/],
      ['other test images', async () => folder('other-images', one, {}, { testNames: ['a', 'c'] }),
        /^paired: .*refuse-a and .*other-images were scored on different test sets \(2 images at 64x64 of phantom; 2 images at 64x64 of phantom\); pairing needs the same test images at the same size/],
      ['another phantom', async () => folder('other-phantom', one, { phantomCount: 40 }, { source: 'phantom(count=40, seed=1)' }),
        /different test sets \(2 images at 64x64 of phantom; 2 images at 64x64 of phantom\(count=40, seed=1\)\)/],
      ['another size', async () => folder('other-size', one, { size: 128 }, { size: 128 }), /different test sets \(2 images at 64x64 of phantom; 2 images at 128x128 of phantom\)/],
      ['another label', async () => folder('other-label', one, { label: 2 }), /different test sets \(2 images at 64x64 of phantom; 2 images at 64x64 of phantom \(label 2\)\)/],
      ['no model in common', async () => folder('other-model', [runs('sa-unet', [2, 3], [0.5, 0.6], [4, 5])]),
        /^paired: .*refuse-a \(unet\) and .*other-model \(sa-unet\) have no model in common$/],
      ['no seed in common', async () => folder('other-seeds', [runs('unet', [4, 5], [0.5, 0.6], [4, 5])]),
        /^paired: .*refuse-a \(seeds 2, 3\) and .*other-seeds \(seeds 4, 5\) have no run of the same model with the same seed; runs pair by seed/],
    ];
    for (const [what, b, message] of cases) await expect(runPaired({ a, b: await b(), ...quiet }), what).rejects.toThrow(message);
    const b = await folder('refuse-b', one);
    await expect(runPaired({ a, b, models: 'unet,sa-unet', ...quiet })).rejects.toThrow(/^paired: .*refuse-a has no runs of sa-unet \(it holds unet\)$/);
    await expect(runPaired({ a, b, models: 'segnet', ...quiet })).rejects.toThrow(/unknown model "segnet" in --models/);
  });
});
