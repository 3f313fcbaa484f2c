/** The configuration every model of the zoo shares, with the same names and defaults. */

/** How the decoder doubles the resolution. */
export type Upsampling = 'nearest-conv' | 'transpose';

/** Options common to every model. */
export interface CommonConfig {
  /** [height, width, channels]; height and width must be divisible by 2^depth. Required. */
  inputShape: [number, number, number];
  /** Filters of the first level; level i has baseFilters * 2^i. Default 32. */
  baseFilters?: number;
  /** Number of downsamplings (levels below the first). Default 4. */
  depth?: number;
  /** 1: one sigmoid channel (binary segmentation); > 1: softmax over numClasses channels. Default 1. */
  numClasses?: number;
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

/** The nearest sizes at or around `size` that are multiples of `step`. */
function nearestValid(size: number, step: number): string {
  const below = Math.floor(size / step) * step;
  const above = below + step;
  return below >= step ? `${below} or ${above}` : `${above}`;
}

/** Validates a config and fills in the defaults. */
export function resolveCommonConfig(config: CommonConfig, model: string): ResolvedCommonConfig {
  if (config === null || typeof config !== 'object') {
    throw new Error(`${model}: expected a config object with at least 'inputShape', got ${JSON.stringify(config)}`);
  }
  const { inputShape } = config;
  if (!Array.isArray(inputShape) || inputShape.length !== 3) {
    throw new Error(`${model}: 'inputShape' must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  inputShape.forEach((d, i) => positiveInteger(d, `inputShape[${i}]`, model));
  const depth = positiveInteger(config.depth ?? 4, 'depth', model);
  const baseFilters = positiveInteger(config.baseFilters ?? 32, 'baseFilters', model);
  const numClasses = positiveInteger(config.numClasses ?? 1, 'numClasses', model);
  const step = 2 ** depth;
  for (const [i, axis] of [[0, 'height'], [1, 'width']] as const) {
    if (inputShape[i] % step !== 0) {
      throw new Error(
        `${model}: inputShape ${axis} ${inputShape[i]} is not divisible by 2^depth = ${step} (depth ${depth}); ` +
          `nearest valid ${axis}: ${nearestValid(inputShape[i], step)}`,
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
  return { inputShape: [...inputShape] as [number, number, number], baseFilters, depth, numClasses, batchNorm, batchNormMomentum, upsampling, dropout, name };
}
