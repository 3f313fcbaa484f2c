/**
 * The layer's forward pass and its gradient (keeping and recomputing) on the webgpu backend (Dawn; in CI on Mesa's
 * lavapipe) against the cpu backend. Skipped with a message where no WebGPU adapter exists,
 * unless SA_UNET_REQUIRE_WEBGPU=1 (set by CI).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_ATTENTION_KERNELS, SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { useBackend } from '../../../test-utils/backends.js';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';
import { scaleAttentionalConv2d, setGradientMemoryMode, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';
import { FUSED_ATTENTION_KERNELS, FUSED_SEPARABLE_KERNEL, FUSED_SEPARABLE_TRAINING_KERNEL } from '../src/cascade.js';

const adapter = await nodeWebGPU('the layer\'s webgpu tests');
if (adapter) registerTrainingKernels(); // for webgpu too (its training kernels and the fused channel attention)

afterEach(() => {
  tf.disposeVariables();
  setGradientMemoryMode('auto');
});

/** Output and gradients (every weight, in order) of sum(tanh(layer(x)) * r), as arrays. */
async function outputAndGrads(args: ScaleAttentionalConv2DArgs, weights: Float32Array[] | null, xData: Float32Array, rData: Float32Array) {
  const layer = scaleAttentionalConv2d(args);
  const x = tf.tensor4d(xData, [2, 8, 8, 3]);
  const r = tf.tensor(rData, [2, 8, 8, args.filters]);
  tf.dispose(layer.apply(x) as tf.Tensor);
  if (weights !== null) layer.setWeights(weights.map((w, i) => tf.tensor(w, layer.weights[i].shape as number[])));
  const variables = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const y = layer.apply(x) as tf.Tensor;
  const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(tf.tanh(layer.apply(x) as tf.Tensor), r)) as tf.Scalar, variables);
  const out = {
    weights: await Promise.all(layer.getWeights().map(async (w) => (await w.data()) as Float32Array)),
    y: (await y.data()) as Float32Array,
    grads: await Promise.all(variables.map(async (v) => (await grads[v.name].data()) as Float32Array)),
  };
  tf.dispose([x, r, y, value, ...Object.values(grads)]);
  return out;
}

it('looks up the fused channel attention and separable convolution by the names @sa-unet/tfjs-kernels registers them under', () => {
  expect(FUSED_ATTENTION_KERNELS).toEqual(CHANNEL_ATTENTION_KERNELS);
  expect(FUSED_SEPARABLE_KERNEL).toBe(SEPARABLE_CONV_KERNEL);
  expect(FUSED_SEPARABLE_TRAINING_KERNEL).toBe(SEPARABLE_CONV_TRAINING_KERNEL);
});

describe.runIf(adapter)('ScaleAttentionalConv2D on webgpu', () => {
  it.each<['keep' | 'recompute', string, ScaleAttentionalConv2DArgs]>([
    ['keep', 'the paper\'s layer', { filters: 8, scales: 4 }],
    ['recompute', 'the paper\'s layer', { filters: 8, scales: 4 }],
    ['keep', 'a projection without bias', { filters: 6, scales: 3, stageFilters: 4, useBias: false, attentionKernelSize: 5 }],
    ['recompute', 'a projection without bias', { filters: 6, scales: 3, stageFilters: 4, useBias: false, attentionKernelSize: 5 }],
    ['keep', 'dilation 2 (autodiff)', { filters: 8, scales: 4, dilationRate: 2 }],
    ['keep', 'affine and relu', { filters: 8, scales: 4, affine: true, activation: 'relu' }],
    ['recompute', 'affine and relu', { filters: 8, scales: 4, affine: true, activation: 'relu' }],
  ])('%s, %s: output and gradients equal the cpu backend\'s within 1e-4', async (mode, _, args) => {
    setGradientMemoryMode(mode);
    await useBackend('cpu');
    const xData = (await seededUniform([2, 8, 8, 3], 21).data()) as Float32Array;
    const rData = (await seededUniform([2, 8, 8, args.filters], 22).data()) as Float32Array;
    const cpu = await outputAndGrads(args, null, xData, rData);
    await tf.setBackend('webgpu');
    let gpu: Awaited<ReturnType<typeof outputAndGrads>> | undefined;
    const profile = await tf.profile(async () => {
      gpu = await outputAndGrads(args, cpu.weights, xData, rData);
    });
    await useBackend('cpu');
    // The attention ran on the fused kernels of @sa-unet/tfjs-kernels (in training with dilation 1),
    // and the output outside the gradient (inference) on the fused separable convolution.
    const kernels = new Set(profile.kernels.map((k) => k.name));
    const dilated = (args.dilationRate ?? 1) !== 1;
    for (const name of Object.values(FUSED_ATTENTION_KERNELS)) expect(kernels.has(name), name).toBe(!dilated || name === FUSED_ATTENTION_KERNELS.forward);
    // The depthwise input gradients came with the attention's (dilation 1), not on their own.
    expect(kernels.has('DepthwiseConv2dNativeBackpropInput'), 'DepthwiseConv2dNativeBackpropInput').toBe(dilated);
    expect(kernels.has(FUSED_SEPARABLE_KERNEL)).toBe(true);
    // In training (dilation 1) each separable stage ran as one kernel that also gave its depthwise output.
    expect(kernels.has(FUSED_SEPARABLE_TRAINING_KERNEL), FUSED_SEPARABLE_TRAINING_KERNEL).toBe(!dilated);
    expect(kernels.has('DepthwiseConv2dNative'), 'DepthwiseConv2dNative').toBe(dilated);
    expect(differenceRelativeToLargest(gpu!.y, cpu.y), 'output').toBeLessThan(1e-4);
    for (const [i, g] of gpu!.grads.entries()) expect(differenceRelativeToLargest(g, cpu.grads[i]), `gradient of weight ${i}`).toBeLessThan(1e-4);
  });

  it.each<[string, ScaleAttentionalConv2DArgs, string[]]>([
    // The scale, shift and ReLU in the attention's dispatch: no kernel of their own.
    ['affine and relu', { filters: 8, scales: 4, affine: true, activation: 'relu' }, []],
    // After a projection they are one 1x1 depthwise convolution with bias and activation.
    ['affine and relu after a projection', { filters: 6, scales: 3, stageFilters: 4, affine: true, activation: 'relu' }, ['FusedDepthwiseConv2D']],
  ])('%s, inference: equals the cpu backend\'s within 1e-4, and runs %j besides the cascade\'s kernels', async (_, args, elementwise) => {
    await useBackend('cpu');
    const x = seededUniform([2, 8, 8, 3], 23);
    const layer = scaleAttentionalConv2d(args);
    tf.dispose(layer.apply(x) as tf.Tensor);
    const scale = seededUniform([args.filters], 24, -2, 2);
    const shift = seededUniform([args.filters], 25, -1, 1);
    layer.setWeights([...layer.getWeights().slice(0, -2), scale, shift]);
    const weights = await Promise.all(layer.getWeights().map(async (w) => ({ values: await w.data(), shape: w.shape })));
    const xData = await x.data();
    const yCpu = layer.apply(x) as tf.Tensor;
    const expected = (await yCpu.data()) as Float32Array;
    tf.dispose([x, scale, shift, yCpu]);
    expect(expected.some((v) => v === 0), 'the ReLU clears some values').toBe(true);

    await tf.setBackend('webgpu');
    layer.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
    const xGpu = tf.tensor4d(xData, [2, 8, 8, 3]);
    let actual: Float32Array | undefined;
    const profile = await tf.profile(async () => {
      const y = layer.apply(xGpu) as tf.Tensor;
      actual = (await y.data()) as Float32Array;
      y.dispose();
    });
    xGpu.dispose();
    await useBackend('cpu');
    const names = profile.kernels.map((k) => k.name);
    expect(names.filter((n) => ['Add', 'Multiply', 'Relu', 'FusedBatchNorm', 'FusedDepthwiseConv2D'].includes(n)).sort()).toEqual(elementwise);
    expect(names).toContain(FUSED_ATTENTION_KERNELS.forward);
    expect(differenceRelativeToLargest(actual!, expected), 'output').toBeLessThan(1e-4);
  });
});
