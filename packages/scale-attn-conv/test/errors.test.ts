import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../test-utils/backends.js';
import {
  applyChannelAttention, efficientChannelAttention, scaleAttentionalConv2d, scaleAttentionalMultiplyAdds, scaleAttentionalParamCount, type ScaleAttentionalConv2DArgs,
} from '@sa-unet/scale-attn-conv';

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
    ['useBias not a boolean', { filters: 8, useBias: 'no' as unknown as boolean }, /'useBias' must be true or false, got "no"/],
    // conv2d's arguments that the layer does not take: refused with what to do instead, not ignored.
    ['conv2d strides', { filters: 8, strides: 2 } as object, /^ScaleAttentionalConv2D: 'strides' 2 is not supported: the layer keeps the spatial size, .* downsample with a pooling layer after it$/],
    ['an activation other than relu', { filters: 8, activation: 'sigmoid' } as object, /^ScaleAttentionalConv2D: 'activation' must be 'linear' \(or null\) or 'relu', got "sigmoid"; for another, add an activation layer after it$/],
    ['affine not a boolean', { filters: 8, affine: 1 } as object, /'affine' must be true or false, got 1/],
    ['channels first', { filters: 8, dataFormat: 'channelsFirst' } as object, /'dataFormat' "channelsFirst" is not supported: the layer is channels last only/],
    ['a misspelt argument', { filters: 8, kernelInitialiser: 'heNormal' } as object, /^ScaleAttentionalConv2D: unknown argument 'kernelInitialiser'; did you mean 'kernelInitializer'\?$/],
    ['a misspelt layer argument', { filters: 8, trainible: false } as object, /unknown argument 'trainible'; did you mean 'trainable'\?/],
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

  it.each([
    ['ScaleAttentionalConv2D', () => scaleAttentionalConv2d({ filters: 4, name: 'sa' }), 'sa'],
    ['EfficientChannelAttention', () => efficientChannelAttention({ name: 'eca' }), 'eca'],
  ])('%s applied to two inputs, symbolic or concrete, names itself and the count', (_, make, name) => {
    const symbolic = [tfl.input({ shape: [8, 8, 2] }), tfl.input({ shape: [8, 8, 2] })];
    expect(() => make().apply(symbolic)).toThrow(`${name}: expected one input, got 2`);
    const concrete = [tf.ones([1, 8, 8, 2]), tf.ones([1, 8, 8, 2])];
    expect(() => make().apply(concrete)).toThrow(`${name}: expected one input, got 2`);
    tf.dispose(concrete);
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

  it('accepts every tfjs-layers layer argument, conv2d arguments at the values it implements, and keys unlike its own', () => {
    const layer = scaleAttentionalConv2d({
      filters: 8, name: 'sa', trainable: false, dtype: 'float32', inputShape: [8, 8, 1], batchSize: 2, inputDType: 'float32',
      strides: [1, 1], activation: 'linear', dataFormat: 'channelsLast', customObjects: {}, someFutureOption: true, id: 3,
    } as ScaleAttentionalConv2DArgs);
    expect(layer.name).toBe('sa');
    expect(layer.batchInputShape).toEqual([2, 8, 8, 1]);
  });

  it('a non-float input names the layer and the cast to make', () => {
    const x = tf.ones([1, 4, 4, 2], 'int32');
    expect(() => scaleAttentionalConv2d({ filters: 4 }).apply(x)).toThrow("ScaleAttentionalConv2D: expected a float32 input, got int32; cast it first (tf.cast(x, 'float32'))");
    expect(() => efficientChannelAttention().apply(x)).toThrow('EfficientChannelAttention: expected a float32 input, got int32');
    x.dispose();
  });

  it.each<[string, object, RegExp]>([
    ['even kernel size', { kernelSize: 2 }, /'kernelSize' must be an odd integer >= 1/],
    ['gamma 0 (a division by zero in the adaptive kernel size)', { gamma: 0 }, /'gamma' must be a finite number > 0, got 0/],
    ['b not a number', { b: '1' }, /'b' must be a finite number, got "1"/],
    ['a misspelt argument', { kernel_size: 3 }, /^EfficientChannelAttention: unknown argument 'kernel_size'; did you mean 'kernelSize'\?$/],
  ])('EfficientChannelAttention: %s', (_, args, message) => {
    expect(() => efficientChannelAttention(args)).toThrow(message);
  });

  it.each<[string, () => unknown, string]>([
    ['no input channels', () => scaleAttentionalParamCount({ inputChannels: 0, filters: 8 }), "scaleAttentionalParamCount: 'inputChannels' must be an integer >= 1, got 0"],
    ['filters missing', () => scaleAttentionalParamCount({ inputChannels: 1 } as never), "scaleAttentionalParamCount: 'filters' must be an integer >= 1, got undefined"],
    ['filters not divisible by scales', () => scaleAttentionalParamCount({ inputChannels: 1, filters: 6 }),
      "scaleAttentionalParamCount: 'filters' (6) must be divisible by 'scales' (4) unless 'stageFilters' is given"],
    ['an even kernel size', () => scaleAttentionalParamCount({ inputChannels: 1, filters: 8, kernelSize: 4 }),
      "scaleAttentionalParamCount: 'kernelSize' must be an odd integer >= 1 (1, 3, 5, ...), got 4"],
    ['an even attention kernel size', () => scaleAttentionalParamCount({ inputChannels: 1, filters: 8, attentionKernelSize: 2 }),
      "scaleAttentionalParamCount: 'attentionKernelSize' must be an odd integer >= 1 (1, 3, 5, ...), got 2"],
    ['a fractional stage width', () => scaleAttentionalParamCount({ inputChannels: 1, filters: 6, stageFilters: 1.5 }),
      "scaleAttentionalParamCount: 'stageFilters' must be an integer >= 1, got 1.5"],
    ['multiply-adds without a height', () => scaleAttentionalMultiplyAdds({ inputChannels: 1, filters: 8, width: 4 } as never),
      "scaleAttentionalMultiplyAdds: 'height' must be an integer >= 1, got undefined"],
    ['multiply-adds of an empty image', () => scaleAttentionalMultiplyAdds({ inputChannels: 1, filters: 8, height: 4, width: 0 }),
      "scaleAttentionalMultiplyAdds: 'width' must be an integer >= 1, got 0"],
    ['multiply-adds of no arguments', () => scaleAttentionalMultiplyAdds(undefined as never),
      'scaleAttentionalMultiplyAdds: expected { inputChannels, filters, ... }, got undefined'],
    ['multiply-adds with filters not divisible by scales', () => scaleAttentionalMultiplyAdds({ inputChannels: 1, filters: 6, height: 4, width: 4 }),
      "scaleAttentionalMultiplyAdds: 'filters' (6) must be divisible by 'scales' (4) unless 'stageFilters' is given"],
    ['channel attention on a 2-D tensor', () => applyChannelAttention(tf.zeros([2, 2]), tf.zeros([3, 1, 1])),
      'applyChannelAttention: expected a 4-D input [batch, height, width, channels] (channels last), got shape [2, 2]'],
    ['channel attention with an even kernel', () => applyChannelAttention(tf.zeros([1, 2, 2, 4]), tf.zeros([2, 1, 1])),
      'applyChannelAttention: kernel must have shape [k, 1, 1] with k odd (a 1-D convolution across channels), got [2, 1, 1]'],
    ['channel attention with a 2-D kernel', () => applyChannelAttention(tf.zeros([1, 2, 2, 4]), tf.zeros([3, 1])),
      'applyChannelAttention: kernel must have shape [k, 1, 1] with k odd (a 1-D convolution across channels), got [3, 1]'],
    ['channel attention on integers', () => applyChannelAttention(tf.zeros([1, 2, 2, 4], 'int32'), tf.zeros([3, 1, 1])),
      "applyChannelAttention: expected a float32 input, got int32; cast it first (tf.cast(x, 'float32'))"],
  ])('%s', (_, call, message) => {
    expect(call).toThrow(message);
  });

  it('EfficientChannelAttention: a short unknown key is not taken for a misspelt b', () => {
    expect(efficientChannelAttention({ id: 3, k: 5 } as object).getConfig()).toMatchObject({ b: 1, kernelSize: 'auto' });
  });
});
