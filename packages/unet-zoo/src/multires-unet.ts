/**
 * MultiRes U-Net (Ibtehaz & Rahman, Neural Networks 2020): MultiRes blocks (three chained 3x3
 * convolutions of W/6, W/3 and W/2 filters, W = alpha U, concatenated, plus a 1x1 residual
 * shortcut) in place of the convolution blocks, and ResPaths (chains of 3x3 convolutions with 1x1
 * residual shortcuts; lengths depth, depth-1, ..., 1) in place of the plain skips.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNorm, concat, convUnit, levelFilters, maxPool, maybeDropout, modelInput, segmentationHead, sizeChecked, upsample, type S } from './blocks.js';
import { resolveCommonConfig, type CommonConfig, type ResolvedCommonConfig } from './config.js';

export interface MultiResUNetConfig extends CommonConfig {
  /** W = alpha * U for a block of U filters. Default 1.67. */
  alpha?: number;
}

/** The three widths of a MultiRes block of U filters: floor(W * 0.167), floor(W * 0.333), floor(W * 0.5). */
export function multiResWidths(u: number, alpha = 1.67): [number, number, number] {
  if (!Number.isInteger(u) || u < 1) throw new Error(`multiResWidths: u must be an integer >= 1, got ${JSON.stringify(u)}`);
  if (!Number.isFinite(alpha) || alpha <= 0) throw new Error(`multiResWidths: alpha must be a finite number > 0, got ${JSON.stringify(alpha)}`);
  const w = alpha * u;
  return [Math.floor(w * 0.167), Math.floor(w * 0.333), Math.floor(w * 0.5)];
}

function add(a: S, b: S, name: string): S {
  return tfl.layers.add({ name }).apply([a, b]) as S;
}

function reluBn(x: S, name: string, config: ResolvedCommonConfig): S {
  const y = tfl.layers.reLU({ name: `${name}_relu` }).apply(x) as S;
  return config.batchNorm ? batchNorm(y, `${name}_bn`, config) : y;
}

/** MultiRes block of U filters (output channels: the sum of {@link multiResWidths}). */
export function multiResBlock(x: S, u: number, alpha: number, name: string, config: ResolvedCommonConfig): S {
  const [w1, w2, w3] = multiResWidths(u, alpha);
  const shortcut = convUnit(x, w1 + w2 + w3, 1, `${name}_shortcut`, config, 'linear');
  const a = convUnit(x, w1, 3, `${name}_3x3`, config);
  const b = convUnit(a, w2, 3, `${name}_5x5`, config);
  const c = convUnit(b, w3, 3, `${name}_7x7`, config);
  let out = concat([a, b, c], `${name}_concat`);
  if (config.batchNorm) out = batchNorm(out, `${name}_concat_bn`, config);
  return maybeDropout(reluBn(add(shortcut, out, `${name}_add`), `${name}_out`, config), name, config);
}

/** ResPath: `length` residual units of a 3x3 conv with a 1x1 shortcut. */
export function resPath(x: S, filters: number, length: number, name: string, config: ResolvedCommonConfig): S {
  if (!Number.isInteger(filters) || filters < 1) throw new Error(`resPath: filters must be an integer >= 1, got ${JSON.stringify(filters)}`);
  if (!Number.isInteger(length) || length < 0) throw new Error(`resPath: length must be an integer >= 0 (0 passes x through), got ${JSON.stringify(length)}`);
  let out = x;
  for (let k = 0; k < length; k++) {
    const shortcut = convUnit(out, filters, 1, `${name}_${k}_shortcut`, config, 'linear');
    const conv = convUnit(out, filters, 3, `${name}_${k}`, config);
    out = reluBn(add(shortcut, conv, `${name}_${k}_add`), `${name}_${k}_out`, config);
  }
  return out;
}

function resolve(config: MultiResUNetConfig): ResolvedCommonConfig {
  const resolved = resolveCommonConfig(config, 'multires-unet');
  const alpha = config.alpha ?? 1.67;
  if (typeof alpha !== 'number' || !(alpha > 0) || multiResWidths(resolved.baseFilters, alpha)[0] < 1) {
    throw new Error(`multires-unet: 'alpha' must be a number > 0 with alpha * baseFilters * 0.167 >= 1, got alpha ${JSON.stringify(config.alpha)} and baseFilters ${resolved.baseFilters}`);
  }
  return resolved;
}

function build(input: S, config: ResolvedCommonConfig, alpha: number): S {
  const p = config.name;
  const skips: S[] = [];
  let x = sizeChecked(input, config);
  for (let level = 0; level < config.depth; level++) {
    const u = levelFilters(config, level);
    x = multiResBlock(x, u, alpha, `${p}_mres${level}`, config);
    skips.push(resPath(x, u, config.depth - level, `${p}_respath${level}`, config));
    x = maxPool(x, `${p}_pool${level}`);
  }
  x = multiResBlock(x, levelFilters(config, config.depth), alpha, `${p}_mres_bottleneck`, config);
  for (let level = config.depth - 1; level >= 0; level--) {
    const u = levelFilters(config, level);
    const up = upsample(x, u, `${p}_up${level}`, config);
    x = multiResBlock(concat([up, skips[level]], `${p}_concat${level}`), u, alpha, `${p}_mres_dec${level}`, config);
  }
  return x;
}

/** Headless MultiRes U-Net: the decoder output at full resolution. */
export function multiResUnetBase(input: S, config: MultiResUNetConfig): S {
  return build(input, resolve(config), config.alpha ?? 1.67);
}

/** MultiRes U-Net with a segmentation head. */
export function multiResUnet(config: MultiResUNetConfig): tfl.LayersModel {
  const resolved = resolve(config);
  const input = modelInput(resolved);
  return tfl.model({ inputs: input, outputs: segmentationHead(build(input, resolved, config.alpha ?? 1.67), resolved), name: resolved.name });
}
