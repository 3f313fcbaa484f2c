/**
 * Per-image evaluation of score maps against binary truths: every metric of the package computed
 * from one thresholding, one confusion count and one set of boundary distances per image, plus
 * NaN-skipping summaries and the pixel AUC pooled over all pixels (micro) and averaged over
 * images (macro).
 */
import { checkPolicy, confusionOfMasks, ratiosOf, type ConfusionCounts, type EmptyPolicy } from './confusion.js';
import { binarizePrediction, binarizeTruth, checkSameSize, checkThreshold, countForeground, readScores, type MaskInput } from './mask.js';
import { checkOptions, EVALUATE_OPTIONS } from './options.js';
import { zeroOverlapOfMasks } from './overlap.js';
import { aucOfSorted, rocOfSorted, splitAndSort, type RocCurve, type SortedScores } from './roc.js';
import {
  averageSurfaceOf,
  checkMissPenalty,
  checkPercentile,
  checkSpacing,
  checkTolerance,
  hausdorffOf,
  surfaceDiceOf,
  surfaceDistancesOfMasks,
  type Spacing,
} from './surface-distance.js';
import { summarize, type Summary } from './summary.js';

/** Options of {@link evaluate} and {@link MetricAccumulator}. */
export interface EvaluateOptions {
  /** Prediction values > threshold are foreground. Default 0.5. */
  threshold?: number;
  /** Ratio with a zero denominator. Default 'nan'. */
  empty?: EmptyPolicy;
  /** Pixel spacing [dy, dx] for the surface distances. Default [1, 1] (pixels). */
  spacing?: Spacing;
  /** One mask empty: Infinity (default) or the image diagonal. */
  missPenalty?: 'infinity' | 'diagonal';
  /** Percentile of the second Hausdorff figure. Default 95. */
  hausdorffPercentile?: number;
  /** Tolerance of the surface Dice, in spacing units. Default 1 (one pixel with the default spacing). */
  surfaceDiceTolerance?: number;
  /** Compute the pixel AUC per image and pooled (needs score maps, costs a sort). Default true. */
  auc?: boolean;
}

/** The metrics of one image. */
export interface ImageRecord extends ConfusionCounts {
  /** Position of the image in the order it was added (0-based). */
  index: number;
  /** tp / (tp + fp); a zero denominator gives the empty policy's value. */
  precision: number;
  /** tp / (tp + fn) (sensitivity). */
  recall: number;
  /** tn / (tn + fp). */
  specificity: number;
  /** 2tp / (2tp + fp + fn) (DSC). */
  dice: number;
  /** tp / (tp + fp + fn) (Jaccard). */
  iou: number;
  /** Hausdorff distance (max of both directions), in spacing units. */
  hausdorff: number;
  /** The `hausdorffPercentile`-th percentile Hausdorff distance (HD95 by default). */
  hausdorffPercentile: number;
  /** Average symmetric surface distance. */
  assd: number;
  /** Surface Dice at `surfaceDiceTolerance` (0 when one mask is empty; both empty: the empty policy). */
  surfaceDice: number;
  /** Pixel ROC AUC of this image's scores (NaN if its truth has one class, or with auc: false). */
  auc: number;
  /** Truth non-empty and no predicted pixel inside it. */
  zeroOverlap: boolean;
  /** Foreground pixels of the prediction. */
  predPixels: number;
  /** Foreground pixels of the truth. */
  truthPixels: number;
}

/** The per-image metrics that {@link EvaluationResult.summary} summarizes over images. */
export const SUMMARIZED_METRICS = ['precision', 'recall', 'specificity', 'dice', 'iou', 'hausdorff', 'hausdorffPercentile', 'assd', 'surfaceDice', 'auc'] as const;
/** One of {@link SUMMARIZED_METRICS}. */
export type SummarizedMetric = (typeof SUMMARIZED_METRICS)[number];

/** The metrics of a set of images: per image, and summarized over them. */
export interface EvaluationResult {
  /** The metrics of each image, in the order they were added. */
  records: ImageRecord[];
  /** Mean, sample SD, count and skipped NaNs of each metric over images. */
  summary: Record<SummarizedMetric, Summary>;
  /** Zero-overlap rate over images with a non-empty truth (NaN if none). */
  zeroOverlapRate: number;
  /** Pixel AUC pooled over all pixels of all images (micro) and the mean of per-image AUCs (macro). */
  pixelAuc: {
    /** The AUC of every pixel of every image pooled (NaN when they are all of one class, or with `auc: false`). */
    micro: number;
    /** The per-image AUCs summarized (images whose truth has one class skipped and counted). */
    macro: Summary;
  };
  /** The options in effect, defaults filled in. */
  options: Required<Omit<EvaluateOptions, 'spacing'>> & {
    /** Pixel spacing [dy, dx] of the surface distances. */
    spacing: Spacing;
  };
}

/** Accumulates images one at a time (constant work per image; pooled AUC keeps the scores). */
export class MetricAccumulator {
  /** The metrics of each image added so far. */
  readonly records: ImageRecord[] = [];
  /** The options in effect, defaults filled in. */
  readonly options: EvaluationResult['options'];
  private readonly positives: Float64Array[] = [];
  private readonly negatives: Float64Array[] = [];

  constructor(opts: EvaluateOptions = {}) {
    checkOptions(opts, EVALUATE_OPTIONS, 'MetricAccumulator');
    // Every option checked here: a misspelt policy would otherwise fail only at the first image it applies to.
    const auc = opts.auc ?? true;
    if (typeof auc !== 'boolean') throw new Error(`auc: expected true or false, got ${JSON.stringify(auc)}`);
    this.options = {
      threshold: checkThreshold(opts.threshold ?? 0.5),
      empty: checkPolicy(opts.empty ?? 'nan'),
      spacing: checkSpacing(opts.spacing ?? [1, 1]),
      missPenalty: checkMissPenalty(opts.missPenalty),
      hausdorffPercentile: checkPercentile(opts.hausdorffPercentile ?? 95),
      surfaceDiceTolerance: checkTolerance(opts.surfaceDiceTolerance ?? 1, 'surfaceDiceTolerance'),
      auc,
    };
  }

  /** Adds one image: `pred` is a score map (or a binary mask), `truth` a binary mask. */
  add(pred: MaskInput, truth: MaskInput): ImageRecord {
    const index = this.records.length;
    const { threshold, empty, spacing, missPenalty, hausdorffPercentile, surfaceDiceTolerance } = this.options;
    const scores = this.options.auc ? readScores(pred, `preds[${index}]`) : null;
    const p = binarizePrediction(scores ?? pred, threshold, `preds[${index}]`);
    const t = binarizeTruth(truth, `truths[${index}]`);
    checkSameSize(p, t, `preds[${index}]`, `truths[${index}]`);
    const counts = confusionOfMasks(p, t);
    const distances = surfaceDistancesOfMasks(p, t, spacing);
    let auc = NaN;
    if (scores !== null) {
      const sorted = splitAndSort(scores.data, t.data);
      auc = aucOfSorted(sorted).auc;
      this.positives.push(sorted.positive);
      this.negatives.push(sorted.negative);
    }
    const record: ImageRecord = {
      index,
      ...counts,
      ...ratiosOf(counts, empty),
      hausdorff: hausdorffOf(distances, { missPenalty }),
      hausdorffPercentile: hausdorffOf(distances, { missPenalty, percentile: hausdorffPercentile }),
      assd: averageSurfaceOf(distances, { missPenalty }),
      surfaceDice: surfaceDiceOf(distances, surfaceDiceTolerance, empty),
      auc,
      zeroOverlap: zeroOverlapOfMasks(p, t),
      predPixels: countForeground(p),
      truthPixels: counts.tp + counts.fn,
    };
    this.records.push(record);
    return record;
  }

  /** Summaries over the images added so far. */
  result(): EvaluationResult {
    const summary = {} as Record<SummarizedMetric, Summary>;
    for (const metric of SUMMARIZED_METRICS) summary[metric] = summarize(this.records.map((r) => r[metric]));
    const eligible = this.records.filter((r) => r.truthPixels > 0);
    return {
      records: this.records,
      summary,
      zeroOverlapRate: eligible.length === 0 ? NaN : eligible.filter((r) => r.zeroOverlap).length / eligible.length,
      pixelAuc: { micro: this.options.auc ? aucOfSorted(this.pooled()).auc : NaN, macro: summary.auc },
      options: this.options,
    };
  }

  /**
   * The pixel ROC curve pooled over every image added so far (the curve of the micro AUC), from
   * the same sorted scores, so asking for both costs one sort.
   */
  pooledRocCurve(): RocCurve {
    if (!this.options.auc) throw new Error('pooledRocCurve: this accumulator was created with auc: false, so it keeps no scores');
    return rocOfSorted(this.pooled());
  }

  private pooledCache: { count: number; sorted: SortedScores } | null = null;

  /** Scores of all images by class, merged and sorted once per set of images. */
  private pooled(): SortedScores {
    if (this.pooledCache?.count === this.records.length) return this.pooledCache.sorted;
    const merge = (parts: Float64Array[]) => {
      const out = new Float64Array(parts.reduce((n, a) => n + a.length, 0));
      let offset = 0;
      for (const a of parts) {
        out.set(a, offset);
        offset += a.length;
      }
      return out.sort();
    };
    const sorted = { positive: merge(this.positives), negative: merge(this.negatives) };
    this.pooledCache = { count: this.records.length, sorted };
    return sorted;
  }
}

/** Evaluates score maps against binary truths image by image; see {@link EvaluationResult}. */
export function evaluate(preds: readonly MaskInput[], truths: readonly MaskInput[], opts: EvaluateOptions = {}): EvaluationResult {
  if (!Array.isArray(preds) || !Array.isArray(truths)) throw new Error('evaluate: preds and truths must be arrays of masks');
  if (preds.length !== truths.length) {
    throw new Error(`evaluate: got ${preds.length} preds but ${truths.length} truths; they must pair up one to one`);
  }
  checkOptions(opts, EVALUATE_OPTIONS, 'evaluate'); // before the accumulator, so that the message names this function
  const accumulator = new MetricAccumulator(opts);
  for (let i = 0; i < preds.length; i++) accumulator.add(preds[i], truths[i]);
  return accumulator.result();
}
