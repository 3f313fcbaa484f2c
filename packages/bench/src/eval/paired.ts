/**
 * Paired comparisons of two models over a comparison's repeats. Repeat r of every model uses the
 * same seed (split, batch order, shears), so each repeat gives one paired difference; the Wilcoxon
 * signed-rank test asks whether those differences lean one way more than chance would make them.
 */
import { summarize, type Summary } from '@sa-unet/seg-metrics';
import type { ModelName } from '@sa-unet/unet-zoo';
import { AGGREGATED, type AggregatedMetric, type ModelResult } from '../report/results.js';

/** A two-sided Wilcoxon signed-rank test of paired differences; see {@link signedRankTest}. */
export interface SignedRankTest {
  /** Non-zero differences: those the test ranks. */
  n: number;
  /** V: the sum of the ranks of the positive differences (ties share their average rank). */
  statistic: number;
  /** Two-sided p-value; NaN with no non-zero difference. */
  pValue: number;
  /** 'exact' (the sign-flip distribution of the ranks, ties included) or 'normal' (above {@link EXACT_MAX_N} differences). */
  method: 'exact' | 'normal';
}

/** Up to this many non-zero differences the signed-rank p-value is exact (a table of about n³ entries). */
export const EXACT_MAX_N = 300;

/** Ranks of `values` from 1, ties given their average rank. */
function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end][0] === order[start][0]) end++;
    for (let k = start; k < end; k++) ranks[order[k][1]] = (start + 1 + end) / 2;
    start = end;
  }
  return ranks;
}

/**
 * Wilcoxon's signed-rank test of paired differences (zeros dropped, as Wilcoxon proposed), two-sided.
 * Exact up to `exactMaxN` ({@link EXACT_MAX_N} by default) non-zero differences: under the null hypothesis each difference's
 * sign is + or - with probability 1/2 whatever its rank, and V's distribution is counted over all
 * 2^n sign patterns, ties' average ranks included (so with ties it is exact too, where R's
 * wilcox.test falls back to the normal approximation). Above it, the normal approximation with the
 * ties' variance correction and a continuity correction.
 */
export function signedRankTest(differences: readonly number[], exactMaxN = EXACT_MAX_N): SignedRankTest {
  differences.forEach((d, i) => {
    if (!Number.isFinite(d)) throw new Error(`signedRankTest: differences must be finite numbers, got ${d} at index ${i}`);
  });
  const nonZero = differences.filter((d) => d !== 0);
  const n = nonZero.length;
  if (n === 0) return { n, statistic: 0, pValue: NaN, method: 'exact' };
  const ranks = averageRanks(nonZero.map(Math.abs));
  const statistic = ranks.reduce((sum, r, i) => sum + (nonZero[i] > 0 ? r : 0), 0);
  if (n > exactMaxN) return { n, statistic, pValue: normalSignedRankP(statistic, ranks), method: 'normal' };
  // Doubled ranks are integers (average ranks are multiples of 1/2): P(2V = s) by adding one rank at a time.
  const doubled = ranks.map((r) => Math.round(2 * r));
  const total = doubled.reduce((a, b) => a + b, 0);
  let probability = new Float64Array(total + 1);
  probability[0] = 1;
  let reach = 0;
  for (const r of doubled) {
    const next = new Float64Array(total + 1);
    for (let s = 0; s <= reach; s++) {
      const p = probability[s] / 2;
      next[s] += p;
      next[s + r] += p;
    }
    reach += r;
    probability = next;
  }
  const observed = Math.round(2 * statistic);
  let below = 0;
  for (let s = 0; s <= observed; s++) below += probability[s];
  let above = 0;
  for (let s = observed; s <= total; s++) above += probability[s];
  return { n, statistic, pValue: Math.min(1, 2 * Math.min(below, above)), method: 'exact' };
}

/** The normal approximation's two-sided p of V, with the ties' variance correction and a continuity correction. */
function normalSignedRankP(statistic: number, ranks: readonly number[]): number {
  const mean = ranks.reduce((a, b) => a + b, 0) / 2;
  const variance = ranks.reduce((a, r) => a + r * r, 0) / 4; // sum of r², so ties are accounted for
  const z = Math.max(0, Math.abs(statistic - mean) - 0.5) / Math.sqrt(variance);
  return Math.min(1, 2 * normalUpperTail(z));
}

/** P(Z > z) for a standard normal Z (z >= 0), via the complementary error function (Numerical Recipes' erfc, relative error < 1.2e-7). */
function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + x / 2);
  const poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return (t * Math.exp(poly)) / 2;
}

/** The reference model against one other model on one metric, paired by repeat; see {@link pairedComparisons}. */
export interface PairedComparison {
  /** The other model. */
  model: ModelName;
  /** The metric compared. */
  metric: AggregatedMetric;
  /** Reference minus other, one value per repeat both have a finite value of. */
  difference: Summary;
  /** Repeats in which the reference did better (higher, or lower for a distance). */
  referenceBetter: number;
  /** Repeats in which the other model did better. */
  otherBetter: number;
  /** Repeats in which both scored the same. */
  ties: number;
  /** The signed-rank test of the differences. */
  signedRank: SignedRankTest;
}

/** A metric that {@link pairedComparisons} compares. */
export interface PairedMetric {
  /** Which metric of the repeats. */
  metric: AggregatedMetric;
  /** Whether a higher value is better (DSC), or a lower one (a distance). */
  higherIsBetter: boolean;
}

/** Every metric of a repeat that can be paired, with its direction: distances and the zero-overlap rate are better lower. */
export const PAIRABLE_METRICS: readonly PairedMetric[] = AGGREGATED.map((metric) => ({
  metric, higherIsBetter: !['hausdorff', 'hausdorff95', 'assd', 'zeroOverlapRate'].includes(metric),
}));

/** The metrics {@link pairedComparisons} compares: those of the paper's Table 3. */
export const PAIRED_METRICS: readonly PairedMetric[] = PAIRABLE_METRICS.filter(({ metric }) => metric === 'dice' || metric === 'hausdorff');

/**
 * `metric` of `reference`'s and `other`'s repeats trained with the same seed, as [reference, other]
 * pairs in `reference`'s order; pairs with a non-finite value are left out.
 */
export function seedPairs(reference: Pick<ModelResult, 'repeats'>, other: Pick<ModelResult, 'repeats'>, metric: AggregatedMetric): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const rep of reference.repeats) {
    const a = rep.metrics[metric];
    const b = other.repeats.find((o) => o.seed === rep.seed)?.metrics[metric];
    if (b !== undefined && Number.isFinite(a) && Number.isFinite(b)) pairs.push([a, b]);
  }
  return pairs;
}

/**
 * `reference`'s repeats against `other`'s on each of `metrics` ({@link PAIRED_METRICS} by default),
 * pairing the repeats trained with the same seed (in one comparison, those of the same number;
 * across two, see `paired` of sa-unet-bench); a seed only one of them has, or a non-finite value,
 * is left out.
 */
export function pairBySeed(
  reference: Pick<ModelResult, 'repeats'>, other: Pick<ModelResult, 'model' | 'repeats'>, metrics: readonly PairedMetric[] = PAIRED_METRICS,
): PairedComparison[] {
  return metrics.map((m) => comparePairs(seedPairs(reference, other, m.metric), m, other.model));
}

/** The comparison of [reference, other] value pairs of one metric (from {@link seedPairs}): differences, who did better, the test. */
export function comparePairs(pairs: ReadonlyArray<readonly [number, number]>, { metric, higherIsBetter }: PairedMetric, model: ModelName): PairedComparison {
  const differences = pairs.map(([a, b]) => a - b);
  const better = (d: number) => (higherIsBetter ? d > 0 : d < 0);
  const referenceBetter = differences.filter(better).length;
  const ties = differences.filter((d) => d === 0).length;
  return {
    model, metric, difference: summarize(differences), referenceBetter, otherBetter: differences.length - referenceBetter - ties, ties,
    signedRank: signedRankTest(differences),
  };
}

/**
 * `reference` (the proposed SA-U-Net, by default) against every other model of `models`, on each of
 * {@link PAIRED_METRICS}, pairing their repeats by repeat number (within one comparison, repeat r of
 * every model has the seed `--seed` + r): none where `reference` did not run.
 */
export function pairedComparisons(models: readonly ModelResult[], reference: ModelName = 'sa-unet'): PairedComparison[] {
  const ref = models.find((m) => m.model === reference);
  if (ref === undefined) return [];
  return models.filter((other) => other !== ref).flatMap((other) => pairBySeed(ref, other));
}
