/** Known geometry: distances that can be worked out by hand. */
import { describe, expect, it } from 'vitest';
import { averageSurfaceDistance, boundaryOf, evaluate, hausdorffDistance, percentile, squaredDistanceTransform, surfaceDice } from '@sa-unet/seg-metrics';
import { disc, maskFrom, rect } from './helpers.js';

describe('Hausdorff distance, known geometry', () => {
  it.each([1, 2, 3, 5, 8])('a square shifted by %i pixels along x has HD = k', (k) => {
    const a = rect(40, 30, 5, 5, 15, 15);
    const b = rect(40, 30, 5 + k, 5, 15 + k, 15);
    expect(hausdorffDistance(a, b)).toBe(k);
    expect(hausdorffDistance(b, a)).toBe(k);
  });

  it('a square shifted diagonally by (3, 4) has HD = 5', () => {
    expect(hausdorffDistance(rect(40, 40, 5, 5, 15, 15), rect(40, 40, 9, 8, 19, 18))).toBe(5);
  });

  it('spacing scales the distances: [2, 2] doubles them; anisotropic spacing weights each axis', () => {
    const a = rect(40, 30, 5, 5, 15, 15);
    const b = rect(40, 30, 8, 5, 18, 15);
    expect(hausdorffDistance(a, b, { spacing: [2, 2] })).toBe(6);
    expect(hausdorffDistance(a, b, { spacing: [0.1, 0.5] })).toBeCloseTo(1.5, 12);
    const c = rect(40, 30, 5, 9, 15, 19); // shifted 4 rows
    expect(hausdorffDistance(a, c, { spacing: [0.1, 0.5] })).toBeCloseTo(0.4, 12);
  });

  it('concentric discs: HD is the difference of radii, to within the pixel grid', () => {
    const inner = disc(61, 61, 30, 30, 8);
    const outer = disc(61, 61, 30, 30, 20);
    const hd = hausdorffDistance(inner, outer);
    expect(hd).toBeGreaterThanOrEqual(11);
    expect(hd).toBeLessThanOrEqual(13);
    // Directed from the inner disc: its boundary is ~12 from the outer boundary too (symmetric here).
    expect(hausdorffDistance(inner, outer, { directed: true })).toBeCloseTo(hd, 0);
  });

  it('directed distances differ when one mask contains a far outlier', () => {
    const truth = rect(30, 30, 10, 10, 14, 14);
    const pred = maskFrom(Array.from({ length: 30 }, (_, y) => Array.from({ length: 30 }, (_, x) =>
      (x >= 10 && x < 14 && y >= 10 && y < 14) || (x === 25 && y === 12) ? '1' : '0').join('')));
    // pred -> truth: the outlier at x 25 is 12 from the truth's right edge (x 13).
    expect(hausdorffDistance(pred, truth, { directed: true })).toBe(12);
    // truth -> pred: every truth boundary pixel is on pred's boundary.
    expect(hausdorffDistance(truth, pred, { directed: true })).toBe(0);
    expect(hausdorffDistance(pred, truth)).toBe(12);
  });

  it('HD95 ignores a 1-pixel outlier among many boundary pixels; HD does not', () => {
    const truth = rect(80, 80, 10, 10, 60, 60);
    const pred = { ...truth, data: Uint8Array.from(truth.data) };
    pred.data[70 * 80 + 70] = 1; // far outlier
    expect(hausdorffDistance(pred, truth)).toBeCloseTo(Math.hypot(11, 11), 12);
    expect(hausdorffDistance(pred, truth, { percentile: 95 })).toBe(0);
  });

  it('ASSD of two squares shifted by 2: mean over both boundaries of the distance to the other', () => {
    const a = rect(30, 30, 5, 5, 15, 15);
    const b = rect(30, 30, 7, 5, 17, 15);
    const assd = averageSurfaceDistance(a, b);
    expect(assd).toBeGreaterThan(0);
    expect(assd).toBeLessThan(2);
    // Symmetric.
    expect(averageSurfaceDistance(b, a)).toBeCloseTo(assd, 12);
  });
});

describe('surface Dice at a tolerance, known geometry', () => {
  // Two 10x10 squares, the second shifted k pixels along x; each boundary has 36 pixels. Shifted
  // by 3, a's boundary lies at distance 0 from b's (14 pixels: the shared parts of the top and
  // bottom rows), 1 (4), 2 (4) and 3 (14: its left column, the far row ends, the middle of its
  // right column); b's mirrors it. Surface Dice = pixels within the tolerance over 72.
  const a = rect(40, 30, 5, 5, 15, 15);
  it.each<[number, number, number]>([
    // [shift, tolerance, surface Dice]
    [0, 0, 1],
    [1, 0, 36 / 72],
    [1, 1, 1],
    [2, 0, 32 / 72],
    [2, 1, 40 / 72],
    [2, 2, 1],
    [3, 0.5, 28 / 72],
    [3, 1, 36 / 72],
    [3, 2.5, 44 / 72],
    [3, 3, 1],
  ])('squares shifted by %i, tolerance %f: %f', (shift, tolerance, expected) => {
    const b = rect(40, 30, 5 + shift, 5, 15 + shift, 15);
    expect(surfaceDice(a, b, { tolerance })).toBeCloseTo(expected, 12);
    expect(surfaceDice(b, a, { tolerance })).toBeCloseTo(expected, 12);
  });

  it('the tolerance is in spacing units: spacing [1, 0.5] halves the x shift', () => {
    const b = rect(40, 30, 7, 5, 17, 15);
    expect(surfaceDice(a, b, { tolerance: 1, spacing: [1, 0.5] })).toBe(1);
    expect(surfaceDice(a, b, { tolerance: 1 })).toBeCloseTo(40 / 72, 12);
  });

  it('evaluate reports it at surfaceDiceTolerance (default 1, in spacing units)', () => {
    const b = rect(40, 30, 7, 5, 17, 15);
    expect(evaluate([b], [a]).records[0].surfaceDice).toBeCloseTo(40 / 72, 12);
    expect(evaluate([b], [a], { surfaceDiceTolerance: 2 }).records[0].surfaceDice).toBe(1);
    expect(evaluate([b], [a], { spacing: [1, 0.5] }).records[0].surfaceDice).toBe(1);
  });
});

describe('building blocks', () => {
  it('boundary: 4-neighbourhood, the image border counts as background', () => {
    const mask = maskFrom(['11111', '11111', '11111', '01010']);
    const edge = boundaryOf({ data: Uint8Array.from(mask.data), width: 5, height: 4 });
    expect(Array.from(edge)).toEqual([
      1, 1, 1, 1, 1,
      1, 0, 0, 0, 1,
      1, 0, 1, 0, 1,
      0, 1, 0, 1, 0,
    ]);
  });

  it('the distance transform is exact against brute force', () => {
    const w = 17;
    const h = 13;
    const sources = new Uint8Array(w * h);
    for (const i of [3, 40, 77, 150, 200]) sources[i] = 1;
    const edt = squaredDistanceTransform(sources, w, h, 0.7, 1.3);
    for (let i = 0; i < w * h; i++) {
      let best = Infinity;
      for (let j = 0; j < w * h; j++) {
        if (!sources[j]) continue;
        const dy = (Math.floor(i / w) - Math.floor(j / w)) * 0.7;
        const dx = ((i % w) - (j % w)) * 1.3;
        best = Math.min(best, dy * dy + dx * dx);
      }
      expect(edt[i]).toBeCloseTo(best, 9);
    }
  });

  it('percentile interpolates linearly between closest ranks (numpy default)', () => {
    const v = Float64Array.from([4, 1, 3, 2]);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(4);
    expect(percentile(v, 50)).toBe(2.5);
    expect(percentile(v, 95)).toBeCloseTo(3.85, 12);
  });
});
