import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../test-utils/backends.js';
import { efficientChannelAttention, scaleAttentionalConv2d, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';

beforeAll(() => useBackend('cpu'));

describe('bad arguments throw errors that name the argument and the allowed values', () => {
  it.each<[string, Partial<ScaleAttentionalConv2DArgs>, RegExp]>([
    ['filters not divisible by scales', { filters: 10, scales: 4 }, /'filters' \(10\) must be divisible by 'scales' \(4\)/],
    ['scales < 1', { filters: 8, scales: 0 }, /'scales' must be an integer >= 1, got 0/],
    ['fractional scales', { filters: 8, scales: 1.5 }, /'scales' must be an integer >= 1/],
    ['missing filters', {}, /'filters' must be an integer >= 1, got undefined/],
    ['negative filters', { filters: -4 }, /'filters' must be an integer >= 1/],
    ['even attention kernel', { filters: 8, attentionKernelSize: 4 }, /'attentionKernelSize' must be 'auto' or an odd integer >= 1 \(1, 3, 5, \.\.\.\), got 4/],
    ['unknown attention kernel string', { filters: 8, attentionKernelSize: 'big' as unknown as 'auto' }, /'attentionKernelSize' must be 'auto' or an odd integer/],
    ['even kernel size', { filters: 8, kernelSize: 2 }, /'kernelSize' must be an odd integer >= 1 \(1, 3, 5, \.\.\.\), got 2/],
    ['padding valid', { filters: 8, padding: 'valid' as 'same' }, /'padding' must be 'same' \(the stages are concatenated\), got "valid"/],
    ['dilation 0', { filters: 8, dilationRate: 0 }, /'dilationRate' must be an integer >= 1/],
    ['stageFilters 0', { filters: 8, stageFilters: 0 }, /'stageFilters' must be an integer >= 1/],
    ['unknown initializer', { filters: 8, kernelInitializer: 'notAnInitializer' }, /kernelInitializer: unknown initializer 'notAnInitializer'/],
  ])('%s', (_, args, message) => {
    expect(() => scaleAttentionalConv2d(args as ScaleAttentionalConv2DArgs)).toThrow(message);
  });

  it('non-4D input, symbolic and concrete', () => {
    const layer = scaleAttentionalConv2d({ filters: 8 });
    expect(() => layer.build([null, 8, 3])).toThrow(/expected a 4-D input \[batch, height, width, channels\] \(channels last\), got shape \[null, 8, 3\]/);
    const layer2 = scaleAttentionalConv2d({ filters: 8 });
    const x = tf.ones([8, 8, 3]);
    expect(() => layer2.apply(x)).toThrow(/expected a 4-D input/);
    x.dispose();
  });

  it('unknown channel count', () => {
    expect(() => scaleAttentionalConv2d({ filters: 8 }).build([null, 8, 8, null])).toThrow(/channel dimension of the input must be known/);
  });

  it('input with other channels than the layer was built for', () => {
    const layer = scaleAttentionalConv2d({ filters: 4, scales: 2 });
    layer.build([null, 4, 4, 3]);
    const x = tf.ones([1, 4, 4, 5]);
    expect(() => layer.apply(x)).toThrow(/built for 3 input channels, got an input with 5/);
    x.dispose();
  });

  it('EfficientChannelAttention: even kernel size', () => {
    expect(() => efficientChannelAttention({ kernelSize: 2 })).toThrow(/'kernelSize' must be an odd integer >= 1/);
  });
});
