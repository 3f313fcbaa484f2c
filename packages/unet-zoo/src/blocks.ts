/**
 * Building blocks shared by the models: convolution + BN + activation units, encoder and decoder
 * steps, and the segmentation head. Every layer gets a deterministic name from its caller.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { zooBatchNormalization, zooReLU } from './batch-norm.js';
import type { ResolvedCommonConfig } from './config.js';
import { InputSizeCheck } from './input-size.js';

export type S = tfl.SymbolicTensor;
type Activation = 'relu' | 'linear';

/** A function making the network's 2-D convolution (plain conv2d, or the scale-attentional one). */
export type ConvFactory = (x: S, filters: number, kernelSize: number, name: string, useBias: boolean) => S;

export const plainConv: ConvFactory = (x, filters, kernelSize, name, useBias) =>
  tfl.layers.conv2d({ filters, kernelSize, padding: 'same', useBias, kernelInitializer: 'heNormal', name }).apply(x) as S;

/**
 * conv -> BN (if enabled) -> activation, named `${name}_conv`, `${name}_bn`, `${name}_relu` (the
 * ReLU a zoo one, which the batch norm before it applies itself in training where it can).
 */
export function convUnit(
  x: S, filters: number, kernelSize: number, name: string, config: ResolvedCommonConfig,
  activation: Activation = 'relu', conv: ConvFactory = plainConv,
): S {
  let y = conv(x, filters, kernelSize, `${name}_conv`, !config.batchNorm);
  if (config.batchNorm) y = batchNorm(y, `${name}_bn`, config);
  if (activation === 'relu') y = zooReLU({ name: `${name}_relu` }).apply(y) as S;
  return y;
}

/** Two 3x3 conv units, then dropout if configured: the U-Net's convolution block. */
export function convBlock(x: S, filters: number, name: string, config: ResolvedCommonConfig, conv: ConvFactory = plainConv): S {
  let y = convUnit(x, filters, 3, `${name}_1`, config, 'relu', conv);
  y = convUnit(y, filters, 3, `${name}_2`, config, 'relu', conv);
  return maybeDropout(y, name, config);
}

/** Batch normalization (saved as tfjs-layers' own; with a shorter training gradient: ./batch-norm.ts). */
export function batchNorm(x: S, name: string, config: ResolvedCommonConfig): S {
  return zooBatchNormalization({ momentum: config.batchNormMomentum, name }).apply(x) as S;
}

export function maybeDropout(x: S, name: string, config: ResolvedCommonConfig): S {
  return config.dropout > 0 ? (tfl.layers.dropout({ rate: config.dropout, name: `${name}_dropout` }).apply(x) as S) : x;
}

export function maxPool(x: S, name: string): S {
  return tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name }).apply(x) as S;
}

/**
 * Doubles the resolution and sets the channels to `filters`: nearest-neighbour upsampling and a
 * 3x3 conv unit ('nearest-conv'), or a 2x2 stride-2 transposed convolution ('transpose').
 */
export function upsample(x: S, filters: number, name: string, config: ResolvedCommonConfig, conv: ConvFactory = plainConv): S {
  if (config.upsampling === 'transpose') {
    return tfl.layers.conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: 'heNormal', name: `${name}_transpose` })
      .apply(x) as S;
  }
  const up = tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${name}_nearest` }).apply(x) as S;
  return convUnit(up, filters, 3, name, config, 'relu', conv);
}

export function concat(xs: S[], name: string): S {
  return tfl.layers.concatenate({ axis: -1, name }).apply(xs) as S;
}

/**
 * 1x1 convolution to the classes: sigmoid for one class, softmax over channels for more; its bias
 * starts at the logit of `foregroundPrior` (zero, tfjs-layers' default, for 0.5).
 */
export function segmentationHead(x: S, config: ResolvedCommonConfig, name = `${config.name}_head`): S {
  const p = config.foregroundPrior;
  return tfl.layers.conv2d({
    filters: config.numClasses, kernelSize: 1, activation: config.numClasses === 1 ? 'sigmoid' : 'softmax', name,
    ...(p === 0.5 ? {} : { biasInitializer: tfl.initializers.constant({ value: Math.log(p / (1 - p)) }) }),
  }).apply(x) as S;
}

/** Filters of encoder level i. */
export function levelFilters(config: ResolvedCommonConfig, level: number): number {
  return config.baseFilters * 2 ** level;
}

/** A tf.input of the config's shape. */
export function modelInput(config: ResolvedCommonConfig): S {
  return tfl.input({ shape: config.inputShape, name: `${config.name}_input` });
}

/**
 * `x` itself where its height and width are fixed, else `x` through an {@link InputSizeCheck}
 * (`${name}_size_check`). Every network's builder starts with it, so full models and headless
 * bases check alike.
 */
export function sizeChecked(x: S, config: ResolvedCommonConfig): S {
  const [, height, width] = x.shape;
  if (height !== null && width !== null) return x;
  return new InputSizeCheck({ multiple: 2 ** config.depth, name: `${config.name}_size_check` }).apply(x) as S;
}
