/** Every metric against values computed by numpy/scipy/scikit-learn (scripts/make_fixtures.py). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  averageSurfaceDistance,
  confusion,
  dice,
  hausdorffDistance,
  iou,
  precision,
  recall,
  rocAuc,
  rocCurve,
  specificity,
  surfaceDice,
  surfaceDiceFromDistances,
  surfaceDistances,
  type ImageArray,
} from '@sa-unet/seg-metrics';
import { num } from './helpers.js';

interface FixtureCase {
  name: string;
  width: number;
  height: number;
  spacing: [number, number];
  scores: number[];
  truth: string;
  expected: Record<string, number | string> & {
    roc?: { fpr: number[]; tpr: number[]; thresholds: number[] };
    surfaceDice: { tolerances: number[]; values: Array<number | string> };
  };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

function close(actual: number, expected: number, tolerance: number, what: string): void {
  if (Number.isNaN(expected)) expect(actual, what).toBeNaN();
  else if (!Number.isFinite(expected)) expect(actual, what).toBe(expected);
  else expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));
}

describe('reference fixture', () => {
  it('has a few hundred cases', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(250);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const scores: ImageArray = { data: Float64Array.from(c.scores), width: c.width, height: c.height };
    const truth: ImageArray = { data: Uint8Array.from(c.truth, (ch) => (ch === '1' ? 1 : 0)), width: c.width, height: c.height };
    const e = c.expected;
    expect(confusion(scores, truth)).toEqual({ tp: e.tp, fp: e.fp, fn: e.fn, tn: e.tn });
    close(precision(scores, truth), num(e.precision), 1e-12, 'precision');
    close(recall(scores, truth), num(e.recall), 1e-12, 'recall');
    close(specificity(scores, truth), num(e.specificity), 1e-12, 'specificity');
    close(dice(scores, truth), num(e.dice), 1e-12, 'dice');
    close(iou(scores, truth), num(e.iou), 1e-12, 'iou');
    const spacing = c.spacing;
    close(hausdorffDistance(scores, truth, { spacing }), num(e.hausdorff), 1e-9, 'hausdorff');
    close(hausdorffDistance(scores, truth, { spacing, percentile: 95 }), num(e.hausdorff95), 1e-9, 'hausdorff95');
    close(averageSurfaceDistance(scores, truth, { spacing }), num(e.assd), 1e-9, 'assd');
    const distances = surfaceDistances(scores, truth, { spacing });
    e.surfaceDice.tolerances.forEach((tolerance, i) => {
      const expected = num(e.surfaceDice.values[i]);
      close(surfaceDice(scores, truth, { spacing, tolerance }), expected, 1e-12, `surfaceDice at ${tolerance}`);
      close(surfaceDiceFromDistances(distances, { tolerance }), expected, 1e-12, `surfaceDiceFromDistances at ${tolerance}`);
    });
    close(rocAuc(scores, truth), num(e.auc), 1e-12, 'auc');
    if (e.roc) {
      const roc = rocCurve(scores, truth);
      expect(roc.thresholds[0]).toBe(Infinity);
      expect(Array.from(roc.thresholds.subarray(1))).toEqual(e.roc.thresholds);
      expect(roc.fpr.length).toBe(e.roc.fpr.length);
      e.roc.fpr.forEach((v, i) => close(roc.fpr[i], v, 1e-9, `fpr[${i}]`));
      e.roc.tpr.forEach((v, i) => close(roc.tpr[i], v, 1e-9, `tpr[${i}]`));
    }
  });
});
