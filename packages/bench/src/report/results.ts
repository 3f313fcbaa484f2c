/** The results of a comparison run, as written to results.json and rendered into the tables. */
import type { Summary } from '@sa-unet/seg-metrics';
import type { ModelName } from '@sa-unet/unet-zoo';
import type { Latency } from '../eval/timing.js';
import type { Protocol } from '../train/presets.js';

/** Per-image metrics averaged over the test set (NaN-skipping), for one repeat. */
export interface RepeatMetrics {
  precision: number;
  recall: number;
  specificity: number;
  dice: number;
  iou: number;
  /** Hausdorff distance, pixels at the run's input size. */
  hausdorff: number;
  hausdorff95: number;
  assd: number;
  /** Surface Dice at a tolerance of one pixel (at the run's input size). */
  surfaceDice: number;
  /** Pixel ROC AUC pooled over all test pixels. */
  pixelAucMicro: number;
  /** Mean of the per-image pixel AUCs. */
  pixelAucMacro: number;
  zeroOverlapRate: number;
  /** Test images whose metric was undefined (NaN) and skipped, per metric. */
  skipped: Record<string, number>;
}

export interface RepeatResult {
  repeat: number;
  seed: number;
  epochLosses: number[];
  epochSeconds: number[];
  trainImagesPerSecond: number;
  /** Peak resident memory of the process during training, MiB (all threads together). */
  peakRssMB: number;
  metrics: RepeatMetrics;
  roc: { fpr: number[]; tpr: number[] };
  /** Checkpoint folder, relative to the results folder. */
  checkpoint: string;
}

export const AGGREGATED = ['precision', 'recall', 'specificity', 'dice', 'iou', 'hausdorff', 'hausdorff95', 'assd', 'surfaceDice',
  'pixelAucMicro', 'pixelAucMacro', 'zeroOverlapRate'] as const;
export type AggregatedMetric = (typeof AGGREGATED)[number];

export interface ModelResult {
  model: ModelName;
  params: number;
  trainableParams: number;
  inference: Latency & { backend: string };
  repeats: RepeatResult[];
  /** Mean and SD over repeats of each metric. */
  aggregate: Record<AggregatedMetric, Summary>;
  /** Median seconds per training epoch over all repeats. */
  secondsPerEpoch: number;
}

/** The options of a run as recorded in config.json: the protocol, the data and the rest. */
export interface RunConfig extends Protocol {
  command: string;
  preset: string;
  models: ModelName[];
  data: string | null;
  testData: string | null;
  label: number | null;
  testFraction: number;
  seed: number;
  backend: string;
}

export interface CompareResults {
  tool: string;
  date: string;
  node: string;
  backend: { name: string; description: string };
  config: RunConfig;
  dataset: { source: string; size: number; train: number; test: number; testNames: string[] };
  models: ModelResult[];
  /** Wall-clock seconds of the whole run (resumed runs: of the last session). */
  wallSeconds: number;
}
