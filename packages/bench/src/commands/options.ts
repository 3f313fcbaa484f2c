/** Options shared by the commands, resolved from a preset and the flags, and validated. */
import type { PixelSize } from '@sa-unet/seg-metrics';
import { MODEL_NAMES, isModelName, type ModelName } from '@sa-unet/unet-zoo';
import { BACKEND_CHOICES, type BackendChoice } from '../backend.js';
import { PRESETS, isPresetName, type PresetName, type Protocol } from '../train/presets.js';

/** Where a run's images come from and how they are split. */
export interface DataOptions {
  /** Folder with images/ and masks/ (default: the phantom). */
  data?: string;
  /** Separate test folder (default: a seeded split of --data). */
  testData?: string;
  /** Foreground value of the masks (default: any non-zero). */
  label?: number;
  /** Fraction of --data held out for testing. */
  testFraction: number;
  /** Train on a seeded subset of this many of the training images (default: all of them). */
  trainImages?: number;
  /** Seed of the split, the `trainImages` subset and the phantom (and, plus the repeat, of each run). */
  seed: number;
}

export interface RunOptions extends Protocol, DataOptions {
  /** The preset the protocol starts from. */
  preset: PresetName;
  /** The models to train, in order. */
  models: ModelName[];
  /**
   * Base widths of single models that differ from `baseFilters` (`--base-filters unet=4,sa-unet=16`):
   * only models of the run, only widths other than `baseFilters`, in the zoo's order; {} for none.
   * See {@link baseFiltersOf}.
   */
  modelBaseFilters: Partial<Record<ModelName, number>>;
  /** The tfjs backend ('auto': tfjs-node if installed, else hardware WebGPU, else wasm). */
  backend: BackendChoice;
  /** Results folder (compare: default bench-results/<timestamp>; train: required). */
  out?: string;
  /** Continue an interrupted run in `out` with the same options. */
  resume: boolean;
  /** No progress bars or logs. */
  quiet: boolean;
  /** Worker threads for the training runs (default: one per core on wasm/cpu, else one). */
  workers?: number;
  /**
   * On webgpu, replay each Adam step's recorded GPU commands (`replayTrainStep` of
   * @sa-unet/tfjs-kernels): the same results, less CPU time per step. Default true;
   * `--no-replay-steps` trains through trainOnBatch.
   */
  replaySteps?: boolean;
  /**
   * Least seconds between two saves of a run's training state, which `resume` continues from
   * (default 60: a save after the first epoch that ends a minute or more after the last).
   */
  stateEverySeconds?: number;
  /**
   * The original images' pixel size (from `--dpi` or `--mm-per-pixel`): the test scores then
   * include how the predicted cross-sectional areas agree with the masks' (mm²). Undefined: no areas.
   */
  pixelSize?: PixelSize;
}

/** Raw flag values as the CLI parses them (every field optional). */
export type RawRunOptions = Partial<Omit<RunOptions, 'models' | 'preset' | 'backend' | 'pixelSize' | 'modelBaseFilters'>> & {
  /**
   * Base widths of single models, by model name (`--base-filters unet=4,sa-unet=16`), e.g. to compare
   * networks of about the same parameter count; the others get `baseFilters`.
   */
  modelBaseFilters?: Record<string, number>;
  /** Dots per inch of the original images, for the areas (or give `mmPerPixel`). */
  dpi?: number;
  /** mm per pixel of the original images, square pixels, for the areas (or give `dpi`). */
  mmPerPixel?: number;
  /** 'quick' (default) or 'paper'. */
  preset?: string;
  /** Model names, as a list or comma-separated (default: all five). */
  models?: string | string[];
  /** One of {@link BACKEND_CHOICES} (default 'auto'). */
  backend?: string;
};

/** The models of a `--models` value (a list or comma-separated; default all five), checked and without repeats. */
export function parseModels(value: string | string[] | undefined): ModelName[] {
  const names = value === undefined ? [...MODEL_NAMES] : (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--models: give at least one of ${MODEL_NAMES.join(', ')}`);
  for (const name of names) {
    if (!isModelName(name)) throw new Error(`unknown model ${JSON.stringify(name)} in --models; expected any of: ${MODEL_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as ModelName[];
}

/** A --backend value, checked (default 'auto'). */
export function checkBackend(value: string | undefined): BackendChoice {
  const backend = value ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  return backend as BackendChoice;
}

export function checkInteger(value: unknown, flag: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The largest input side the commands accept. At 4096 one first-level activation of a base-32
 * network is already 2 GiB (WebGPU's usual buffer-binding limit; the wasm heap holds 4 GiB in
 * all), so larger sides could only fail deep inside a backend, or in allocating the input.
 */
export const MAX_SIZE = 4096;

/** An input side: an integer from 16 to {@link MAX_SIZE}, a multiple of 16 (the networks downsample 4 times). */
export function checkSize(value: unknown, flag = '--size'): number {
  const size = checkInteger(value, flag, 16);
  if (size > MAX_SIZE) throw new Error(`${flag} must be at most ${MAX_SIZE} (one activation of a base-32 network is 2 GiB there), got ${size}`);
  if (size % 16 !== 0) {
    const below = Math.max(16, Math.floor(size / 16) * 16);
    throw new Error(`${flag} must be a multiple of 16 (the networks downsample 4 times), got ${size}; nearest: ${below} or ${below + 16}`);
  }
  return size;
}

export function checkBoolean(value: unknown, flag: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${flag} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function checkNumber(value: unknown, flag: string, min: number, max = Infinity, minInclusive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (minInclusive ? value < min : value <= min) || value > max) {
    throw new Error(`${flag} must be a number ${minInclusive ? '>=' : '>'} ${min}${max < Infinity ? ` and <= ${max}` : ''}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** What --foreground-prior takes, for its errors. */
export const FOREGROUND_PRIOR_VALUES = "'auto' (the training masks' foreground fraction) or a probability in (0, 1)";

/** Whether `value` is a prior to start at: 'auto' or a probability strictly between 0 and 1. */
export function isForegroundPrior(value: unknown): value is number | 'auto' {
  return value === 'auto' || (typeof value === 'number' && value > 0 && value < 1);
}

/** A --foreground-prior value: 'auto', a probability in (0, 1), or null (a zero bias). */
export function checkForegroundPrior(value: unknown): number | 'auto' | null {
  if (value === null || isForegroundPrior(value)) return value;
  throw new Error(`--foreground-prior must be ${FOREGROUND_PRIOR_VALUES}, got ${JSON.stringify(value)}`);
}

/**
 * Per-model base widths, checked: names of models that the run trains, integer widths of at least 4.
 * Kept in the zoo's order and only where they differ from `baseFilters`, so that one run's options
 * have one form (a resumed run compares them).
 */
export function checkModelBaseFilters(value: Record<string, number> | undefined, baseFilters: number, models: readonly ModelName[]): Partial<Record<ModelName, number>> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`--base-filters: expected widths by model name, as { unet: 4 }, got ${JSON.stringify(value)}`);
  }
  for (const [name, width] of Object.entries(value)) {
    if (!isModelName(name)) throw new Error(`--base-filters: unknown model ${JSON.stringify(name)}; expected any of: ${MODEL_NAMES.join(', ')}`);
    if (!models.includes(name)) throw new Error(`--base-filters: ${name}=${String(width)} names a model that this run does not train (models: ${models.join(', ')})`);
    checkInteger(width, `--base-filters (the width of ${name})`, 4);
  }
  return Object.fromEntries(MODEL_NAMES.filter((name) => name in value && value[name] !== baseFilters).map((name) => [name, value[name]]));
}

/** The preset's protocol, overridden by the given flags; every value checked. */
export function resolveRunOptions(raw: RawRunOptions): RunOptions {
  const preset = raw.preset ?? 'quick';
  if (!isPresetName(preset)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(preset)}`);
  const base = PRESETS[preset];
  const backend = checkBackend(raw.backend);
  const size = checkSize(raw.size ?? base.size);
  const baseFilters = checkInteger(raw.baseFilters ?? base.baseFilters, '--base-filters', 4);
  const models = parseModels(raw.models);
  return {
    preset,
    size,
    epochs: checkInteger(raw.epochs ?? base.epochs, '--epochs', 1),
    repeats: checkInteger(raw.repeats ?? base.repeats, '--repeats', 1),
    batchSize: checkInteger(raw.batchSize ?? base.batchSize, '--batch-size', 1),
    learningRate: checkNumber(raw.learningRate ?? base.learningRate, '--lr', 0, 1),
    shearDegrees: checkNumber(raw.shearDegrees ?? base.shearDegrees, '--shear', 0, 45, true),
    baseFilters,
    phantomCount: checkInteger(raw.phantomCount ?? base.phantomCount, '--phantom-count', 2),
    recalibrateBatchNorm: checkBoolean(raw.recalibrateBatchNorm ?? base.recalibrateBatchNorm, '--recalibrate-bn'),
    channelAttention: checkBoolean(raw.channelAttention ?? base.channelAttention, '--no-channel-attention'),
    foregroundPrior: checkForegroundPrior(raw.foregroundPrior === undefined ? base.foregroundPrior : raw.foregroundPrior),
    models,
    modelBaseFilters: checkModelBaseFilters(raw.modelBaseFilters, baseFilters, models),
    backend,
    data: raw.data,
    testData: raw.testData,
    label: raw.label === undefined ? undefined : checkInteger(raw.label, '--label', 0),
    testFraction: checkNumber(raw.testFraction ?? 0.2, '--test-fraction', 0, 0.9),
    trainImages: raw.trainImages === undefined ? undefined : checkInteger(raw.trainImages, '--train-images', 1),
    seed: checkInteger(raw.seed ?? 1, '--seed', 0),
    out: raw.out,
    resume: raw.resume ?? false,
    quiet: raw.quiet ?? false,
    workers: raw.workers === undefined ? undefined : checkInteger(raw.workers, '--workers', 1),
    replaySteps: checkBoolean(raw.replaySteps ?? true, '--no-replay-steps'),
    stateEverySeconds: raw.stateEverySeconds === undefined ? undefined : checkNumber(raw.stateEverySeconds, 'stateEverySeconds', 0, 86_400, true),
    pixelSize: checkPixelSize(raw),
  };
}

/** The pixel size that --dpi or --mm-per-pixel give (square pixels), checked; undefined where neither is given. */
export function checkPixelSize(opts: { dpi?: number; mmPerPixel?: number }): PixelSize | undefined {
  if (opts.dpi !== undefined && opts.mmPerPixel !== undefined) throw new Error('give --dpi or --mm-per-pixel, not both');
  if (opts.dpi !== undefined) return { dpi: checkNumber(opts.dpi, '--dpi', 0) };
  if (opts.mmPerPixel === undefined) return undefined;
  const mm = checkNumber(opts.mmPerPixel, '--mm-per-pixel', 0);
  return { spacingMm: [mm, mm] };
}
