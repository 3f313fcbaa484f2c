import type { ModelName } from '@sa-unet/unet-zoo';

/** The training protocol: the paper's, and a quick one with the same protocol at a smaller scale. */

export interface Protocol {
  /** Side of the square input. */
  size: number;
  /** Epochs per repeat. */
  epochs: number;
  /** Independent repeats (different seeds) per model. */
  repeats: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Adam's initial learning rate. */
  learningRate: number;
  /** Random shear range, degrees, along x and along y. */
  shearDegrees: number;
  /** Filters of the networks' first level (the paper's networks: 32). */
  baseFilters: number;
  /** Phantom images generated when no --data is given. */
  phantomCount: number;
  /**
   * Before testing, re-estimate batch norm's moving statistics from the training images with the
   * final weights (`recalibrateBatchNorm` of @sa-unet/unet-zoo). Not in the paper: off in both presets.
   */
  recalibrateBatchNorm: boolean;
  /**
   * SA-U-Net's layers weight their concatenated scales by ECA channel attention, as in the paper:
   * true in both presets; false (`--no-channel-attention`) is the ablation without it.
   */
  channelAttention: boolean;
  /**
   * The foreground probability every output pixel starts at (unet-zoo's `foregroundPrior`: the
   * head's bias starts at its logit): a number in (0, 1), 'auto' for the foreground fraction of the
   * training masks, or null for a zero bias (0.5), as Keras and the paper. Not in the paper: null in
   * both presets.
   */
  foregroundPrior: number | 'auto' | null;
}

/**
 * The presets by name: `--preset paper` and `--preset quick` (the default). Their values are
 * written out in the type's comments, which the API site shows (a test keeps them equal).
 */
export const PRESETS: {
  /**
   * Kim et al.'s protocol: size 256, epochs 100, repeats 20, batchSize 4, learningRate 5e-4,
   * shearDegrees 15, baseFilters 32, phantomCount 400, recalibrateBatchNorm false,
   * channelAttention true, foregroundPrior null.
   */
  readonly paper: Readonly<Protocol>;
  /**
   * The same at a smaller scale: size 64, epochs 8, repeats 1, batchSize 4, learningRate 5e-4,
   * shearDegrees 15, baseFilters 16, phantomCount 80, recalibrateBatchNorm false,
   * channelAttention true, foregroundPrior null.
   */
  readonly quick: Readonly<Protocol>;
} = {
  paper: { size: 256, epochs: 100, repeats: 20, batchSize: 4, learningRate: 5e-4, shearDegrees: 15, baseFilters: 32, phantomCount: 400, recalibrateBatchNorm: false, channelAttention: true,
    foregroundPrior: null },
  // The paper's optimiser, loss, batch and augmentation at 64x64 with half-width networks:
  // 3 to 4 minutes on the phantom and 8 on usgra-nerve with two CPU cores (2026-12-03).
  quick: { size: 64, epochs: 8, repeats: 1, batchSize: 4, learningRate: 5e-4, shearDegrees: 15, baseFilters: 16, phantomCount: 80, recalibrateBatchNorm: false, channelAttention: true,
    foregroundPrior: null },
};

/** 'paper' or 'quick'. */
export type PresetName = keyof typeof PRESETS;

/** Whether `name` is a key of {@link PRESETS} (a type guard for `--preset`). */
export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && Object.hasOwn(PRESETS, name);
}

/** The base width that `model` is built with in a run: its own (`--base-filters model=n`), else the run's. */
export function baseFiltersOf(options: { baseFilters: number; modelBaseFilters?: Partial<Record<ModelName, number>> }, model: ModelName): number {
  return options.modelBaseFilters?.[model] ?? options.baseFilters;
}
