/** Per-model base widths (`--base-filters unet=4,sa-unet=16`): parsed, checked, built, recorded and reported. */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '@sa-unet/unet-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseFiltersOf, renderMarkdown, resolveRunOptions, runCompare, type CompareResults } from '@sa-unet/bench';
import { buildProgram } from '../src/program.js';
import { useBackend } from '../../../test-utils/backends.js';
import { model, results } from './helpers.js';

/** The options commander gives the compare command's action for these flags. */
async function compareFlags(...args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram({ forTests: true });
  let seen: Record<string, unknown> = {};
  program.commands.find((c) => c.name() === 'compare')!.action((opts: Record<string, unknown>) => {
    seen = opts;
  });
  await program.parseAsync(['node', 'sa-unet-bench', 'compare', ...args]);
  return seen;
}

describe('--base-filters with widths of single models', () => {
  it.each<[string, { baseFilters?: number; modelBaseFilters?: Record<string, number> }]>([
    ['16', { baseFilters: 16 }],
    ['unet=4', { modelBaseFilters: { unet: 4 } }],
    ['unet=4,sa-unet=32', { modelBaseFilters: { unet: 4, 'sa-unet': 32 } }],
    ['8, unet = 4', { baseFilters: 8, modelBaseFilters: { unet: 4 } }],
  ])('the flag %s parses', async (value, expected) => {
    expect((await compareFlags('--base-filters', value)).baseFilters).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['unet=2', /--base-filters takes an integer >= 4 or model=integer pairs \(as 16 or unet=4,sa-unet=16\), got 'unet=2' in 'unet=2'/],
    ['unet=', /got 'unet=' in 'unet='/],
    ['16,8', /--base-filters takes one width for every model, got 16 and 8 in '16,8'/],
    ['unet=4,unet=8', /--base-filters gives unet twice in 'unet=4,unet=8'/],
  ])('the flag %s is refused', async (value, message) => {
    await expect(compareFlags('--base-filters', value)).rejects.toThrow(message);
  });

  it('resolves to the widths that differ from the run\'s, in the zoo\'s order, for models the run trains', () => {
    const options = resolveRunOptions({ models: 'sa-unet,unet,attention-unet', baseFilters: 8, modelBaseFilters: { 'sa-unet': 16, unet: 4, 'attention-unet': 8 } });
    expect(options.modelBaseFilters).toEqual({ unet: 4, 'sa-unet': 16 });
    expect(Object.keys(options.modelBaseFilters)).toEqual(['unet', 'sa-unet']);
    expect(['unet', 'attention-unet', 'sa-unet', 'multires-unet'].map((m) => baseFiltersOf(options, m as 'unet'))).toEqual([4, 8, 16, 8]);
    expect(resolveRunOptions({}).modelBaseFilters).toEqual({});
    expect(resolveRunOptions({ models: 'unet', modelBaseFilters: { unet: 16 } }).modelBaseFilters).toEqual({}); // the quick preset's width
    expect(resolveRunOptions({ models: 'unet', preset: 'paper', modelBaseFilters: { unet: 16 } }).modelBaseFilters).toEqual({ unet: 16 });
  });

  it.each<[string, Record<string, number>, string, RegExp]>([
    ['a model the run does not train', { unet: 4 }, 'sa-unet', /^--base-filters: unet=4 names a model that this run does not train \(models: sa-unet\)$/],
    ['an unknown model', { segnet: 4 }, 'unet', /^--base-filters: unknown model "segnet"; expected any of: unet, unet-plus-plus, attention-unet, multires-unet, sa-unet$/],
    ['a width below 4', { unet: 3 }, 'unet', /^--base-filters \(the width of unet\) must be an integer >= 4, got 3$/],
    ['a width that is not an integer', { unet: 4.5 }, 'unet', /^--base-filters \(the width of unet\) must be an integer >= 4, got 4.5$/],
  ])('refuses %s', (_, modelBaseFilters, models, message) => {
    expect(() => resolveRunOptions({ models, modelBaseFilters })).toThrow(message);
  });

  it('the table names each model\'s width where they differ, and the narrowest against the paper\'s', () => {
    const two = results([model('unet', [[0.5]]), model('sa-unet', [[0.5]])], 8);
    const one = renderMarkdown(two);
    expect(one).toContain('; networks of base width 16.');
    expect(one).toContain('1 repeat (paper 20 repeats), base width 16 (paper base width 32). A check');
    const mixed = renderMarkdown({ ...two, config: { ...two.config, baseFilters: 32, modelBaseFilters: { unet: 4 } } });
    expect(mixed).toContain('; networks of base widths U-Net 4, SA-U-Net (proposed) 32.');
    expect(mixed).toContain('1 repeat (paper 20 repeats), base width 4 (paper base width 32). A check');
    const narrow = renderMarkdown({ ...two, config: { ...two.config, baseFilters: 8, modelBaseFilters: { unet: 4 } } });
    expect(narrow).toContain('base widths 4 to 8 (paper base width 32). A check');
  });
});

describe('compare with a width per model (phantom, 32x32, one epoch)', () => {
  let root: string;
  let run: CompareResults;
  const common = { models: 'unet,sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 6, quiet: true, workers: 1, backend: 'wasm' } as const;

  beforeAll(async () => {
    await useBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'bench-widths-'));
    ({ results: run } = await runCompare({ ...common, modelBaseFilters: { unet: 4 }, out: join(root, 'run') }));
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('builds each model at its width and records it in results.json, config.json, table.md and table.csv', async () => {
    expect(run.models.map((m) => [m.model, m.baseFilters])).toEqual([['unet', 4], ['sa-unet', 8]]);
    const expected = ([['unet', 4], ['sa-unet', 8]] as const).map(([name, baseFilters]) => {
      const built = createModel(name, { inputShape: [32, 32, 1], baseFilters });
      const params = built.countParams();
      built.dispose();
      return params;
    });
    expect(run.models.map((m) => m.params)).toEqual(expected);
    const config = JSON.parse(await readFile(join(root, 'run', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ baseFilters: 8, modelBaseFilters: { unet: 4 } });
    expect(await readFile(join(root, 'run', 'table.md'), 'utf8')).toContain('networks of base widths U-Net 4, SA-U-Net (proposed) 8.');
    const csv = (await readFile(join(root, 'run', 'table.csv'), 'utf8')).trim().split('\n').map((line) => line.split(','));
    const at = csv[0].indexOf('base_filters');
    expect(csv.slice(1).map((row) => [row[0], row[at]])).toEqual([['unet', '4'], ['sa-unet', '8']]);
  });

  it('--resume continues only with the same widths', async () => {
    const partial = join(root, 'other.partial');
    await cp(join(root, 'run'), partial, { recursive: true });
    await rm(join(partial, 'results.json'));
    await expect(runCompare({ ...common, out: join(root, 'other'), resume: true }))
      .rejects.toThrow(/--resume: .*config\.json was written with other options/);
    await expect(runCompare({ ...common, modelBaseFilters: { unet: 8 }, out: join(root, 'other'), resume: true }))
      .rejects.toThrow(/--resume: .*config\.json was written with other options/);
    const { results: resumed } = await runCompare({ ...common, modelBaseFilters: { unet: 4 }, out: join(root, 'other'), resume: true });
    expect(resumed.models.map((m) => m.repeats[0].metrics.dice)).toEqual(run.models.map((m) => m.repeats[0].metrics.dice));
  }, 120_000);
});
