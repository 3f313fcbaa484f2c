/**
 * `@sa-unet/seg-metrics`: segmentation metrics with exact definitions and an explicit empty-mask
 * policy: confusion counts and their ratios, Hausdorff and surface distances and the surface Dice
 * from one exact distance transform, exact pixel ROC/AUC, zero-overlap rate, cross-sectional area, per-image
 * evaluation with NaN-skipping summaries, and a soft-Dice training loss.
 *
 * @packageDocumentation
 */
export type { ImageArray, MaskInput, BinaryMask } from './mask.js';
export {
  confusion,
  precision,
  recall,
  specificity,
  dice,
  iou,
  ratiosOf,
  safeRatio,
  type ConfusionCounts,
  type ConfusionRatios,
  type EmptyPolicy,
  type RatioOptions,
  type ThresholdOptions,
} from './confusion.js';
export {
  hausdorffDistance,
  averageSurfaceDistance,
  surfaceDistances,
  hausdorffFromDistances,
  averageSurfaceFromDistances,
  surfaceDice,
  surfaceDiceFromDistances,
  boundaryOf,
  percentile,
  type Spacing,
  type SurfaceDistances,
  type SurfaceOptions,
  type HausdorffOptions,
  type SurfaceDiceOptions,
} from './surface-distance.js';
export { squaredDistanceTransform } from './distance-transform.js';
export { rocCurve, rocAuc, rocAucDetails, type RocCurve, type RocAucResult } from './roc.js';
export { zeroOverlap, zeroOverlapRate } from './overlap.js';
export { crossSectionalArea, mmPerPixel, spacingAfterResize, MM_PER_INCH, type PixelSize } from './area.js';
export { summarize, type Summary } from './summary.js';
export {
  evaluate,
  MetricAccumulator,
  SUMMARIZED_METRICS,
  type EvaluateOptions,
  type EvaluationResult,
  type ImageRecord,
  type SummarizedMetric,
} from './evaluate.js';
export { diceLoss, softDice, type SoftDiceOptions } from './loss.js';
