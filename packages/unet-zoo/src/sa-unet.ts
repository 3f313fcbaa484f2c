/**
 * SA-U-Net (Kim et al., Ultrasonography 2022): the U-Net in which every convolution, including
 * the one after each upsampling, is a ScaleAttentionalConv2D followed by BN and ReLU.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { modelInput, segmentationHead, type ConvFactory, type S } from './blocks.js';
import { resolveCommonConfig, type CommonConfig } from './config.js';
import { encoderDecoder } from './unet.js';

export interface SAUNetConfig extends CommonConfig {
  /** N, the cascaded stages of every scale-attentional convolution. Default 4. */
  scales?: number;
  /** ECA kernel size of every layer: 'auto' or an odd integer. Default 'auto'. */
  attentionKernelSize?: 'auto' | number;
  /**
   * Weight every layer's concatenated scales by ECA channel attention, as in the paper. Default
   * true; false is the ablation without it (the layers' `useAttention: false`).
   */
  useAttention?: boolean;
}

function saConv(config: SAUNetConfig): ConvFactory {
  const scales = config.scales ?? 4;
  const attentionKernelSize = config.attentionKernelSize ?? 'auto';
  const useAttention = config.useAttention ?? true;
  // The kernel size argument is the U-Net's 3x3: the layer's own receptive field replaces it. The
  // layer's default glorotUniform starts every stage of its linear cascade at its input's scale;
  // He's x2 per conv would compound over the stages (quick preset, with tfjs' depthwise fans:
  // test DSC 0.32 against 0.09).
  return (x, filters, _kernelSize, name, useBias) =>
    scaleAttentionalConv2d({ filters, scales, attentionKernelSize, useAttention, useBias, name }).apply(x) as S;
}

function resolve(config: SAUNetConfig) {
  const resolved = resolveCommonConfig(config, 'sa-unet');
  const scales = config.scales ?? 4;
  if (!Number.isInteger(scales) || scales < 1) throw new Error(`sa-unet: 'scales' must be an integer >= 1, got ${JSON.stringify(config.scales)}`);
  if (config.useAttention !== undefined && typeof config.useAttention !== 'boolean') {
    throw new Error(`sa-unet: 'useAttention' must be true or false, got ${JSON.stringify(config.useAttention)}`);
  }
  if (resolved.baseFilters % scales !== 0) {
    throw new Error(`sa-unet: 'baseFilters' (${resolved.baseFilters}) must be divisible by 'scales' (${scales}), so that every layer's stages are equally wide`);
  }
  return resolved;
}

/** Headless SA-U-Net: the decoder output (baseFilters channels at full resolution) for `input`. */
export function saUnetBase(input: S, config: SAUNetConfig): S {
  return encoderDecoder(input, resolve(config), saConv(config));
}

/** SA-U-Net with a segmentation head (a plain 1x1 convolution). */
export function saUnet(config: SAUNetConfig): tfl.LayersModel {
  const resolved = resolve(config);
  const input = modelInput(resolved);
  const output = segmentationHead(encoderDecoder(input, resolved, saConv(config)), resolved);
  return tfl.model({ inputs: input, outputs: output, name: resolved.name });
}
