import { describe, expect, it } from 'vitest';
import { rocAuc, rocAucDetails, rocCurve, type ImageArray } from '@sa-unet/seg-metrics';

const img = (data: number[], truthBits: number[]): [ImageArray, ImageArray] => [
  { data, width: data.length, height: 1 },
  { data: truthBits, width: truthBits.length, height: 1 },
];

describe('ROC AUC', () => {
  it('perfect separation = 1, inverted = 0', () => {
    expect(rocAuc(...img([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]))).toBe(1);
    expect(rocAuc(...img([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]))).toBe(0);
  });

  it('ties count half (as sklearn): worked by hand', () => {
    // positives 0.5, 0.7; negatives 0.5, 0.2: pairs (0.5 vs 0.5) = 1/2, (0.5 vs 0.2) = 1, (0.7 vs both) = 2 -> 3.5 / 4
    expect(rocAuc(...img([0.5, 0.7, 0.5, 0.2], [1, 1, 0, 0]))).toBe(0.875);
  });

  it('constant scores: 0.5, and a two-point curve', () => {
    const [s, t] = img([0.3, 0.3, 0.3, 0.3, 0.3], [1, 0, 0, 1, 0]);
    expect(rocAuc(s, t)).toBe(0.5);
    const roc = rocCurve(s, t);
    expect(Array.from(roc.thresholds)).toEqual([Infinity, 0.3]);
    expect(Array.from(roc.fpr)).toEqual([0, 1]);
    expect(Array.from(roc.tpr)).toEqual([0, 1]);
  });

  it('single class in truth: NaN, with the reason and the class counts', () => {
    const details = rocAucDetails(...img([0.1, 0.9, 0.4], [0, 0, 0]));
    expect(details.auc).toBeNaN();
    expect(details).toMatchObject({ positives: 0, negatives: 3 });
    expect(details.reason).toMatch(/no positive \(foreground\) pixel, so the ROC AUC is undefined/);
  });

  it('the curve is monotone and ends at (1, 1)', () => {
    const n = 500;
    const scores = Array.from({ length: n }, (_, i) => Math.round(((i * 7919) % 101) / 10) / 10);
    const truth = Array.from({ length: n }, (_, i) => ((i * 31) % 7 < 3 ? 1 : 0));
    const roc = rocCurve(...img(scores, truth));
    for (let i = 1; i < roc.fpr.length; i++) {
      expect(roc.fpr[i]).toBeGreaterThanOrEqual(roc.fpr[i - 1]);
      expect(roc.tpr[i]).toBeGreaterThanOrEqual(roc.tpr[i - 1]);
      expect(roc.thresholds[i]).toBeLessThan(roc.thresholds[i - 1]);
    }
    expect(roc.fpr[roc.fpr.length - 1]).toBe(1);
    expect(roc.tpr[roc.tpr.length - 1]).toBe(1);
    // The trapezoidal area under the curve is the AUC.
    let area = 0;
    for (let i = 1; i < roc.fpr.length; i++) area += ((roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1])) / 2;
    expect(area).toBeCloseTo(rocAuc(...img(scores, truth)), 12);
  });
});
