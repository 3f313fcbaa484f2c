/** --foreground-prior: the networks' heads start at a foreground probability, given or from the training masks. */
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderMarkdown, resolveRunOptions } from '@sa-unet/bench';
import { foregroundFraction } from '../src/data/foreground.js';
import { buildModel, resolveForegroundPrior } from '../src/commands/run-model.js';
import { useBackend } from '../../../test-utils/backends.js';
import { model, results } from './helpers.js';

const masks = (...fractions: number[]) => fractions.map((f) => ({ mask: Uint8Array.from({ length: 100 }, (_, i) => (i < f * 100 ? 1 : 0)) }));
const logit = (p: number) => Math.log(p / (1 - p));

async function headBias(m: tfl.LayersModel): Promise<number> {
  const head = m.layers.find((l) => l.name.endsWith('_head'))!;
  return (await head.getWeights()[1].data())[0];
}

beforeAll(() => useBackend('wasm'));

describe('foreground fraction of the training masks', () => {
  it('counts every mask\'s pixels together', () => {
    expect(foregroundFraction(masks(0.1, 0.3))).toBeCloseTo(0.2, 12);
    expect(foregroundFraction([{ mask: new Uint8Array(300) }, ...masks(0.5)])).toBeCloseTo(50 / 400, 12);
    expect(foregroundFraction([])).toBe(0);
  });

  it('is what auto resolves to; a number or none stays as it is', () => {
    expect(resolveForegroundPrior('auto', masks(0.02, 0.04))).toBeCloseTo(0.03, 12);
    expect(resolveForegroundPrior(0.1, masks(0.5))).toBe(0.1);
    expect(resolveForegroundPrior(null, masks(0.5))).toBeNull();
  });

  it('auto on masks of one class only: an error naming the flag and what to give instead', () => {
    expect(() => resolveForegroundPrior('auto', masks(0, 0))).toThrow('--foreground-prior auto: the 2 training masks are all background; give a probability in (0, 1)');
    expect(() => resolveForegroundPrior('auto', masks(1))).toThrow('--foreground-prior auto: the 1 training masks are all foreground; give a probability in (0, 1)');
  });
});

describe('the models a run builds', () => {
  it.each(['unet', 'sa-unet'] as const)('%s: the head\'s bias starts at the prior\'s logit, or at zero without one', async (name) => {
    const options = { size: 32, baseFilters: 4 };
    const primed = buildModel(name, { ...options, foregroundPrior: 0.04 }, 3);
    const plain = buildModel(name, { ...options, foregroundPrior: null }, 3);
    expect(await headBias(primed)).toBeCloseTo(logit(0.04), 6);
    expect(await headBias(plain)).toBe(0);
    // Everything else is drawn from the same seed alike.
    const others = (m: tfl.LayersModel) => m.weights.filter((w) => !w.originalName.includes('_head/'));
    const [a, b] = [others(primed), others(plain)];
    expect(a.map((w) => w.originalName)).toEqual(b.map((w) => w.originalName));
    for (let i = 0; i < a.length; i++) expect(Array.from(await a[i].read().data())).toEqual(Array.from(await b[i].read().data()));
    primed.dispose();
    plain.dispose();
  });
});

describe('options and the table', () => {
  it.each<[unknown, string]>([
    [0, 'got 0'], [1, 'got 1'], [-0.5, 'got -0.5'], ['often', 'got "often"'], [Number.NaN, 'got null'],
  ])('--foreground-prior %s: an error naming the flag and the values it takes', (value, got) => {
    expect(() => resolveRunOptions({ foregroundPrior: value as number })).toThrow(
      `--foreground-prior must be 'auto' (the training masks' foreground fraction) or a probability in (0, 1), ${got}`);
  });

  it('defaults to none in both presets (the paper\'s zero bias); takes auto or a probability', () => {
    expect(resolveRunOptions({}).foregroundPrior).toBeNull();
    expect(resolveRunOptions({ preset: 'paper' }).foregroundPrior).toBeNull();
    expect(resolveRunOptions({ foregroundPrior: 'auto' }).foregroundPrior).toBe('auto');
    expect(resolveRunOptions({ foregroundPrior: 0.02 }).foregroundPrior).toBe(0.02);
  });

  it('the table says where a run is smaller than the paper\'s protocol, and nothing where it is not', () => {
    const quick = renderMarkdown(results([model('unet', [[0.5]])], 8));
    expect(quick).toContain("- Scale: smaller than the paper's protocol: 64x64 (paper 256x256), 8 epochs (paper 100 epochs), 1 repeat (paper 20 repeats), " +
      'base width 16 (paper base width 32). A check of the pipeline, not a reproduction:');
    const full = results([model('unet', [[0.5]])], 100);
    const paperScale = { ...full.config, size: 256, repeats: 20, baseFilters: 32 };
    expect(renderMarkdown({ ...full, config: paperScale })).not.toContain('- Scale:');
    expect(renderMarkdown({ ...full, config: { ...paperScale, epochs: 60 } })).toContain("- Scale: smaller than the paper's protocol: 60 epochs (paper 100 epochs). A check");
  });

  it('the table states the training set\'s foreground fraction, and the prior a run started at', () => {
    const plain = results([model('unet', [[0.5]])], 1);
    expect(renderMarkdown(plain)).toContain('; 3.00% of the training pixels are foreground.');
    expect(renderMarkdown(plain)).not.toContain('--foreground-prior');
    const auto = renderMarkdown({ ...plain, config: { ...plain.config, foregroundPrior: 'auto' } });
    expect(auto).toContain("Every output pixel started at foreground probability 0.0300 (--foreground-prior auto: the training masks' foreground fraction), " +
      "the heads' bias at its logit; not in the paper.");
    const given = renderMarkdown({ ...plain, config: { ...plain.config, foregroundPrior: 0.05 } });
    expect(given).toContain('Every output pixel started at foreground probability 0.05 (--foreground-prior)');
  });
});
