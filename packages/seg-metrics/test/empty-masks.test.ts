/** The full empty-mask matrix: every metric, every policy, pred empty / truth empty / both. */
import { describe, expect, it } from 'vitest';
import {
  averageSurfaceDistance,
  dice,
  evaluate,
  hausdorffDistance,
  iou,
  precision,
  recall,
  rocAuc,
  rocAucDetails,
  specificity,
  surfaceDice,
  zeroOverlap,
  zeroOverlapRate,
  type ImageArray,
} from '@sa-unet/seg-metrics';
import { empty, rect } from './helpers.js';

const W = 8;
const H = 6;
const blob = rect(W, H, 2, 2, 5, 4);
const none = empty(W, H);
const full = rect(W, H, 0, 0, W, H);
const diagonal = Math.hypot(H, W);

type Ratio = (p: ImageArray, t: ImageArray, o?: { empty?: 'nan' | 'one' | 'zero' }) => number;
const ratios: Record<string, Ratio> = { precision, recall, specificity, dice, iou };

// [metric, pred, truth, value with a non-zero denominator or null when the denominator is 0]
const matrix: Array<[string, string, ImageArray, ImageArray, number | null]> = [
  ['precision', 'pred empty', none, blob, null],
  ['precision', 'truth empty', blob, none, 0],
  ['precision', 'both empty', none, none, null],
  ['recall', 'pred empty', none, blob, 0],
  ['recall', 'truth empty', blob, none, null],
  ['recall', 'both empty', none, none, null],
  ['specificity', 'pred empty', none, blob, 1],
  ['specificity', 'truth empty', blob, none, 1 - 6 / 48],
  ['specificity', 'both empty', none, none, 1],
  ['specificity', 'truth full', full, full, null],
  ['dice', 'pred empty', none, blob, 0],
  ['dice', 'truth empty', blob, none, 0],
  ['dice', 'both empty', none, none, null],
  ['iou', 'pred empty', none, blob, 0],
  ['iou', 'truth empty', blob, none, 0],
  ['iou', 'both empty', none, none, null],
];

describe('ratios: empty policy applies exactly when the denominator is 0', () => {
  it.each(matrix)('%s, %s', (metric, _, pred, truth, value) => {
    const f = ratios[metric];
    if (value === null) {
      expect(f(pred, truth)).toBeNaN();
      expect(f(pred, truth, { empty: 'nan' })).toBeNaN();
      expect(f(pred, truth, { empty: 'one' })).toBe(1);
      expect(f(pred, truth, { empty: 'zero' })).toBe(0);
    } else {
      for (const policy of ['nan', 'one', 'zero'] as const) expect(f(pred, truth, { empty: policy })).toBeCloseTo(value, 12);
    }
  });

  it('rejects an unknown policy by name', () => {
    expect(() => dice(none, none, { empty: 'maybe' as 'nan' })).toThrow(/empty: expected 'nan', 'one' or 'zero', got "maybe"/);
  });
});

describe('surface distances with empty masks', () => {
  it.each([
    ['pred empty', none, blob],
    ['truth empty', blob, none],
  ])('%s: Infinity, or the image diagonal with missPenalty diagonal', (_, pred, truth) => {
    for (const f of [hausdorffDistance, averageSurfaceDistance]) {
      expect(f(pred, truth)).toBe(Infinity);
      expect(f(pred, truth, { missPenalty: 'infinity' })).toBe(Infinity);
      expect(f(pred, truth, { missPenalty: 'diagonal' })).toBeCloseTo(diagonal, 12);
    }
    expect(hausdorffDistance(pred, truth, { percentile: 95, missPenalty: 'diagonal' })).toBeCloseTo(diagonal, 12);
    expect(hausdorffDistance(pred, truth, { directed: true })).toBe(Infinity);
  });

  it('the diagonal is in spacing units', () => {
    expect(hausdorffDistance(none, blob, { missPenalty: 'diagonal', spacing: [0.5, 2] })).toBeCloseTo(Math.hypot(H * 0.5, W * 2), 12);
  });

  it('both empty: NaN under every policy', () => {
    for (const missPenalty of ['infinity', 'diagonal'] as const) {
      expect(hausdorffDistance(none, none, { missPenalty })).toBeNaN();
      expect(averageSurfaceDistance(none, none, { missPenalty })).toBeNaN();
    }
  });

  it('rejects an unknown miss penalty', () => {
    expect(() => hausdorffDistance(none, blob, { missPenalty: 'big' as 'diagonal' })).toThrow(/missPenalty: expected 'infinity' or 'diagonal'/);
  });
});

describe('surface Dice with empty masks', () => {
  it.each([
    ['pred empty', none, blob],
    ['truth empty', blob, none],
  ])('%s: 0 under every policy and tolerance (no boundary pixel has a counterpart)', (_, pred, truth) => {
    for (const empty of ['nan', 'one', 'zero'] as const) {
      for (const tolerance of [0, 1, 100]) expect(surfaceDice(pred, truth, { tolerance, empty })).toBe(0);
    }
  });

  it('both empty: the empty policy', () => {
    expect(surfaceDice(none, none, { tolerance: 1 })).toBeNaN();
    expect(surfaceDice(none, none, { tolerance: 1, empty: 'nan' })).toBeNaN();
    expect(surfaceDice(none, none, { tolerance: 1, empty: 'one' })).toBe(1);
    expect(surfaceDice(none, none, { tolerance: 1, empty: 'zero' })).toBe(0);
  });
});

describe('AUC, zero overlap and evaluate with empty masks', () => {
  it('AUC: single-class truth is NaN with a reason', () => {
    expect(rocAuc(blob, none)).toBeNaN();
    expect(rocAucDetails(blob, none).reason).toMatch(/no positive \(foreground\) pixel/);
    expect(rocAucDetails(blob, full).reason).toMatch(/no negative \(background\) pixel/);
  });

  it('zero overlap: a missed nerve is a miss; an empty truth is never one', () => {
    expect(zeroOverlap(none, blob)).toBe(true);
    expect(zeroOverlap(rect(W, H, 6, 0, 8, 1), blob)).toBe(true);
    expect(zeroOverlap(rect(W, H, 4, 3, 6, 5), blob)).toBe(false);
    expect(zeroOverlap(blob, none)).toBe(false);
    expect(zeroOverlap(none, none)).toBe(false);
    expect(zeroOverlapRate([none, blob, blob], [blob, blob, none])).toBe(0.5);
    expect(zeroOverlapRate([none], [none])).toBeNaN();
  });

  it('evaluate skips NaN in its summaries and counts what it skipped', () => {
    const result = evaluate([blob, none, none], [blob, none, blob], { missPenalty: 'diagonal' });
    expect(result.summary.dice).toEqual({ mean: 0.5, sd: Math.SQRT1_2, count: 2, nanCount: 1 });
    expect(result.summary.hausdorff.count).toBe(2);
    expect(result.summary.hausdorff.nanCount).toBe(1);
    expect(result.summary.hausdorff.mean).toBeCloseTo(diagonal / 2, 12);
    expect(result.summary.auc.nanCount).toBe(1);
    expect(result.records.map((r) => r.surfaceDice)).toEqual([1, NaN, 0]);
    expect(result.summary.surfaceDice).toEqual({ mean: 0.5, sd: Math.SQRT1_2, count: 2, nanCount: 1 });
    expect(evaluate([none], [none], { empty: 'one' }).records[0].surfaceDice).toBe(1);
    expect(result.zeroOverlapRate).toBe(0.5);
  });
});
