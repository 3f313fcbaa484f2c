/**
 * Pixel-wise ROC curve and its exact AUC. Scores of positive and negative pixels are sorted
 * separately (native typed-array sorts) and merged, so the cost is O(n log n) with no comparator
 * calls; ties count half, so the AUC equals scikit-learn's roc_auc_score and the Mann-Whitney U / (P N).
 */
import { binarizeTruth, checkSameSize, readScores, type MaskInput } from './mask.js';

/** A pixel ROC curve: one point per distinct score, from (0, 0) to (1, 1). */
export interface RocCurve {
  /** False-positive rate at each threshold (starts at 0). */
  fpr: Float64Array;
  /** True-positive rate at each threshold (starts at 0). */
  tpr: Float64Array;
  /** Decreasing thresholds: Infinity, then every distinct score (a pixel is positive if score >= threshold). */
  thresholds: Float64Array;
}

/** The area under a pixel ROC curve, with the class counts it rests on. */
export interface RocAucResult {
  /** The AUC, or NaN when truth has a single class. */
  auc: number;
  /** Foreground pixels of the truth. */
  positives: number;
  /** Background pixels of the truth. */
  negatives: number;
  /** Why the AUC is NaN, when it is. */
  reason?: string;
}

/** Scores split by class and sorted in increasing order. */
export interface SortedScores {
  positive: Float64Array;
  negative: Float64Array;
}

/** Splits `scores` by the binary `truth` and sorts each class (validates both). */
export function sortedScores(scores: MaskInput, truth: MaskInput): SortedScores {
  const s = readScores(scores, 'scores');
  const t = binarizeTruth(truth, 'truth');
  checkSameSize(s, t, 'scores', 'truth');
  return splitAndSort(s.data, t.data);
}

export function splitAndSort(scores: ArrayLike<number>, truth: Uint8Array): SortedScores {
  let positives = 0;
  for (let i = 0; i < truth.length; i++) positives += truth[i];
  const positive = new Float64Array(positives);
  const negative = new Float64Array(truth.length - positives);
  let p = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i]) positive[p++] = scores[i];
    else negative[n++] = scores[i];
  }
  positive.sort();
  negative.sort();
  return { positive, negative };
}

/** Exact AUC of class-sorted scores: P(score+ > score-) + 0.5 P(score+ = score-). */
export function aucOfSorted({ positive, negative }: SortedScores): RocAucResult {
  const positives = positive.length;
  const negatives = negative.length;
  if (positives === 0 || negatives === 0) {
    return {
      auc: NaN, positives, negatives,
      reason: positives === 0 ? 'truth has no positive (foreground) pixel, so the ROC AUC is undefined'
        : 'truth has no negative (background) pixel, so the ROC AUC is undefined',
    };
  }
  // For each run of equal positive scores: negatives strictly below count 1, equal ones 1/2.
  let below = 0;
  let wins = 0;
  let i = 0;
  while (i < positives) {
    const v = positive[i];
    let j = i;
    while (j < positives && positive[j] === v) j++;
    while (below < negatives && negative[below] < v) below++;
    let equal = 0;
    while (below + equal < negatives && negative[below + equal] === v) equal++;
    wins += (j - i) * (below + equal / 2);
    i = j;
  }
  return { auc: wins / positives / negatives, positives, negatives };
}

/** ROC curve of class-sorted scores (every distinct score is a threshold, as sklearn's drop_intermediate=false). */
export function rocOfSorted({ positive, negative }: SortedScores): RocCurve {
  const P = positive.length;
  const N = negative.length;
  const thresholds: number[] = [Infinity];
  const fpr: number[] = [0];
  const tpr: number[] = [0];
  let ip = P - 1;
  let ineg = N - 1;
  let tp = 0;
  let fp = 0;
  while (ip >= 0 || ineg >= 0) {
    const v = Math.max(ip >= 0 ? positive[ip] : -Infinity, ineg >= 0 ? negative[ineg] : -Infinity);
    while (ip >= 0 && positive[ip] === v) { tp++; ip--; }
    while (ineg >= 0 && negative[ineg] === v) { fp++; ineg--; }
    thresholds.push(v);
    tpr.push(P === 0 ? NaN : tp / P);
    fpr.push(N === 0 ? NaN : fp / N);
  }
  return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr), thresholds: Float64Array.from(thresholds) };
}

/** The pixel-wise ROC curve of a score map against a binary truth. */
export function rocCurve(scores: MaskInput, truth: MaskInput): RocCurve {
  return rocOfSorted(sortedScores(scores, truth));
}

/** The exact pixel-wise ROC AUC, with the number of pixels of each class and, if NaN, why. */
export function rocAucDetails(scores: MaskInput, truth: MaskInput): RocAucResult {
  return aucOfSorted(sortedScores(scores, truth));
}

/** The exact pixel-wise ROC AUC (ties count half); NaN when truth has a single class (see {@link rocAucDetails} for the reason). */
export function rocAuc(scores: MaskInput, truth: MaskInput): number {
  return rocAucDetails(scores, truth).auc;
}
