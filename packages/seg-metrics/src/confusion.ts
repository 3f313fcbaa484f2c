/**
 * Pixel confusion counts, computed once, and the ratios derived from them with an explicit policy
 * for a zero denominator.
 */
import { binarizePrediction, binarizeTruth, checkSameSize, type BinaryMask, type MaskInput } from './mask.js';
import { checkOptions, RATIO_OPTIONS, THRESHOLD_OPTIONS } from './options.js';

/** Pixel counts of a prediction against a truth: every ratio of the package is computed from them. */
export interface ConfusionCounts {
  /** True positives: foreground in both. */
  tp: number;
  /** False positives: predicted foreground, truth background. */
  fp: number;
  /** False negatives: predicted background, truth foreground. */
  fn: number;
  /** True negatives: background in both. */
  tn: number;
}

/**
 * What a ratio whose denominator is 0 returns (e.g. precision of an empty prediction, Dice of two
 * empty masks): 'nan' (default; aggregations skip it and count it), 'one' or 'zero'.
 */
export type EmptyPolicy = 'nan' | 'one' | 'zero';

/** The threshold that turns a score map into a binary prediction. */
export interface ThresholdOptions {
  /** Prediction values > threshold are foreground. Default 0.5. */
  threshold?: number;
}

/** Options of the ratio metrics ({@link precision}, {@link recall}, {@link dice}, ...). */
export interface RatioOptions extends ThresholdOptions {
  /** Result when the denominator is 0. Default 'nan'. */
  empty?: EmptyPolicy;
}

/** tp, fp, fn, tn of two binary masks of the same size. */
export function confusionOfMasks(pred: BinaryMask, truth: BinaryMask): ConfusionCounts {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const p = pred.data;
  const t = truth.data;
  for (let i = 0; i < p.length; i++) {
    if (p[i]) {
      if (t[i]) tp++;
      else fp++;
    } else if (t[i]) fn++;
  }
  return { tp, fp, fn, tn: p.length - tp - fp - fn };
}

/** Confusion counts of `pred` thresholded at `threshold` (default 0.5) against binary `truth`. */
export function confusion(pred: MaskInput, truth: MaskInput, opts: ThresholdOptions = {}): ConfusionCounts {
  checkOptions(opts, THRESHOLD_OPTIONS, 'confusion');
  return countsAt(pred, truth, opts.threshold);
}

function countsAt(pred: MaskInput, truth: MaskInput, threshold = 0.5): ConfusionCounts {
  const p = binarizePrediction(pred, threshold);
  const t = binarizeTruth(truth);
  checkSameSize(p, t, 'pred', 'truth');
  return confusionOfMasks(p, t);
}

/** The counts for a ratio function named `fn`, its options checked. */
function ratioCounts(pred: MaskInput, truth: MaskInput, opts: RatioOptions, fn: string): ConfusionCounts {
  checkOptions(opts, RATIO_OPTIONS, fn);
  return countsAt(pred, truth, opts.threshold);
}

/** The empty policy, or an Error naming the bad value (checked on every call, not only at a zero denominator). */
export function checkPolicy(empty: unknown): EmptyPolicy {
  if (empty !== 'nan' && empty !== 'one' && empty !== 'zero') {
    throw new Error(`empty: expected 'nan', 'one' or 'zero', got ${JSON.stringify(empty)}`);
  }
  return empty;
}

/** numerator / denominator, or the empty policy's value when the denominator is 0. */
export function safeRatio(numerator: number, denominator: number, empty: EmptyPolicy = 'nan'): number {
  // Checked first, so a misspelt policy fails on every image, not only on the first empty one.
  const policy = checkPolicy(empty);
  if (denominator !== 0) return numerator / denominator;
  return policy === 'nan' ? NaN : policy === 'one' ? 1 : 0;
}

/** The ratios of one set of counts. */
export interface ConfusionRatios {
  /** tp / (tp + fp) */
  precision: number;
  /** tp / (tp + fn) (sensitivity) */
  recall: number;
  /** tn / (tn + fp) */
  specificity: number;
  /** 2tp / (2tp + fp + fn) (DSC, F1) */
  dice: number;
  /** tp / (tp + fp + fn) (Jaccard) */
  iou: number;
}

/** Every ratio of one set of counts, a zero denominator giving what `empty` says. */
export function ratiosOf(c: ConfusionCounts, empty: EmptyPolicy = 'nan'): ConfusionRatios {
  return {
    precision: safeRatio(c.tp, c.tp + c.fp, empty),
    recall: safeRatio(c.tp, c.tp + c.fn, empty),
    specificity: safeRatio(c.tn, c.tn + c.fp, empty),
    dice: safeRatio(2 * c.tp, 2 * c.tp + c.fp + c.fn, empty),
    iou: safeRatio(c.tp, c.tp + c.fp + c.fn, empty),
  };
}

/** tp / (tp + fp); the empty policy applies when nothing is predicted. */
export function precision(pred: MaskInput, truth: MaskInput, opts: RatioOptions = {}): number {
  const c = ratioCounts(pred, truth, opts, 'precision');
  return safeRatio(c.tp, c.tp + c.fp, opts.empty);
}

/** tp / (tp + fn); the empty policy applies when the truth is empty. */
export function recall(pred: MaskInput, truth: MaskInput, opts: RatioOptions = {}): number {
  const c = ratioCounts(pred, truth, opts, 'recall');
  return safeRatio(c.tp, c.tp + c.fn, opts.empty);
}

/** tn / (tn + fp); the empty policy applies when the truth covers the whole image. */
export function specificity(pred: MaskInput, truth: MaskInput, opts: RatioOptions = {}): number {
  const c = ratioCounts(pred, truth, opts, 'specificity');
  return safeRatio(c.tn, c.tn + c.fp, opts.empty);
}

/** Dice similarity coefficient 2tp / (2tp + fp + fn); the empty policy applies when both masks are empty. */
export function dice(pred: MaskInput, truth: MaskInput, opts: RatioOptions = {}): number {
  const c = ratioCounts(pred, truth, opts, 'dice');
  return safeRatio(2 * c.tp, 2 * c.tp + c.fp + c.fn, opts.empty);
}

/** Intersection over union tp / (tp + fp + fn); the empty policy applies when both masks are empty. */
export function iou(pred: MaskInput, truth: MaskInput, opts: RatioOptions = {}): number {
  const c = ratioCounts(pred, truth, opts, 'iou');
  return safeRatio(c.tp, c.tp + c.fp + c.fn, opts.empty);
}
