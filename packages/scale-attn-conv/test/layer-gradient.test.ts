/**
 * The layer's own gradient (src/cascade.ts), recomputing or keeping the forward pass's
 * intermediates, against tfjs autodiff of the same forward pass, and the activation memory each
 * keeps alive.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRAINING_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import {
  AUTO_KEEP_MAX_VALUES,
  getGradientMemoryMode,
  recomputesIntermediates,
  scaleAttentionalConv2d,
  setGradientMemoryMode,
  type GradientMemoryMode,
  type ScaleAttentionalConv2DArgs,
} from '@sa-unet/scale-attn-conv';
import { cascadeForward, flatten, scaleAttentional, unflatten, type CascadeWeights } from '../src/cascade.js';

afterEach(() => {
  tf.disposeVariables();
  setGradientMemoryMode('auto');
});

/** The layer's weights by their documented names, as the cascade takes them. */
function cascadeWeights(layer: { weights: Array<{ originalName: string; read(): tf.Tensor }> }, scales: number): CascadeWeights {
  const byName = new Map(layer.weights.map((w) => [w.originalName.split('/').pop()!, w.read()]));
  const get = <T extends tf.Tensor>(name: string) => (byName.get(name) as T | undefined) ?? null;
  return {
    stages: Array.from({ length: scales }, (_, i) => ({
      depthwise: get<tf.Tensor4D>(`stage${i + 1}_depthwise_kernel`),
      pointwise: get<tf.Tensor4D>(i === 0 ? 'stage1_kernel' : `stage${i + 1}_pointwise_kernel`)!,
      bias: get<tf.Tensor1D>(`stage${i + 1}_bias`),
    })),
    attention: get<tf.Tensor3D>('attention_kernel'),
    projection: get<tf.Tensor4D>('projection_kernel'),
    projectionBias: get<tf.Tensor1D>('projection_bias'),
  };
}

async function relativeDifference(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  return differenceRelativeToLargest(await a.data(), await b.data());
}

const CASES: Array<[string, ScaleAttentionalConv2DArgs]> = [
  ['the paper\'s layer (N = 4, ECA, bias)', { filters: 8, scales: 4 }],
  ['N = 3, attention kernel 3, random biases', { filters: 6, scales: 3, attentionKernelSize: 3, biasInitializer: 'randomNormal' }],
  ['a projection (stageFilters * N != filters), with bias', { filters: 5, scales: 2, stageFilters: 3, biasInitializer: 'randomNormal' }],
  ['a projection without bias, attention kernel 5', { filters: 6, scales: 3, stageFilters: 4, useBias: false, attentionKernelSize: 5 }],
  ['no attention, no bias', { filters: 8, scales: 4, useAttention: false, useBias: false }],
  ['one stage (a 1x1 convolution and ECA)', { filters: 4, scales: 1 }],
  ['5x5 depthwise kernels', { filters: 6, scales: 3, kernelSize: 5 }],
];

const MODES = ['recompute', 'keep'] as const;
const CASES_BY_MODE = MODES.flatMap((mode) => CASES.map(([name, args]) => [mode, name, args] as const));

describe.each(TRAINING_BACKENDS)('the layer\'s gradient on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it.each(CASES_BY_MODE)('%s, %s: equals autodiff for the input and every weight', async (mode, _, args) => {
    setGradientMemoryMode(mode);
    const layer = scaleAttentionalConv2d(args);
    const x = seededUniform([2, 6, 5, 3], 11) as tf.Tensor4D;
    tf.dispose(layer.apply(x) as tf.Tensor); // builds the layer
    const w = cascadeWeights(layer, layer.scales);
    const r = seededUniform([2, 6, 5, args.filters], 12);
    const inputs = [x, ...flatten(w)];
    // A non-linear loss, so the attention's gradient is not trivially zero.
    const lossOf = (ours: boolean) => (...ts: tf.Tensor[]) => {
      const [input, ...weights] = ts;
      const y = ours ? scaleAttentional(input as tf.Tensor4D, unflatten(w, weights), 1, mode === 'recompute')
        : cascadeForward(input as tf.Tensor4D, unflatten(w, weights), 1); // plain autodiff
      return tf.sum(tf.mul(tf.tanh(y), r));
    };
    const ours = tf.grads(lossOf(true))(inputs);
    const reference = tf.grads(lossOf(false))(inputs);
    expect(ours.map((g) => g.shape)).toEqual(inputs.map((t) => t.shape));
    for (const [i, g] of ours.entries()) {
      expect(await relativeDifference(g, reference[i]), `gradient of input ${i} (${i === 0 ? 'x' : 'a weight'})`).toBeLessThan(1e-5);
    }
    // The layer itself trains through this gradient in the mode set: tf.variableGrads through apply() agrees too.
    expect(recomputesIntermediates()).toBe(mode === 'recompute');
    const variables = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(tf.tanh(layer.apply(x) as tf.Tensor), r)) as tf.Scalar, variables);
    for (const [i, v] of variables.entries()) {
      expect(await relativeDifference(grads[v.name], reference[i + 1]), `layer weight ${v.name}`).toBeLessThan(1e-5);
    }
    tf.dispose([x, r, value, ...ours, ...reference, ...Object.values(grads)]);
  });

  it('keeps fewer bytes alive during a backward pass than autodiff (recomputing: fewer still), and leaks nothing', async () => {
    const layers = [1, 2, 3].map(() => scaleAttentionalConv2d({ filters: 16 }));
    const x = seededUniform([2, 32, 32, 4], 13) as tf.Tensor4D;
    let h: tf.Tensor = x;
    for (const layer of layers) h = layer.apply(h) as tf.Tensor;
    h.dispose();
    const weights = layers.map((layer) => cascadeWeights(layer, 4));
    const peakBytes = async (mode: 'autodiff' | GradientMemoryMode) => {
      const before = tf.memory().numTensors;
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => {
          let y: tf.Tensor4D = x;
          for (const w of weights) {
            y = tf.relu(mode === 'autodiff' ? cascadeForward(y, w, 1) : scaleAttentional(y, w, 1, mode === 'recompute'));
          }
          return tf.sum(y) as tf.Scalar;
        }, layers.flatMap((l) => l.trainableWeights.map((v) => v.read() as tf.Variable)));
        tf.dispose([value, ...Object.values(grads)]);
      });
      expect(tf.memory().numTensors).toBe(before);
      return info.peakBytes - tf.memory().numBytes;
    };
    const autodiff = await peakBytes('autodiff');
    const kept = await peakBytes('keep');
    const recomputed = await peakBytes('recompute');
    // Measured on cpu and wasm (three layers of 16 filters on 32x32x4): keeping 0.64 of
    // autodiff's peak, recomputing 0.51.
    expect(kept).toBeLessThan(0.8 * autodiff);
    expect(recomputed).toBeLessThan(0.9 * kept);
    x.dispose();
  });
});

describe('setGradientMemoryMode', () => {
  it('defaults to auto, which recomputes on wasm only, there for layer outputs above AUTO_KEEP_MAX_VALUES or of unknown size', () => {
    expect(getGradientMemoryMode()).toBe('auto');
    expect(AUTO_KEEP_MAX_VALUES).toBe(2 ** 20);
    expect(recomputesIntermediates('wasm')).toBe(true);
    expect(recomputesIntermediates('wasm', AUTO_KEEP_MAX_VALUES + 1)).toBe(true);
    expect(recomputesIntermediates('wasm', Infinity)).toBe(true);
    expect(recomputesIntermediates('wasm', AUTO_KEEP_MAX_VALUES)).toBe(false);
    expect(recomputesIntermediates('wasm', 4 * 64 * 64 * 16)).toBe(false);
    for (const backend of ['cpu', 'webgpu', 'webgl', 'tensorflow']) {
      expect(recomputesIntermediates(backend), backend).toBe(false);
      expect(recomputesIntermediates(backend, AUTO_KEEP_MAX_VALUES + 1), backend).toBe(false);
    }
  });

  it.each([-1, Number.NaN, '12' as unknown as number])('rejects outputValues %s, naming the argument', (outputValues) => {
    expect(() => recomputesIntermediates('wasm', outputValues)).toThrow(
      `recomputesIntermediates: 'outputValues' must be a number >= 0 (Infinity for unknown), got ${String(outputValues)}`,
    );
  });

  it('on wasm, auto keeps for a small layer call and recomputes for a large one, as the layer sizes its output', async () => {
    await useBackend('wasm');
    // Peak bytes of a forward and backward pass through three layers, called as users call them
    // (one layer's own recomputation costs as much memory as it saves; three show the difference).
    const peakBytes = async (mode: GradientMemoryMode, shape: [number, number, number, number], filters: number) => {
      setGradientMemoryMode(mode);
      const layers = [1, 2, 3].map(() => scaleAttentionalConv2d({ filters }));
      const x = seededUniform(shape, 5) as tf.Tensor4D;
      const forward = () => layers.reduce<tf.Tensor>((h, layer) => layer.apply(h) as tf.Tensor, x);
      tf.tidy(forward); // builds the layers
      const before = tf.memory().numTensors;
      const info = await tf.profile(() => {
        const weights = layers.flatMap((layer) => layer.trainableWeights.map((v) => v.read() as tf.Variable));
        const { value, grads } = tf.variableGrads(() => tf.sum(forward()) as tf.Scalar, weights);
        tf.dispose([value, ...Object.values(grads)]);
      });
      expect(tf.memory().numTensors).toBe(before);
      const peak = info.peakBytes - tf.memory().numBytes;
      x.dispose();
      tf.disposeVariables();
      return peak;
    };
    const small: [[number, number, number, number], number] = [[1, 32, 32, 2], 16]; // 16,384 output values
    const large: [[number, number, number, number], number] = [[1, 128, 129, 1], 64]; // 1,056,768 > 2^20
    const [smallAuto, smallKeep, smallRecompute] = [await peakBytes('auto', ...small), await peakBytes('keep', ...small), await peakBytes('recompute', ...small)];
    expect(smallAuto).toBe(smallKeep);
    expect(smallRecompute).toBeLessThan(smallKeep);
    const [largeAuto, largeKeep, largeRecompute] = [await peakBytes('auto', ...large), await peakBytes('keep', ...large), await peakBytes('recompute', ...large)];
    expect(largeAuto).toBe(largeRecompute);
    expect(largeRecompute).toBeLessThan(largeKeep);
  });

  it('forces either mode on every backend', () => {
    for (const mode of MODES) {
      setGradientMemoryMode(mode);
      expect(getGradientMemoryMode()).toBe(mode);
      for (const backend of ['wasm', 'cpu', 'webgpu']) expect(recomputesIntermediates(backend), `${mode} on ${backend}`).toBe(mode === 'recompute');
    }
  });

  it('rejects an unknown mode, naming the argument and the accepted values', () => {
    expect(() => setGradientMemoryMode('checkpoint' as GradientMemoryMode)).toThrow(
      "setGradientMemoryMode: 'mode' must be one of 'auto', 'recompute', 'keep', got \"checkpoint\"",
    );
    expect(getGradientMemoryMode()).toBe('auto');
  });
});
