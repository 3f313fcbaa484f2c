import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useBackend } from '../../../test-utils/backends.js';
import { withSeed } from '../../../test-utils/numeric.js';
import { scaleAttentionalConv2d, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';
import { depthwiseInitializer } from '../src/depthwise-init.js';

beforeEach(() => useBackend('cpu'));
afterEach(() => tf.disposeVariables());

function variance(t: tf.Tensor): number {
  return tf.tidy(() => tf.moments(t).variance.dataSync()[0]);
}

/**
 * Variance of each weight of a freshly built layer, by weight name (without the layer prefix).
 * Seeded: the bounds below are about 2.5 to 4 standard errors wide, so unseeded draws would fail
 * now and then.
 */
function weightVariances(args: ScaleAttentionalConv2DArgs, inChannels: number): Map<string, number> {
  return withSeed(11, () => {
    const layer = scaleAttentionalConv2d(args);
    layer.build([null, 8, 8, inChannels]);
    return new Map(layer.weights.map((w) => [w.originalName.split('/').pop()!, variance(w.read())]));
  });
}

describe('depthwise kernels count the fans of one channel\'s filter', () => {
  // A [k, k, C, 1] kernel: one k x k filter per channel, fan-in = fan-out = k*k. tfjs 4.22 draws
  // 'normal' from a normal truncated at 2 SD without rescaling it: 0.774 of the variance.
  const TRUNCATED = 0.7737;
  it.each<[string, (k: number) => number]>([
    ['glorotUniform', (k) => 2 / (2 * k * k)],
    ['glorotNormal', (k) => (TRUNCATED * 2) / (2 * k * k)],
    ['heNormal', (k) => (TRUNCATED * 2) / (k * k)],
    ['heUniform', (k) => 2 / (k * k)],
    ['leCunUniform', (k) => 1 / (k * k)],
  ])('%s: the variance of k*k fans, whatever the width', (initializer, expected) => {
    for (const [filters, kernelSize] of [[256, 3], [512, 3], [512, 5]]) {
      const variances = weightVariances({ filters, scales: 4, kernelSize, kernelInitializer: initializer }, 8);
      const depthwise = variances.get('stage4_depthwise_kernel')!;
      // 576 to 3,200 samples: relative standard error under 5%.
      expect(depthwise / expected(kernelSize), `filters ${filters}, k ${kernelSize}`).toBeGreaterThan(0.85);
      expect(depthwise / expected(kernelSize), `filters ${filters}, k ${kernelSize}`).toBeLessThan(1.15);
    }
  });

  it('fanOut modes and fan-free initializers are applied unchanged', () => {
    const fanOut = { className: 'VarianceScaling', config: { scale: 2, mode: 'fanOut', distribution: 'uniform' } };
    const out = weightVariances({ filters: 256, kernelInitializer: fanOut }, 8).get('stage2_depthwise_kernel')!;
    expect(out / (2 / 9)).toBeGreaterThan(0.85);
    expect(out / (2 / 9)).toBeLessThan(1.15);
    const normal = { className: 'RandomNormal', config: { mean: 0, stddev: 0.05 } };
    const fixed = weightVariances({ filters: 256, kernelInitializer: normal }, 8).get('stage2_depthwise_kernel')!;
    expect(Math.sqrt(fixed) / 0.05).toBeGreaterThan(0.93);
    expect(Math.sqrt(fixed) / 0.05).toBeLessThan(1.07);
  });

  it('the other kernels keep tfjs-layers\' fans (glorotUniform on [1, 1, C, s] is 2 / (C + s))', () => {
    const variances = weightVariances({ filters: 256 }, 128);
    expect(variances.get('stage1_kernel')! / (2 / (128 + 64))).toBeCloseTo(1, 1);
    expect(variances.get('stage3_pointwise_kernel')! / (2 / (64 + 64))).toBeCloseTo(1, 1);
  });

  it('keeps the seed, so a seeded initializer gives the same kernel twice and draws a fresh value per channel', () => {
    const seeded = tfl.initializers.heUniform({ seed: 7 });
    const first = depthwiseInitializer(seeded, 16).apply([3, 3, 16, 1]);
    const second = depthwiseInitializer(seeded, 16).apply([3, 3, 16, 1]);
    expect(Array.from(first.dataSync())).toEqual(Array.from(second.dataSync()));
    const channels = tf.tidy(() => tf.unstack(tf.reshape(first, [9, 16]), 1).map((c) => Array.from(c.dataSync()).join()));
    expect(new Set(channels).size).toBe(16);
    tf.dispose([first, second]);
  });

  it('returns non-variance-scaling initializers themselves', () => {
    const orthogonal = tfl.initializers.orthogonal({});
    expect(depthwiseInitializer(orthogonal, 32)).toBe(orthogonal);
  });
});

describe('at initialization every stage of the cascade keeps its input\'s scale', () => {
  // With tfjs-layers' fans, a 512-wide layer's 7x7 stage started at 1/500 of the 1x1 stage's scale
  // (std 2e-3 against 1.26), below batch norm's epsilon.
  // One draw of a 16-wide layer (4 channels a stage) lands outside the factor 2 about once in 20
  // (ratios 0.46 to 1.79 over 40 seeds), so the median of seven seeded draws is what is checked.
  it.each([16, 128, 512])('filters %i: the std of F(4) is within a factor 2 of F(1)\'s (median of 7 seeded layers)', (filters) => {
    const x = tf.randomNormal([2, 16, 16, filters], 0, 1, 'float32', 3);
    const s = filters / 4;
    const ratios = [1, 2, 3, 4, 5, 6, 7].map((seed) => withSeed(seed, () => {
      const y = scaleAttentionalConv2d({ filters, scales: 4, useAttention: false }).apply(x) as tf.Tensor4D;
      const std = (n: number) => Math.sqrt(variance(tf.tidy(() => tf.slice(y, [0, 0, 0, (n - 1) * s], [-1, -1, -1, s]))));
      const ratio = std(4) / std(1);
      y.dispose();
      return ratio;
    }));
    const median = ratios.sort((a, b) => a - b)[3];
    expect(median).toBeGreaterThan(0.5);
    expect(median).toBeLessThan(2);
    x.dispose();
  });
});
