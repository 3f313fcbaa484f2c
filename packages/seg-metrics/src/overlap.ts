/** Zero-overlap predictions: the nerve is there, and not one predicted pixel touches it. */
import { binarizePrediction, binarizeTruth, checkSameSize, type BinaryMask, type MaskInput } from './mask.js';
import type { ThresholdOptions } from './confusion.js';
import { checkOptions, THRESHOLD_OPTIONS } from './options.js';

export function zeroOverlapOfMasks(pred: BinaryMask, truth: BinaryMask): boolean {
  let truthPixels = 0;
  for (let i = 0; i < truth.data.length; i++) {
    if (!truth.data[i]) continue;
    if (pred.data[i]) return false;
    truthPixels++;
  }
  return truthPixels > 0;
}

/**
 * True when `truth` is non-empty and no predicted foreground pixel lies inside it (an empty
 * prediction counts as a miss). False when truth is empty: there is nothing to miss.
 */
export function zeroOverlap(pred: MaskInput, truth: MaskInput, opts: ThresholdOptions = {}): boolean {
  checkOptions(opts, THRESHOLD_OPTIONS, 'zeroOverlap');
  const p = binarizePrediction(pred, opts.threshold ?? 0.5);
  const t = binarizeTruth(truth);
  checkSameSize(p, t, 'pred', 'truth');
  return zeroOverlapOfMasks(p, t);
}

/**
 * The fraction of images with a non-empty truth whose prediction has zero overlap with it (NaN if
 * no truth is non-empty).
 */
export function zeroOverlapRate(preds: readonly MaskInput[], truths: readonly MaskInput[], opts: ThresholdOptions = {}): number {
  checkOptions(opts, THRESHOLD_OPTIONS, 'zeroOverlapRate');
  if (!Array.isArray(preds) || !Array.isArray(truths) || preds.length !== truths.length) {
    throw new Error(`zeroOverlapRate: preds and truths must be arrays of the same length, got ${preds?.length} and ${truths?.length}`);
  }
  let misses = 0;
  let eligible = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = binarizePrediction(preds[i], opts.threshold ?? 0.5, `preds[${i}]`);
    const t = binarizeTruth(truths[i], `truths[${i}]`);
    checkSameSize(p, t, `preds[${i}]`, `truths[${i}]`);
    if (!t.data.includes(1)) continue;
    eligible++;
    if (zeroOverlapOfMasks(p, t)) misses++;
  }
  return eligible === 0 ? NaN : misses / eligible;
}
