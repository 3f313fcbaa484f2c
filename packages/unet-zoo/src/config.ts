/** The configuration every model of the zoo shares, with the same names and defaults. */
import type { AttentionUNetConfig } from './attention-unet.js';
import { nearestValid } from './input-size.js';
import type { MultiResUNetConfig } from './multires-unet.js';
import type { SAUNetConfig } from './sa-unet.js';
import type { UNetPlusPlusConfig } from './unet-plus-plus.js';

/** How the decoder doubles the resolution. */
export type Upsampling = 'nearest-conv' | 'transpose';

/** Options common to every model. */
export interface CommonConfig {
  /**
   * [height, width, channels]; height and width must be divisible by 2^depth. Required. `null`
   * for height or width builds a model for any such size (fully convolutional): the model then
   * checks each input's size when it runs, and loading it needs this package imported.
   */
  inputShape: [number | null, number | null, number];
  /** Filters of the first level; level i has baseFilters * 2^i. Default 32. */
  baseFilters?: number;
  /** Number of downsamplings (levels below the first). Default 4. */
  depth?: number;
  /** 1: one sigmoid channel (binary segmentation); > 1: softmax over numClasses channels. Default 1. */
  numClasses?: number;
  /**
   * The probability of foreground that every pixel starts at (one sigmoid channel only): the
   * head's bias starts at log(p / (1 - p)), as Lin et al. (2017, "Focal loss for dense object
   * detection") start a detector's classifier at the prior of its rare class. Give the foreground
   * fraction of the training masks: with dice loss and a small structure, a network that starts at
   * 0.5 everywhere spends its first epochs lowering every background pixel. Default 0.5 (a zero
   * bias, as Keras and the paper).
   */
  foregroundPrior?: number;
  /** Batch normalisation after every convolution (then the convolutions have no bias). Default true. */
  batchNorm?: boolean;
  /**
   * Momentum of the BN moving statistics (Keras convention: moving = momentum * moving +
   * (1 - momentum) * batch). Default 0.9, PyTorch's default: with Keras' 0.99 the inference-time
   * statistics lag far behind after a few hundred steps.
   */
  batchNormMomentum?: number;
  /**
   * 'nearest-conv' (default, the paper's choice): nearest-neighbour upsampling by 2 followed by a
   * 3x3 convolution to half the channels (with BN and ReLU). 'transpose': a 2x2 transposed
   * convolution with stride 2 to half the channels (linear, as in Ronneberger et al.).
   */
  upsampling?: Upsampling;
  /** Dropout rate after every convolution block (0 = none). Default 0. */
  dropout?: number;
  /** Prefix of every layer name (layer names are deterministic). Default: the model's name. */
  name?: string;
}

/** A common config with every default filled in. */
export type ResolvedCommonConfig = Required<CommonConfig>;

function positiveInteger(value: unknown, arg: string, model: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${model}: '${arg}' must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The options every model takes (the compiler checks the list against {@link CommonConfig}). */
const COMMON_OPTIONS = Object.keys({
  inputShape: true, baseFilters: true, depth: true, numClasses: true, foregroundPrior: true, batchNorm: true, batchNormMomentum: true, upsampling: true,
  dropout: true, name: true,
} satisfies Record<keyof CommonConfig, true>);

/** The options of each model beyond the common ones (checked by the compiler against its config). */
const MODEL_OPTIONS: Record<string, readonly string[]> = {
  unet: [],
  'unet-plus-plus': Object.keys({ deepSupervision: true } satisfies Record<Exclude<keyof UNetPlusPlusConfig, keyof CommonConfig>, true>),
  'attention-unet': Object.keys({ gateRatio: true, gateResample: true } satisfies Record<Exclude<keyof AttentionUNetConfig, keyof CommonConfig>, true>),
  'multires-unet': Object.keys({ alpha: true } satisfies Record<Exclude<keyof MultiResUNetConfig, keyof CommonConfig>, true>),
  'sa-unet': Object.keys({ scales: true, attentionKernelSize: true, useAttention: true } satisfies Record<Exclude<keyof SAUNetConfig, keyof CommonConfig>, true>),
};

/**
 * Refuses an option that `model` does not take: a plain object passes any key, and an option of
 * another model (`scales` given to 'unet') or a misspelt one (`baseFilter`) would otherwise be
 * ignored without a word.
 */
function checkOptions(config: object, model: string, own: readonly string[]): void {
  const known = [...COMMON_OPTIONS, ...own];
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || known.includes(key)) continue;
    const owners = Object.keys(MODEL_OPTIONS).filter((m) => MODEL_OPTIONS[m].includes(key));
    throw new Error(`${model}: unknown option '${key}'${owners.length > 0 ? ` (an option of ${owners.join(', ')})` : ''}; it takes ${known.join(', ')}`);
  }
}

/**
 * Validates a config and fills in the defaults. For the zoo's models (`model` one of its names)
 * an option the model does not take throws; a model of your own built on this passes the names of
 * its other options as `extraOptions` to get the same check (without them, other keys pass).
 */
export function resolveCommonConfig(config: CommonConfig, model: string, extraOptions?: readonly string[]): ResolvedCommonConfig {
  if (config === null || typeof config !== 'object') {
    throw new Error(`${model}: expected a config object with at least 'inputShape', got ${JSON.stringify(config)}`);
  }
  const own = extraOptions ?? (Object.hasOwn(MODEL_OPTIONS, model) ? MODEL_OPTIONS[model] : undefined);
  if (own !== undefined) checkOptions(config, model, own);
  const { inputShape } = config;
  if (!Array.isArray(inputShape) || inputShape.length !== 3) {
    throw new Error(`${model}: 'inputShape' must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  inputShape.forEach((d, i) => {
    if (d === null && i < 2) return; // any height or width: checked when the model runs
    if (d === null) throw new Error(`${model}: 'inputShape[2]' (channels) must be an integer >= 1, got null; only height and width may be null`);
    positiveInteger(d, `inputShape[${i}]`, model);
  });
  const depth = positiveInteger(config.depth ?? 4, 'depth', model);
  const baseFilters = positiveInteger(config.baseFilters ?? 32, 'baseFilters', model);
  const numClasses = positiveInteger(config.numClasses ?? 1, 'numClasses', model);
  const foregroundPrior = config.foregroundPrior ?? 0.5;
  if (typeof foregroundPrior !== 'number' || !(foregroundPrior > 0 && foregroundPrior < 1)) {
    throw new Error(`${model}: 'foregroundPrior' must be a probability in (0, 1), got ${JSON.stringify(config.foregroundPrior)}`);
  }
  if (config.foregroundPrior !== undefined && numClasses > 1) {
    throw new Error(`${model}: 'foregroundPrior' sets the bias of one sigmoid channel; with numClasses ${numClasses} the head is a softmax, so leave it out`);
  }
  const step = 2 ** depth;
  for (const [i, axis] of [[0, 'height'], [1, 'width']] as const) {
    const side = inputShape[i];
    if (side !== null && side % step !== 0) {
      throw new Error(
        `${model}: inputShape ${axis} ${side} is not divisible by 2^depth = ${step} (depth ${depth}); ` +
          `nearest valid ${axis}: ${nearestValid(side, step)}`,
      );
    }
  }
  const upsampling = config.upsampling ?? 'nearest-conv';
  if (upsampling !== 'nearest-conv' && upsampling !== 'transpose') {
    throw new Error(`${model}: 'upsampling' must be 'nearest-conv' or 'transpose', got ${JSON.stringify(upsampling)}`);
  }
  const dropout = config.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new Error(`${model}: 'dropout' must be a number in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  const batchNormMomentum = config.batchNormMomentum ?? 0.9;
  if (typeof batchNormMomentum !== 'number' || !(batchNormMomentum >= 0 && batchNormMomentum < 1)) {
    throw new Error(`${model}: 'batchNormMomentum' must be a number in [0, 1), got ${JSON.stringify(config.batchNormMomentum)}`);
  }
  const batchNorm = config.batchNorm ?? true;
  if (typeof batchNorm !== 'boolean') throw new Error(`${model}: 'batchNorm' must be true or false, got ${JSON.stringify(batchNorm)}`);
  const name = config.name ?? model.replace(/-/g, '_');
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`${model}: 'name' must start with a letter and contain only letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
  }
  return { inputShape: [...inputShape] as [number | null, number | null, number], baseFilters, depth, numClasses, foregroundPrior, batchNorm, batchNormMomentum, upsampling, dropout, name };
}
