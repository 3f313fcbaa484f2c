/**
 * Every metric against its definition computed the slow, obvious way, on seeded random mask pairs
 * (empty, full, speckled and elliptical masks; 1 to 20 pixels a side; unit and anisotropic
 * spacing): surface distances from all pairs of boundary pixels, the AUC as the Mann-Whitney
 * statistic with ties counted half, the ratios from counted pixels.
 */
import { describe, expect, it } from 'vitest';
import { averageSurfaceDistance, dice, hausdorffDistance, iou, precision, recall, rocAuc, surfaceDice, type Spacing } from '@sa-unet/seg-metrics';
import { seededRandom } from '../../../test-utils/numeric.js';

const PAIRS = 300;

function randomMask(random: () => number, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const kind = Math.floor(random() * 4);
  if (kind === 0) return mask; // empty
  if (kind === 1) return mask.fill(1);
  if (kind === 2) return mask.map(() => (random() < 0.3 ? 1 : 0)); // speckle: many boundary pixels
  const [cx, cy, rx, ry] = [random() * width, random() * height, 1 + (random() * width) / 2, 1 + (random() * height) / 2];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 ? 1 : 0;
  return mask;
}

/** Foreground pixels with a background 4-neighbour, the outside of the image counting as background. */
function boundaryPixels(mask: Uint8Array, width: number, height: number): Array<[number, number]> {
  const background = (y: number, x: number) => y < 0 || y >= height || x < 0 || x >= width || mask[y * width + x] === 0;
  const out: Array<[number, number]> = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] && (background(y - 1, x) || background(y + 1, x) || background(y, x - 1) || background(y, x + 1))) out.push([y, x]);
    }
  }
  return out;
}

/** For each pixel of `from`, the distance to the nearest pixel of `to`. */
function nearest(from: Array<[number, number]>, to: Array<[number, number]>, [dy, dx]: Spacing): number[] {
  return from.map(([y, x]) => Math.min(...to.map(([v, u]) => Math.hypot((y - v) * dy, (x - u) * dx))));
}

/** numpy's default percentile: linear between closest ranks. */
function percentileOf(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const [lo, hi] = [Math.floor(rank), Math.ceil(rank)];
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

interface Pair {
  width: number;
  height: number;
  spacing: Spacing;
  pred: Uint8Array;
  truth: Uint8Array;
  scores: Float32Array;
}

function randomPairs(seed: number): Pair[] {
  const random = seededRandom(seed);
  return Array.from({ length: PAIRS }, () => {
    const width = 1 + Math.floor(random() * 20);
    const height = 1 + Math.floor(random() * 20);
    const spacing: Spacing = random() < 0.5 ? [1, 1] : [0.3 + random(), 0.3 + random()];
    // Scores on a coarse grid, so that ties between positive and negative pixels are common.
    const scores = Float32Array.from({ length: width * height }, () => Math.round(random() * 5) / 5);
    return { width, height, spacing, pred: randomMask(random, width, height), truth: randomMask(random, width, height), scores };
  });
}

const image = (data: ArrayLike<number>, { width, height }: Pair) => ({ data, width, height });
const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 9);

describe.each([1, 2])('seeded random mask pairs (seed %i)', (seed) => {
  const pairs = randomPairs(seed);

  it('cover every empty-mask case and both spacings', () => {
    const kinds = new Set(pairs.map(({ pred, truth }) => `${pred.includes(1)} ${truth.includes(1)}`));
    expect([...kinds].sort()).toEqual(['false false', 'false true', 'true false', 'true true']);
    expect(pairs.some((p) => p.spacing[0] !== 1)).toBe(true);
  });

  it('Hausdorff, HD95, directed HD, ASSD and surface Dice equal their definitions over all boundary-pixel pairs', () => {
    for (const pair of pairs) {
      const { spacing } = pair;
      const [pred, truth] = [image(pair.pred, pair), image(pair.truth, pair)];
      const [predEdge, truthEdge] = [boundaryPixels(pair.pred, pair.width, pair.height), boundaryPixels(pair.truth, pair.width, pair.height)];
      if (predEdge.length === 0 || truthEdge.length === 0) {
        const expected = predEdge.length === truthEdge.length ? NaN : Infinity;
        expect(hausdorffDistance(pred, truth, { spacing })).toBe(expected);
        expect(averageSurfaceDistance(pred, truth, { spacing })).toBe(expected);
        if (predEdge.length !== truthEdge.length) {
          close(hausdorffDistance(pred, truth, { spacing, missPenalty: 'diagonal' }), Math.hypot(pair.height * spacing[0], pair.width * spacing[1]));
          expect(surfaceDice(pred, truth, { spacing, tolerance: 1 })).toBe(0);
        }
        continue;
      }
      const forward = nearest(predEdge, truthEdge, spacing);
      const backward = nearest(truthEdge, predEdge, spacing);
      const all = [...forward, ...backward];
      close(hausdorffDistance(pred, truth, { spacing }), Math.max(...all));
      close(hausdorffDistance(pred, truth, { spacing, percentile: 95 }), Math.max(percentileOf(forward, 95), percentileOf(backward, 95)));
      close(hausdorffDistance(pred, truth, { spacing, directed: true }), Math.max(...forward));
      close(averageSurfaceDistance(pred, truth, { spacing }), all.reduce((a, b) => a + b, 0) / all.length);
      for (const tolerance of [0, 1, 1.5]) {
        close(surfaceDice(pred, truth, { spacing, tolerance }), all.filter((d) => d <= tolerance).length / all.length);
      }
    }
  });

  it('pixel AUC equals the Mann-Whitney statistic with ties counted half', () => {
    for (const pair of pairs) {
      const positive = [...pair.scores].filter((_, i) => pair.truth[i]);
      const negative = [...pair.scores].filter((_, i) => !pair.truth[i]);
      let u = 0;
      for (const a of positive) for (const b of negative) u += a > b ? 1 : a === b ? 0.5 : 0;
      const auc = rocAuc(image(pair.scores, pair), image(pair.truth, pair));
      if (positive.length === 0 || negative.length === 0) expect(auc).toBeNaN();
      else close(auc, u / (positive.length * negative.length));
    }
  });

  it('Dice, IoU, precision and recall equal the ratios of counted pixels (NaN for 0/0)', () => {
    const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);
    for (const pair of pairs) {
      let [tp, fp, fn] = [0, 0, 0];
      pair.pred.forEach((p, i) => {
        const t = pair.truth[i]!;
        tp += p & t;
        fp += p & (1 - t);
        fn += (1 - p) & t;
      });
      const [pred, truth] = [image(pair.pred, pair), image(pair.truth, pair)];
      expect(dice(pred, truth)).toEqual(ratio(2 * tp, 2 * tp + fp + fn));
      expect(iou(pred, truth)).toEqual(ratio(tp, tp + fp + fn));
      expect(precision(pred, truth)).toEqual(ratio(tp, tp + fp));
      expect(recall(pred, truth)).toEqual(ratio(tp, tp + fn));
    }
  });
});
