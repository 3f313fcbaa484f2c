/**
 * Attention U-Net (Oktay et al., MIDL 2018): a U-Net whose skip connections pass through
 * additive attention gates driven by the coarser decoder features.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { concat, convBlock, levelFilters, maxPool, modelInput, segmentationHead, sizeChecked, upsample, type S } from './blocks.js';
import { resolveCommonConfig, type CommonConfig, type ResolvedCommonConfig } from './config.js';

export interface AttentionUNetConfig extends CommonConfig {
  /** Channels of the gate's intermediate features, as a fraction of the skip's channels. Default 0.5. */
  gateRatio?: number;
  /** How the gate's coefficients return to the skip's resolution. Default 'bilinear'. */
  gateResample?: 'bilinear' | 'nearest';
}

/**
 * Additive attention gate: alpha = sigmoid(psi(relu(theta(x) + phi(g)))) computed at g's
 * resolution (theta: 2x2 stride-2 conv without bias; phi, psi: 1x1 convs), resampled to x's
 * resolution; returns x * alpha.
 */
export function attentionGate(x: S, g: S, interChannels: number, name: string, resample: 'bilinear' | 'nearest' = 'bilinear'): S {
  if (!Number.isInteger(interChannels) || interChannels < 1) throw new Error(`attentionGate: interChannels must be an integer >= 1, got ${JSON.stringify(interChannels)}`);
  if (typeof name !== 'string' || name === '') throw new Error(`attentionGate: name must be a non-empty string (its layers' prefix), got ${JSON.stringify(name)}`);
  if (resample !== 'bilinear' && resample !== 'nearest') throw new Error(`attentionGate: resample must be 'bilinear' or 'nearest', got ${JSON.stringify(resample)}`);
  const theta = tfl.layers.conv2d({ filters: interChannels, kernelSize: 2, strides: 2, padding: 'same', useBias: false, name: `${name}_theta` })
    .apply(x) as S;
  const phi = tfl.layers.conv2d({ filters: interChannels, kernelSize: 1, name: `${name}_phi` }).apply(g) as S;
  const f = tfl.layers.reLU({ name: `${name}_relu` }).apply(tfl.layers.add({ name: `${name}_add` }).apply([theta, phi]) as S) as S;
  const alpha = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: `${name}_psi` }).apply(f) as S;
  const alphaUp = tfl.layers.upSampling2d({ size: [2, 2], interpolation: resample, name: `${name}_resample` }).apply(alpha) as S;
  return tfl.layers.multiply({ name: `${name}_gated` }).apply([x, alphaUp]) as S;
}

function resolve(config: AttentionUNetConfig): ResolvedCommonConfig {
  const resolved = resolveCommonConfig(config, 'attention-unet');
  const ratio = config.gateRatio ?? 0.5;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw new Error(`attention-unet: 'gateRatio' must be a number in (0, 1], got ${JSON.stringify(config.gateRatio)}`);
  }
  const resample = config.gateResample ?? 'bilinear';
  if (resample !== 'bilinear' && resample !== 'nearest') {
    throw new Error(`attention-unet: 'gateResample' must be 'bilinear' or 'nearest', got ${JSON.stringify(config.gateResample)}`);
  }
  return resolved;
}

function build(input: S, config: ResolvedCommonConfig, options: AttentionUNetConfig): S {
  const p = config.name;
  const ratio = options.gateRatio ?? 0.5;
  const skips: S[] = [];
  let x = sizeChecked(input, config);
  for (let level = 0; level < config.depth; level++) {
    x = convBlock(x, levelFilters(config, level), `${p}_enc${level}`, config);
    skips.push(x);
    x = maxPool(x, `${p}_pool${level}`);
  }
  x = convBlock(x, levelFilters(config, config.depth), `${p}_bottleneck`, config);
  for (let level = config.depth - 1; level >= 0; level--) {
    const filters = levelFilters(config, level);
    const gated = attentionGate(skips[level], x, Math.max(1, Math.round(filters * ratio)), `${p}_gate${level}`, options.gateResample);
    const up = upsample(x, filters, `${p}_up${level}`, config);
    x = convBlock(concat([gated, up], `${p}_concat${level}`), filters, `${p}_dec${level}`, config);
  }
  return x;
}

/** Headless Attention U-Net: the decoder output (baseFilters channels at full resolution). */
export function attentionUnetBase(input: S, config: AttentionUNetConfig): S {
  return build(input, resolve(config), config);
}

/** Attention U-Net with a segmentation head. */
export function attentionUnet(config: AttentionUNetConfig): tfl.LayersModel {
  const resolved = resolve(config);
  const input = modelInput(resolved);
  return tfl.model({ inputs: input, outputs: segmentationHead(build(input, resolved, config), resolved), name: resolved.name });
}
