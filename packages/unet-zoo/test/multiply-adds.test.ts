/** The multiply-adds of a forward pass, counted from the graph (multiply-adds.ts). */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { efficientChannelAttention, scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { MODEL_NAMES, countParams, createModel, foldBatchNorm, multiplyAdds, paramTable } from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { kernelMultiplyAdds } from '../../../test-utils/kernel-multiply-adds.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** A model of one layer on inputs of `shape` (batch left out). */
function single(shape: number[], layer: tfl.layers.Layer): tfl.LayersModel {
  const input = tfl.input({ shape });
  return tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
}

/** The multiply-adds of the convolution and matrix-product kernels a forward pass at batch 1 ran. */
async function forwardMultiplyAdds(model: tfl.LayersModel): Promise<number> {
  const shape = model.inputs[0]!.shape.map((d) => d ?? 1);
  const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
  const before = tf.memory().numTensors;
  const info = await tf.profile(() => model.predict(x) as tf.Tensor);
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  x.dispose();
  if (tf.memory().numTensors !== before - 1) throw new Error(`the profiled forward pass left ${tf.memory().numTensors - before + 1} tensors`);
  return kernelMultiplyAdds(info);
}

describe('multiplyAdds: one layer, known values', () => {
  // [name, input shape, layer, multiply-adds worked out by hand]
  const cases: Array<[string, number[], () => tfl.layers.Layer, number]> = [
    ['Conv2D 3x3 same, 8x8x2 to 4', [8, 8, 2], () => tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), 8 * 8 * 4 * 9 * 2],
    ['Conv2D 3x3 valid stride 2, 9x9x3 to 5 (4x4 out)', [9, 9, 3], () => tfl.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2 }), 4 * 4 * 5 * 9 * 3],
    ['Conv2D 3x3 dilation 2, 8x8x1 to 2', [8, 8, 1], () => tfl.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' }), 64 * 2 * 9],
    ['Conv2D 1x3 channels first, 2x8x8 to 4', [2, 8, 8], () => tfl.layers.conv2d({ filters: 4, kernelSize: [1, 3], padding: 'same', dataFormat: 'channelsFirst' }), 64 * 4 * 3 * 2],
    ['Conv2DTranspose 2x2 stride 2, 4x4x3 to 5', [4, 4, 3], () => tfl.layers.conv2dTranspose({ filters: 5, kernelSize: 2, strides: 2 }), 16 * 3 * 4 * 5],
    ['DepthwiseConv2D 3x3 multiplier 2, 8x8x3', [8, 8, 3], () => tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), 64 * 6 * 9],
    ['SeparableConv2D 3x3, 8x8x3 to 4', [8, 8, 3], () => tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same' }), 64 * 3 * 9 + 64 * 3 * 4],
    ['Conv1D 3 taps, 10x2 to 4', [10, 2], () => tfl.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }), 10 * 4 * 3 * 2],
    ['Dense 10 to 7', [10], () => tfl.layers.dense({ units: 7 }), 70],
    ['Dense on 5 rows of 10, to 7', [5, 10], () => tfl.layers.dense({ units: 7 }), 350],
    // s = 2 per stage: 3*2 (H1) + 3 * (9*2 + 2*2) (H2..H4) per pixel; ECA on 8 channels: 3 taps.
    ['ScaleAttentionalConv2D 8 filters, 4 scales, 8x8x3', [8, 8, 3], () => scaleAttentionalConv2d({ filters: 8 }), 64 * (6 + 3 * 22) + 8 * 3],
    // 2 scales of 2 channels, projected to 6; no attention: 1*2 + (9*2 + 4) + 4*6 per pixel.
    ['ScaleAttentionalConv2D projected, no attention, 4x4x1', [4, 4, 1],
      () => scaleAttentionalConv2d({ filters: 6, scales: 2, stageFilters: 2, useAttention: false }), 16 * (2 + 22 + 24)],
    ['ScaleAttentionalConv2D 5x5 depthwise, attention of 5 taps, 4x4x2', [4, 4, 2],
      () => scaleAttentionalConv2d({ filters: 8, scales: 2, kernelSize: 5, attentionKernelSize: 5, dilationRate: 2 }), 16 * (2 * 4 + 25 * 4 + 16) + 8 * 5],
    ['EfficientChannelAttention, 5 taps, 8x8x16', [8, 8, 16], () => efficientChannelAttention({ kernelSize: 5 }), 16 * 5],
    ['BatchNormalization (elementwise)', [8, 8, 3], () => tfl.layers.batchNormalization(), 0],
    ['MaxPooling2D (no weights)', [8, 8, 3], () => tfl.layers.maxPooling2d({ poolSize: 2 }), 0],
  ];

  it.each(cases)('%s', (_, shape, layer, expected) => {
    const model = single(shape, layer());
    expect(multiplyAdds(model)).toBe(expected);
    model.dispose();
  });

  it.each(cases.filter(([name]) => !name.includes('channels first')))('%s: as many as the kernels of a forward pass run', async (_, shape, layer, expected) => {
    const model = single(shape, layer());
    expect(await forwardMultiplyAdds(model)).toBe(expected);
    model.dispose();
  });

  it('counts a sequential model, a nested model and a shared layer once per call', () => {
    const seq = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same' }), tfl.layers.dense({ units: 3 })] });
    expect(multiplyAdds(seq)).toBe(8 * 8 * 4 * 9 * 2 + 64 * 4 * 3);
    const input = tfl.input({ shape: [8, 8, 2] });
    const shared = tfl.layers.conv2d({ filters: 2, kernelSize: 1 });
    const twice = shared.apply(shared.apply(input)) as tfl.SymbolicTensor;
    const outer = tfl.model({ inputs: input, outputs: seq.apply(twice) as tfl.SymbolicTensor });
    expect(multiplyAdds(outer)).toBe(2 * 64 * 2 * 2 + multiplyAdds(seq));
    outer.dispose();
  });
});

describe('multiplyAdds: the zoo', () => {
  const variants = MODEL_NAMES.flatMap((name) => (['nearest-conv', 'transpose'] as const).map((upsampling) => [name, upsampling] as const));

  it.each(variants)('%s (%s): as many as the kernels of a forward pass run', async (name, upsampling) => {
    const model = createModel(name, { inputShape: [32, 32, 1], baseFilters: 4, depth: 2, upsampling });
    const counted = multiplyAdds(model);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBe(await forwardMultiplyAdds(model));
    model.dispose();
  });

  it('U-Net++ with deep supervision, and every model folded: as many as their kernels run', async () => {
    const deep = createModel('unet-plus-plus', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2, deepSupervision: true });
    expect(multiplyAdds(deep)).toBe(await forwardMultiplyAdds(deep));
    deep.dispose();
    for (const name of MODEL_NAMES) {
      const model = createModel(name, { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 });
      const { model: folded } = foldBatchNorm(model);
      // Folding changes kernels, not their arithmetic: the same count.
      expect(multiplyAdds(folded)).toBe(multiplyAdds(model));
      expect(multiplyAdds(folded)).toBe(await forwardMultiplyAdds(folded));
      folded.dispose();
      model.dispose();
    }
  });

  it('scales with the pixels: four times the pixels, four times the multiply-adds', () => {
    for (const name of MODEL_NAMES) {
      const [small, large] = [32, 64].map((side) => createModel(name, { inputShape: [side, side, 1], baseFilters: 4, depth: 2 }));
      // The channel attention's 1-D convolutions do not grow with the image: SA-U-Net a few multiply-adds short of 4x.
      const ratio = multiplyAdds(large!) / multiplyAdds(small!);
      expect(ratio).toBeGreaterThan(3.99);
      expect(ratio).toBeLessThanOrEqual(4);
      small!.dispose();
      large!.dispose();
    }
  });

  it('is in countParams and the parameter table', () => {
    const counts = countParams([32, 32, 1], 'nearest-conv', 4);
    for (const row of counts) {
      const model = createModel(row.model, { inputShape: [32, 32, 1], baseFilters: 4 });
      expect(row.multiplyAdds).toBe(multiplyAdds(model));
      model.dispose();
    }
    expect(paramTable([32, 32, 1]).split('\n')[0]).toContain('GMACs per image');
  });
});

describe('multiplyAdds: bad input', () => {
  it('names a layer with weights it has no rule for', () => {
    const model = single([4, 4, 4, 1], tfl.layers.conv3d({ filters: 2, kernelSize: 3, padding: 'same', name: 'volume' }));
    expect(() => multiplyAdds(model)).toThrow(/no rule for layer 'volume' \(Conv3D\), which has weights; supported: Conv1D, Conv2D/);
    model.dispose();
  });

  it('needs the input size', () => {
    const input = tfl.input({ shape: [null, null, 1] });
    const model = tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'open' }).apply(input) as tfl.SymbolicTensor });
    expect(() => multiplyAdds(model)).toThrow(/layer 'open' \(Conv2D\) was called on shape \[null, null, null, 2\]; the count needs every dimension but the batch known/);
    model.dispose();
  });

  it('says what it expected for something that is not a model', () => {
    expect(() => multiplyAdds(null as never)).toThrow('multiplyAdds: expected a built tfjs-layers model (functional or sequential), got null');
    expect(() => multiplyAdds({} as never)).toThrow('multiplyAdds: expected a built tfjs-layers model (functional or sequential), got an object without a graph (Object)');
  });
});
