/**
 * Each test image's scores, named: what a researcher needs to find the images a network misses and
 * to run statistics of their own over images (results.json's `images`, and images.csv).
 */
import type { EvaluationResult } from '@sa-unet/seg-metrics';
import { csvText } from '../report/csv.js';
import type { AreaAgreement } from './areas.js';

/** One image's scores at threshold 0.5 (distances in pixels at the model's input size). */
export interface ImageScores {
  /** The image's name (its file name without extension, or the phantom's). */
  image: string;
  /** tp / (tp + fp); NaN for an empty prediction. */
  precision: number;
  /** tp / (tp + fn); NaN for an empty mask. */
  recall: number;
  /** 2tp / (2tp + fp + fn) (DSC); NaN when mask and prediction are both empty. */
  dice: number;
  /** Hausdorff distance, pixels (a missed or hallucinated nerve: the image diagonal). */
  hausdorff: number;
  /** 95th-percentile Hausdorff distance, pixels. */
  hausdorff95: number;
  /** Surface Dice at one pixel. */
  surfaceDice: number;
  /** Pixel ROC AUC of this image (NaN where its mask has one class). */
  auc: number;
  /** The mask has a nerve and the prediction none of its pixels. */
  zeroOverlap: boolean;
  /** Foreground pixels of the mask, at the model's input size. */
  maskPixels: number;
  /** Foreground pixels of the prediction, at the model's input size. */
  predictedPixels: number;
  /** The mask's area, mm² (with a pixel size only). */
  maskMm2?: number;
  /** The prediction's area, mm² (with a pixel size only). */
  predictedMm2?: number;
}

/**
 * The scores of each image of an evaluation, named by `names` (in the order the images were
 * scored), with their areas where `areas` was measured on the same images.
 */
export function perImageScores(evaluation: EvaluationResult, names: readonly string[], areas?: AreaAgreement): ImageScores[] {
  if (names.length !== evaluation.records.length) throw new Error(`perImageScores: ${names.length} names for ${evaluation.records.length} scored images`);
  if (areas !== undefined && areas.truthMm2.length !== names.length) throw new Error(`perImageScores: areas of ${areas.truthMm2.length} images for ${names.length}`);
  return evaluation.records.map((r, i) => ({
    image: names[i]!,
    precision: r.precision,
    recall: r.recall,
    dice: r.dice,
    hausdorff: r.hausdorff,
    hausdorff95: r.hausdorffPercentile,
    surfaceDice: r.surfaceDice,
    auc: r.auc,
    zeroOverlap: r.zeroOverlap,
    maskPixels: r.truthPixels,
    predictedPixels: r.predPixels,
    ...(areas === undefined ? {} : { maskMm2: areas.truthMm2[i]!, predictedMm2: areas.predictedMm2[i]! }),
  }));
}

/** The columns of images.csv after the row's own keys and the image: each score and its header (the metrics as table.csv names them, the pixel counts as segment's CSV). */
const SCORE_COLUMNS: ReadonlyArray<[keyof ImageScores, string]> = [
  ['precision', 'precision'], ['recall', 'recall'], ['dice', 'dice'], ['hausdorff', 'hausdorff'], ['hausdorff95', 'hausdorff95'],
  ['surfaceDice', 'surfaceDice'], ['auc', 'auc'], ['zeroOverlap', 'zero_overlap'], ['maskPixels', 'mask_pixels'], ['predictedPixels', 'predicted_pixels'],
];

/**
 * images.csv: one row per image (and per model and repeat, given as `keys` of each row), the areas'
 * columns where any row has them (empty cells where one has not). Undefined metrics are written
 * NaN, as table.csv writes them.
 */
export function imagesCsv<K extends string>(keys: readonly K[], rows: ReadonlyArray<ImageScores & Record<K, string | number>>): string {
  const withAreas = rows.some((r) => r.maskMm2 !== undefined);
  const header = [...keys, 'image', ...SCORE_COLUMNS.map(([, name]) => name), ...(withAreas ? ['mask_mm2', 'predicted_mm2'] : [])];
  return csvText([header, ...rows.map((r) => [
    ...keys.map((k) => r[k]), r.image, ...SCORE_COLUMNS.map(([key]) => (typeof r[key] === 'boolean' ? Number(r[key]) : r[key])),
    ...(withAreas ? [r.maskMm2, r.predictedMm2] : []),
  ])]);
}
