/**
 * Paired comparisons over repeats: the signed-rank test against known values (R's wilcox.test),
 * against a brute-force count of every sign pattern (ties included), its normal approximation, and
 * the comparisons and table of SA-U-Net against each model.
 */
import { summarize } from '@sa-unet/seg-metrics';
import { describe, expect, it } from 'vitest';
import { pairedComparisons, renderMarkdown, signedRankTest, type ModelResult } from '@sa-unet/bench';
import { model, results } from './helpers.js';

/** The two-sided p of V by trying all 2^n signs of the differences' average ranks (an independent count). */
function bruteForceP(differences: number[]): number {
  const d = differences.filter((x) => x !== 0);
  const abs = d.map(Math.abs);
  const rank = (v: number) => {
    const below = abs.filter((a) => a < v).length;
    const equal = abs.filter((a) => a === v).length;
    return below + (equal + 1) / 2;
  };
  const ranks = abs.map(rank);
  const v = ranks.reduce((s, r, i) => s + (d[i] > 0 ? r : 0), 0);
  let atMost = 0;
  let atLeast = 0;
  const patterns = 2 ** d.length;
  for (let mask = 0; mask < patterns; mask++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) if (mask & (1 << i)) s += ranks[i];
    if (s <= v + 1e-9) atMost++;
    if (s >= v - 1e-9) atLeast++;
  }
  return Math.min(1, (2 * Math.min(atMost, atLeast)) / patterns);
}

describe('signedRankTest', () => {
  it('gives R\'s wilcox.test values on its paired example (V = 40, two-sided p = 20/512)', () => {
    const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const t = signedRankTest(x.map((v, i) => v - y[i]));
    expect(t).toMatchObject({ n: 9, statistic: 40, method: 'exact' });
    expect(t.pValue).toBeCloseTo(20 / 512, 12);
  });

  it('cannot go below 2/2^n: five differences of one sign give 0.0625, and one gives 1', () => {
    expect(signedRankTest([0.1, 0.2, 0.3, 0.4, 0.5]).pValue).toBeCloseTo(0.0625, 12);
    expect(signedRankTest([-0.1, -0.2, -0.3, -0.4, -0.5])).toMatchObject({ statistic: 0 });
    expect(signedRankTest([-0.1, -0.2, -0.3, -0.4, -0.5]).pValue).toBeCloseTo(0.0625, 12);
    expect(signedRankTest([0.3]).pValue).toBe(1);
  });

  it('drops zero differences, and has no p without a non-zero one', () => {
    expect(signedRankTest([0, 0.5, -0.25, 0])).toMatchObject({ n: 2, statistic: 2 });
    expect(signedRankTest([0, 0])).toMatchObject({ n: 0, statistic: 0 });
    expect(signedRankTest([0, 0]).pValue).toBeNaN();
    expect(signedRankTest([]).pValue).toBeNaN();
  });

  it('is exact with tied magnitudes too: equal to counting every sign pattern', () => {
    const cases = [
      [1, -1, 2, 2, 3, -3, 4, 0.5],
      [0.2, 0.2, 0.2, -0.2, 0.1, 0.3, -0.1, 0.4, 0.4, 0.5, -0.6, 0.7],
      [5, -4, 3, -2, 1, 0, 2, -3],
    ];
    for (const d of cases) expect(signedRankTest(d).pValue, JSON.stringify(d)).toBeCloseTo(bruteForceP(d), 12);
  });

  it('above exactMaxN uses the normal approximation, close to the exact value', () => {
    // 60 differences, magnitudes 1..60 with ties, signs leaning positive.
    const d = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? -1 : 1) * (1 + Math.floor(i / 2)));
    const exact = signedRankTest(d);
    const normal = signedRankTest(d, 10);
    expect(normal.method).toBe('normal');
    expect(normal.statistic).toBe(exact.statistic);
    expect(exact.pValue).toBeGreaterThan(0.001);
    expect(exact.pValue).toBeLessThan(0.2);
    expect(Math.abs(normal.pValue - exact.pValue)).toBeLessThan(0.005);
    // All of 400 positive: far in the tail; a balanced set: near 1.
    expect(signedRankTest(Array.from({ length: 400 }, (_, i) => i + 1)).pValue).toBeLessThan(1e-40);
    expect(signedRankTest(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (Math.floor(i / 2) + 1))).pValue).toBeGreaterThan(0.9);
  });

  it('refuses a non-finite difference, naming its index', () => {
    expect(() => signedRankTest([0.1, Number.NaN])).toThrow('signedRankTest: differences must be finite numbers, got NaN at index 1');
  });
});

/** A model whose repeats scored these DSCs and HDs (other metrics fixed). */
function scored(name: ModelResult['model'], dice: number[], hausdorff: number[]): ModelResult {
  const m = model(name, dice.map(() => [0.5]));
  return { ...m, repeats: m.repeats.map((rep, i) => ({ ...rep, metrics: { ...rep.metrics, dice: dice[i], hausdorff: hausdorff[i] } })) };
}

describe('pairedComparisons and their table', () => {
  const unet = scored('unet', [0.70, 0.60, 0.65, 0.50, 0.55, 0.62], [6, 7, 5, 9, 8, 6]);
  const sa = scored('sa-unet', [0.75, 0.62, 0.66, 0.58, 0.54, 0.70], [5, 6, 5, 7, 8.5, 4]);

  it('pairs SA-U-Net\'s repeats with each model\'s: differences, who did better, the test', () => {
    const [dice, hd] = pairedComparisons([unet, sa]);
    expect(dice).toMatchObject({ model: 'unet', metric: 'dice', referenceBetter: 5, otherBetter: 1, ties: 0 });
    const d = [0.05, 0.02, 0.01, 0.08, -0.01, 0.08];
    expect(dice.difference.mean).toBeCloseTo(summarize(d).mean, 12);
    expect(dice.signedRank.pValue).toBeCloseTo(bruteForceP([0.75 - 0.70, 0.62 - 0.60, 0.66 - 0.65, 0.58 - 0.50, 0.54 - 0.55, 0.70 - 0.62]), 12);
    // HD: lower is better; one tie (repeat 3), dropped by the test.
    expect(hd).toMatchObject({ model: 'unet', metric: 'hausdorff', referenceBetter: 4, otherBetter: 1, ties: 1 });
    expect(hd.signedRank.n).toBe(5);
    expect(pairedComparisons([unet])).toEqual([]);
  });

  it('pairs by repeat number, skipping repeats only one model has', () => {
    const partial = { ...unet, repeats: unet.repeats.filter((rep) => rep.repeat !== 2) };
    const [dice] = pairedComparisons([sa, partial]);
    expect(dice.difference.count).toBe(5);
    expect(dice.difference.mean).toBeCloseTo(summarize([0.05, 0.01, 0.08, -0.01, 0.08]).mean, 12);
  });

  it('renders a table of SA-U-Net against each model, or none with one repeat', () => {
    const r = { ...results([{ ...unet, params: 136_537 }, sa], 8), paired: pairedComparisons([unet, sa]) };
    const md = renderMarkdown(r);
    const p = (x: number) => x.toFixed(3);
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
    const [dice, hd] = r.paired;
    expect(md).toContain('## SA-U-Net (proposed) against each model, paired by repeat');
    expect(dice.difference.mean).toBeGreaterThan(0);
    expect(hd.difference.mean).toBeLessThan(0);
    expect(md).toContain('| model | parameters (SA-U-Net: 1,000) | DSC: SA-U-Net − model | SA-U-Net higher | p | HD (px): SA-U-Net − model | SA-U-Net lower | p |\n' +
      '|---|---:|---|---|---|---|---|---|\n');
    expect(md).toContain(`| U-Net | 136,537 | ${signed(dice.difference.mean)} ± ${dice.difference.sd.toFixed(3)} | 5 of 6 | ${p(dice.signedRank.pValue)} | ` +
      `${signed(hd.difference.mean)} ± ${hd.difference.sd.toFixed(3)} | 4 of 6 | ${p(hd.signedRank.pValue)} |\n`);
    const one = [scored('unet', [0.7], [6]), scored('sa-unet', [0.6], [7])];
    expect(renderMarkdown({ ...results(one, 8), paired: pairedComparisons(one) })).not.toContain('paired by repeat');
    expect(renderMarkdown(results([unet, sa], 8))).not.toContain('paired by repeat'); // results.json of an older version
  });
});
