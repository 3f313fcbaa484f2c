/** U-Net (Ronneberger, Fischer & Brox, MICCAI 2015), with batch normalisation and a choice of upsampling. */
import * as tfl from '@tensorflow/tfjs-layers';
import { concat, convBlock, levelFilters, maxPool, modelInput, plainConv, segmentationHead, sizeChecked, upsample, type ConvFactory, type S } from './blocks.js';
import { resolveCommonConfig, type CommonConfig, type ResolvedCommonConfig } from './config.js';

/** The config of {@link unet}: the options every model of the zoo takes, nothing more. */
export type UNetConfig = CommonConfig;

/**
 * The U-Net encoder-decoder on `input`, built with `conv` as its convolution (the SA-U-Net passes
 * the scale-attentional one). Returns the decoder's last features (baseFilters channels).
 */
export function encoderDecoder(input: S, config: ResolvedCommonConfig, conv: ConvFactory = plainConv): S {
  const p = config.name;
  const skips: S[] = [];
  let x = sizeChecked(input, config);
  for (let level = 0; level < config.depth; level++) {
    x = convBlock(x, levelFilters(config, level), `${p}_enc${level}`, config, conv);
    skips.push(x);
    x = maxPool(x, `${p}_pool${level}`);
  }
  x = convBlock(x, levelFilters(config, config.depth), `${p}_bottleneck`, config, conv);
  for (let level = config.depth - 1; level >= 0; level--) {
    const filters = levelFilters(config, level);
    const up = upsample(x, filters, `${p}_up${level}`, config, conv);
    x = convBlock(concat([skips[level], up], `${p}_concat${level}`), filters, `${p}_dec${level}`, config, conv);
  }
  return x;
}

/** Headless U-Net: the decoder output (baseFilters channels at full resolution) for `input`. */
export function unetBase(input: S, config: UNetConfig): S {
  return encoderDecoder(input, resolveCommonConfig(config, 'unet'));
}

/** U-Net with a segmentation head. */
export function unet(config: UNetConfig): tfl.LayersModel {
  const resolved = resolveCommonConfig(config, 'unet');
  const input = modelInput(resolved);
  const output = segmentationHead(encoderDecoder(input, resolved), resolved);
  return tfl.model({ inputs: input, outputs: output, name: resolved.name });
}
