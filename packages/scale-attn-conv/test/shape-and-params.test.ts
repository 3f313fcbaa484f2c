import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORWARD_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { kernelMultiplyAdds } from '../../../test-utils/kernel-multiply-adds.js';
import {
  EfficientChannelAttention,
  ScaleAttentionalConv2D,
  ecaKernelSize,
  efficientChannelAttention,
  scaleAttentionalConv2d,
  scaleAttentionalMultiplyAdds,
  scaleAttentionalParamCount,
} from '@sa-unet/scale-attn-conv';

describe('ecaKernelSize', () => {
  it.each([
    [1, 1], [2, 1], [4, 1], [8, 3], [16, 3], [32, 3], [64, 3], [128, 5], [256, 5], [512, 5], [1024, 5], [2048, 7],
  ])('C = %i -> k = %i', (channels, k) => {
    expect(ecaKernelSize(channels)).toBe(k);
  });

  it('uses gamma and b', () => {
    // (log2(64) + 3) / 1 = 9 -> 9 (odd)
    expect(ecaKernelSize(64, 1, 3)).toBe(9);
    // (log2(64) + 2) / 1 = 8 -> 9
    expect(ecaKernelSize(64, 1, 2)).toBe(9);
  });

  it('rejects channels that are not positive integers', () => {
    expect(() => ecaKernelSize(0)).toThrow(/channels/);
    expect(() => ecaKernelSize(2.5)).toThrow(/channels/);
  });
});

describe.each(FORWARD_BACKENDS)('shapes on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('symbolic output shape and computeOutputShape', () => {
    const layer = scaleAttentionalConv2d({ filters: 8, scales: 4 });
    const input = tfl.input({ shape: [16, 12, 3] });
    const output = layer.apply(input) as tfl.SymbolicTensor;
    expect(output.shape).toEqual([null, 16, 12, 8]);
    expect(layer.computeOutputShape([2, 16, 12, 3])).toEqual([2, 16, 12, 8]);
    expect(layer).toBeInstanceOf(ScaleAttentionalConv2D);
  });

  it('concrete output shape, with and without attention and with a projection', () => {
    for (const args of [
      { filters: 8 },
      { filters: 8, useAttention: false },
      { filters: 10, scales: 3, stageFilters: 4 },
      { filters: 6, scales: 1 },
    ]) {
      const layer = scaleAttentionalConv2d(args);
      const y = layer.apply(tf.ones([2, 9, 7, 3])) as tf.Tensor;
      expect(y.shape).toEqual([2, 9, 7, args.filters]);
      y.dispose();
    }
  });

  it('EfficientChannelAttention keeps the shape', () => {
    const layer = efficientChannelAttention();
    const y = layer.apply(tf.ones([1, 4, 4, 16])) as tf.Tensor;
    expect(y.shape).toEqual([1, 4, 4, 16]);
    expect(layer).toBeInstanceOf(EfficientChannelAttention);
    expect(layer.getWeights()[0].shape).toEqual([3, 1, 1]);
    y.dispose();
  });
});

describe('parameter count', () => {
  // Expected counts worked out by hand from the closed form in scaleAttentionalParamCount's docs.
  it.each([
    // inputChannels, filters, scales, stageFilters, useBias, useAttention, expected (, affine)
    [3, 32, 4, undefined, true, true, 24 + 3 * (72 + 64) + 32 + 3], // 467
    [3, 32, 4, undefined, true, true, 24 + 3 * (72 + 64) + 32 + 3 + 64, true], // 531: a scale and shift per output channel
    [1, 16, 4, undefined, false, true, 4 + 3 * (36 + 16) + 3], // 163
    [8, 12, 3, undefined, true, false, 32 + 2 * (36 + 16) + 12], // 148
    [5, 7, 1, undefined, true, true, 35 + 7 + 1], // 43
    [4, 10, 2, 3, true, true, 12 + (27 + 9) + 6 + 1 + (60 + 10)], // 125, with projection
    [4, 10, 2, 3, false, false, 12 + (27 + 9) + 60], // 108
    [4, 10, 2, 3, false, false, 12 + (27 + 9) + 60 + 20, true], // 128
  ])('C_in=%i filters=%i N=%i s=%s bias=%s attention=%s -> %i (affine: %s)', (cin, filters, scales, stageFilters, useBias, useAttention, expected, affine?: boolean) => {
    const args = { filters, scales, stageFilters, useBias, useAttention, affine };
    const layer = scaleAttentionalConv2d(args);
    layer.build([null, 8, 8, cin]);
    expect(layer.countParams()).toBe(expected);
    expect(scaleAttentionalParamCount({ inputChannels: cin, ...args })).toBe(expected);
  });

  it('names its weights deterministically, in a fixed order', () => {
    const layer = scaleAttentionalConv2d({ filters: 6, scales: 3, name: 'sa' });
    layer.apply(tfl.input({ shape: [8, 8, 2] }));
    expect(layer.weights.map((w) => w.originalName)).toEqual([
      'sa/stage1_kernel', 'sa/stage1_bias',
      'sa/stage2_depthwise_kernel', 'sa/stage2_pointwise_kernel', 'sa/stage2_bias',
      'sa/stage3_depthwise_kernel', 'sa/stage3_pointwise_kernel', 'sa/stage3_bias',
      'sa/attention_kernel',
    ]);
    expect(layer.weights.map((w) => w.shape)).toEqual([
      [1, 1, 2, 2], [2], [3, 3, 2, 1], [1, 1, 2, 2], [2], [3, 3, 2, 1], [1, 1, 2, 2], [2], [1, 1, 1],
    ]);
    // With affine, its scale and shift come last (trainable: a fine-tuned folded model learns them).
    const affine = scaleAttentionalConv2d({ filters: 6, scales: 3, affine: true, name: 'sa_affine' });
    affine.apply(tfl.input({ shape: [8, 8, 2] }));
    expect(affine.weights.slice(-3).map((w) => [w.originalName, w.shape, w.trainable])).toEqual([
      ['sa_affine/attention_kernel', [1, 1, 1], true], ['sa_affine/affine_scale', [6], true], ['sa_affine/affine_shift', [6], true],
    ]);
  });

  it('reports its receptive field', () => {
    expect(scaleAttentionalConv2d({ filters: 4, scales: 4 }).receptiveField).toBe(7);
    expect(scaleAttentionalConv2d({ filters: 4, scales: 4, dilationRate: 2 }).receptiveField).toBe(13);
    expect(scaleAttentionalConv2d({ filters: 5, scales: 5, kernelSize: 5 }).receptiveField).toBe(17);
  });
});

describe('multiply-adds', () => {
  // Worked out by hand from the closed form in scaleAttentionalMultiplyAdds' docs, and counted from
  // the convolutions a forward pass runs (each output value times its window: filter height * width
  // * input channels, or height * width for a depthwise one).
  it.each([
    // inputChannels, filters, scales, stageFilters, kernelSize, useAttention, height, width, expected
    [3, 32, 4, undefined, 3, true, 8, 8, 64 * (3 * 8 + 3 * (9 * 8 + 64)) + 32 * 3], // 27,776
    [1, 16, 4, undefined, 3, false, 5, 7, 35 * (4 + 3 * (9 * 4 + 16))], // 5,600
    [4, 10, 2, 3, 5, true, 4, 4, 16 * (12 + (25 * 3 + 9) + 6 * 10) + 6 * 1], // with a projection
    [5, 7, 1, undefined, 3, true, 3, 3, 9 * 35 + 7 * 1], // one stage: H1 and the attention (ECA on 7 channels: 1 tap)
  ])('C_in=%i filters=%i N=%i s=%s k=%i attention=%s %ix%i -> %i', async (inputChannels, filters, scales, stageFilters, kernelSize, useAttention, height, width, expected) => {
    await useBackend('cpu');
    const args = { filters, scales, stageFilters, kernelSize, useAttention };
    expect(scaleAttentionalMultiplyAdds({ inputChannels, height, width, ...args })).toBe(expected);
    const layer = scaleAttentionalConv2d(args);
    const x = tf.ones([1, height, width, inputChannels]);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => layer.apply(x) as tf.Tensor);
    tf.dispose(info.result as tf.Tensor);
    expect(tf.memory().numTensors - before).toBe(layer.weights.length); // the layer's weights, made by its first call
    expect(kernelMultiplyAdds(info)).toBe(expected);
    x.dispose();
  });

  it('does not change with dilation, bias, affine or activation, and grows with the pixels', () => {
    const base = { inputChannels: 2, filters: 8, height: 6, width: 6 };
    const plain = scaleAttentionalMultiplyAdds(base);
    expect(scaleAttentionalMultiplyAdds({ ...base, useBias: false, affine: true })).toBe(plain);
    expect(scaleAttentionalMultiplyAdds({ ...base, height: 12 }) - 8 * 3).toBe(2 * (plain - 8 * 3)); // the attention's 8 * 3 does not grow
  });
});

afterEach(() => {
  tf.disposeVariables();
});
