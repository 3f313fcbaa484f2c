/** The results of a comparison run, as written to results.json and rendered into the tables. */
import { summarize, type PixelSize, type Summary } from '@sa-unet/seg-metrics';
import type { ModelName } from '@sa-unet/unet-zoo';
import type { PairedComparison } from '../eval/paired.js';
import type { ImageScores } from '../eval/per-image.js';
import type { PlotCurve } from '../eval/score.js';
import type { Latency } from '../eval/timing.js';
import type { Protocol } from '../train/presets.js';

/** Per-image metrics averaged over the test set (NaN-skipping), for one repeat. */
export interface RepeatMetrics {
  /** tp / (tp + fp), at threshold 0.5. */
  precision: number;
  /** tp / (tp + fn) (sensitivity). */
  recall: number;
  /** tn / (tn + fp). */
  specificity: number;
  /** 2tp / (2tp + fp + fn) (DSC). */
  dice: number;
  /** tp / (tp + fp + fn) (Jaccard). */
  iou: number;
  /** Hausdorff distance, pixels at the run's input size. */
  hausdorff: number;
  /** 95th-percentile Hausdorff distance, pixels at the run's input size. */
  hausdorff95: number;
  /** Average symmetric surface distance, pixels at the run's input size. */
  assd: number;
  /** Surface Dice at a tolerance of one pixel (at the run's input size). */
  surfaceDice: number;
  /** Pixel ROC AUC pooled over all test pixels. */
  pixelAucMicro: number;
  /** Mean of the per-image pixel AUCs. */
  pixelAucMacro: number;
  /** Fraction of the test images with a nerve whose prediction misses it entirely. */
  zeroOverlapRate: number;
  /** Test images whose metric was undefined (NaN) and skipped, per metric. */
  skipped: Record<string, number>;
  /** The test masks' mean cross-sectional area, mm² (runs with a pixel size only, as the other area metrics). */
  areaMaskMm2?: number;
  /** The predictions' mean area (probability > 0.5), mm². */
  areaPredictedMm2?: number;
  /** Mean difference, prediction − mask, mm² (the bias). */
  areaBiasMm2?: number;
  /** The bias − 1.96 SD of the differences, mm² (the lower 95% limit of agreement). */
  areaLowerLimitMm2?: number;
  /** The bias + 1.96 SD of the differences, mm² (the upper 95% limit of agreement). */
  areaUpperLimitMm2?: number;
  /** Mean |prediction − mask|, mm². */
  areaAbsoluteErrorMm2?: number;
  /** Mean |prediction − mask| / mask area over the test images with a nerve. */
  areaRelativeError?: number;
}

/** One training run of one model (one repeat) and its test scores. */
export interface RepeatResult {
  /** 1-based repeat number. */
  repeat: number;
  /** Seed of its initial weights, batch order and shears (`--seed` + repeat). */
  seed: number;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
  /** Wall-clock seconds of each epoch. */
  epochSeconds: number[];
  /** Training images per second over the whole run. */
  trainImagesPerSecond: number;
  /** Peak resident memory of the process during training, MiB (all threads together). */
  peakRssMB: number;
  /** The test-set metrics. */
  metrics: RepeatMetrics;
  /** Pixel ROC curve pooled over the test set, thinned to about 300 points for plotting. */
  roc: PlotCurve;
  /** Each test image's scores, in test-set order (absent in records written before they were kept). */
  images?: ImageScores[];
  /** Checkpoint folder, relative to the results folder. */
  checkpoint: string;
}

/** The metrics of {@link RepeatMetrics} that {@link ModelResult.aggregate} summarizes over repeats. */
export const AGGREGATED = ['precision', 'recall', 'specificity', 'dice', 'iou', 'hausdorff', 'hausdorff95', 'assd', 'surfaceDice',
  'pixelAucMicro', 'pixelAucMacro', 'zeroOverlapRate'] as const;
/** One of {@link AGGREGATED}. */
export type AggregatedMetric = (typeof AGGREGATED)[number];

/** The area metrics of {@link RepeatMetrics} that {@link ModelResult.areaAggregate} summarizes over repeats (runs with a pixel size). */
export const AREA_AGGREGATED = ['areaMaskMm2', 'areaPredictedMm2', 'areaBiasMm2', 'areaLowerLimitMm2', 'areaUpperLimitMm2',
  'areaAbsoluteErrorMm2', 'areaRelativeError'] as const;
/** One of {@link AREA_AGGREGATED}. */
export type AreaMetric = (typeof AREA_AGGREGATED)[number];

/**
 * The mean training loss of the last epoch, mean and SD over a model's repeats: how far training
 * got (a run whose loss still falls fast has not converged, and more epochs may change the ranking).
 */
export function finalTrainLoss(m: Pick<ModelResult, 'repeats'>): Summary {
  return summarize(m.repeats.map((rep) => rep.epochLosses.at(-1) ?? NaN));
}

/** One model of a comparison: its size, its latency and its runs. */
export interface ModelResult {
  /** Which model. */
  model: ModelName;
  /** Filters of its first level (the run's `--base-filters`, or the model's own). */
  baseFilters: number;
  /** Every weight, batch-norm statistics included. */
  params: number;
  /** Weights that training updates. */
  trainableParams: number;
  /** Inference time per image at batch 1. */
  inference: Latency & {
    /** The backend it was measured on. */
    backend: string;
  };
  /** Each repeat's run, in order. */
  repeats: RepeatResult[];
  /** Mean and SD over repeats of each metric. */
  aggregate: Record<AggregatedMetric, Summary>;
  /** Mean and SD over repeats of each area metric, where the run had a pixel size ({@link RunConfig.pixelSize}). */
  areaAggregate?: Record<AreaMetric, Summary>;
  /** Median seconds per training epoch over all repeats. */
  secondsPerEpoch: number;
}

/** The options of a run as recorded in config.json: the protocol, the data and the rest. */
export interface RunConfig extends Protocol {
  /** The command that ran: 'compare' or 'train'. */
  command: string;
  /** The preset the protocol started from ('quick' or 'paper'). */
  preset: string;
  /** The models trained, in order. */
  models: ModelName[];
  /** Base widths of single models other than `baseFilters` (`--base-filters unet=4`); {} where every model had `baseFilters`. */
  modelBaseFilters: Partial<Record<ModelName, number>>;
  /** The `--data` folder; null for the phantom. */
  data: string | null;
  /** The `--test-data` folder; null for a split of the data. */
  testData: string | null;
  /** The `--label` of the masks' foreground; null for any non-zero value. */
  label: number | null;
  /** Fraction of the data held out for testing (without `--test-data`). */
  testFraction: number;
  /** The `--train-images`: how many of the training images a seeded subset kept; null for all of them. */
  trainImages: number | null;
  /** The `--seed`: the split, the phantom, and (plus the repeat) each run. */
  seed: number;
  /** The original images' pixel size (`--dpi` or `--mm-per-pixel`), for the areas; null: no areas measured. */
  pixelSize: PixelSize | null;
  /** The backend that ran (what `auto` chose). */
  backend: string;
}

/** Everything a comparison run found: what results.json holds. */
export interface CompareResults {
  /** What wrote it: '@sa-unet/bench compare'. */
  tool: string;
  /** When the run ended (ISO 8601). */
  date: string;
  /** Node's version (`process.version`). */
  node: string;
  /** The backend the run used. */
  backend: {
    /** Its tfjs name, e.g. 'wasm'. */
    name: string;
    /** In words, e.g. 'wasm (XNNPACK, SIMD, one thread) with @sa-unet/tfjs-kernels training kernels'. */
    description: string;
  };
  /** The run's options. */
  config: RunConfig;
  /** The data the models were trained and tested on. */
  dataset: {
    /** The folder, or 'phantom(count=..., seed=...)'. */
    source: string;
    /** Side of the square images the networks saw. */
    size: number;
    /** Training images (with `--train-images`, its subset). */
    train: number;
    /** Training images the split gave, before `--train-images` took its subset. */
    trainAvailable: number;
    /** Test images. */
    test: number;
    /** Fraction of the training masks' pixels that are foreground (what `--foreground-prior auto` starts at). */
    trainForegroundFraction: number;
    /** Names of the test images (file names without extension), in test-set order. */
    testNames: string[];
  };
  /** Each model's results, in the order of `config.models`. */
  models: ModelResult[];
  /**
   * SA-U-Net against each other model on DSC and HD, paired by repeat (`pairedComparisons`): empty
   * where SA-U-Net did not run (absent in results written before it existed).
   */
  paired?: PairedComparison[];
  /** Wall-clock seconds of the whole run (resumed runs: of the last session). */
  wallSeconds: number;
}
