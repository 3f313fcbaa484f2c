import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORWARD_BACKENDS, TRAINING_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { maxRelativeError, seededUniform } from '../../../test-utils/numeric.js';
import { scaleAttentionalConv2d, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';

afterEach(() => tf.disposeVariables());

/** |output| summed over channels for a unit impulse at the centre of a size x size single-channel image. */
async function impulseResponse(size: number, layer: tfl.layers.Layer): Promise<Float32Array> {
  const impulse = tf.buffer([1, size, size, 1]);
  const c = (size - 1) / 2;
  impulse.set(1, 0, c, c, 0);
  const x = impulse.toTensor();
  const y = layer.apply(x) as tf.Tensor;
  const energy = tf.sum(tf.abs(y), [0, 3]);
  const data = (await energy.data()) as Float32Array;
  tf.dispose([x, y, energy]);
  return data;
}

describe.each(FORWARD_BACKENDS)('behaviour on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  // The paper's claim: F(n) sees a (2n-1)x(2n-1) window, so one layer with N scales sees (2N-1)x(2N-1).
  it.each([1, 2, 3, 4, 5])('impulse response of N = %i is non-zero exactly inside a (2N-1)x(2N-1) window', async (scales) => {
    const size = 2 * scales + 5;
    const layer = scaleAttentionalConv2d({ filters: 2 * scales, scales, useAttention: false, kernelInitializer: 'randomNormal' });
    const response = await impulseResponse(size, layer);
    const c = (size - 1) / 2;
    const half = scales - 1;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const inside = Math.abs(y - c) <= half && Math.abs(x - c) <= half;
      expect(response[y * size + x] !== 0, `pixel (${y}, ${x}) inside=${inside}`).toBe(inside);
    }
  });

  it('with dilation d the response spans 2(N-1)d+1 pixels, on the dilated lattice', async () => {
    const scales = 3;
    const d = 2;
    const size = 2 * (scales - 1) * d + 5;
    const layer = scaleAttentionalConv2d({ filters: 6, scales, dilationRate: d, useAttention: false, kernelInitializer: 'randomNormal' });
    const response = await impulseResponse(size, layer);
    const c = (size - 1) / 2;
    const half = (scales - 1) * d;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const dy = Math.abs(y - c);
      const dx = Math.abs(x - c);
      const expected = dy <= half && dx <= half && dy % d === 0 && dx % d === 0;
      expect(response[y * size + x] !== 0, `pixel (${y}, ${x})`).toBe(expected);
    }
  });

  it('with attention, y = z * sigmoid(conv1d(GAP(z))) computed by hand', async () => {
    const args = { filters: 12, scales: 3, attentionKernelSize: 5, biasInitializer: 'randomNormal' as const };
    const withAttention = scaleAttentionalConv2d({ ...args, useAttention: true });
    const without = scaleAttentionalConv2d({ ...args, useAttention: false });
    const x = seededUniform([2, 6, 5, 3], 11);
    withAttention.apply(x);
    without.apply(x);
    // Same stage weights; the attention kernel is the last weight of the attended layer.
    const weights = withAttention.getWeights();
    without.setWeights(weights.slice(0, -1));
    const kernel = Array.from(await weights[weights.length - 1].data());

    const z = without.apply(x) as tf.Tensor;
    const y = withAttention.apply(x) as tf.Tensor;
    const [b, h, w, c] = z.shape;
    const zData = await z.data();
    const expected = new Float32Array(zData.length);
    const half = (kernel.length - 1) / 2;
    for (let n = 0; n < b; n++) {
      const gap = new Float64Array(c);
      for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) gap[ch] += zData[(n * h * w + p) * c + ch] / (h * w);
      const gate = new Float64Array(c);
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let j = 0; j < kernel.length; j++) {
          const src = ch + j - half;
          if (src >= 0 && src < c) s += kernel[j] * gap[src];
        }
        gate[ch] = 1 / (1 + Math.exp(-s));
      }
      for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) {
        const i = (n * h * w + p) * c + ch;
        expected[i] = zData[i] * gate[ch];
      }
    }
    expect(maxRelativeError(await y.data(), expected)).toBeLessThan(1e-5);
    tf.dispose([x, y, z, ...weights]);
  });
  // With `affine` and 'relu' the layer is the plain layer followed by a batch norm (in inference)
  // and a ReLU. Three paths: the scale in the attention's gate, after a projection, without attention;
  // one image (the gate times the scale is one per-channel scale) and two (their gates differ).
  it.each<[string, number, ScaleAttentionalConv2DArgs]>([
    ['with attention', 1, { filters: 8, scales: 4 }],
    ['with attention', 2, { filters: 8, scales: 4 }],
    ['with a projection', 1, { filters: 6, scales: 3, stageFilters: 4 }],
    ['with a projection', 2, { filters: 6, scales: 3, stageFilters: 4 }],
    ['without attention', 1, { filters: 8, scales: 2, useAttention: false }],
    ['without attention', 2, { filters: 8, scales: 2, useAttention: false }],
  ])('affine and relu, %s, batch %i: the output is relu(plain output * scale + shift)', async (path, batch, args) => {
    const x = seededUniform([batch, 6, 5, 3], 12);
    const plain = scaleAttentionalConv2d({ ...args, biasInitializer: 'randomNormal' });
    const affine = scaleAttentionalConv2d({ ...args, affine: true, activation: 'relu' });
    tf.dispose([plain.apply(x) as tf.Tensor, affine.apply(x) as tf.Tensor]); // builds both
    const scale = seededUniform([args.filters], 13, -2, 2);
    const shift = seededUniform([args.filters], 14, -1, 1);
    const weights = plain.getWeights();
    affine.setWeights([...weights, scale, shift]);
    const y = plain.apply(x) as tf.Tensor;
    const expected = tf.relu(tf.add(tf.mul(y, scale), shift));
    const actual = affine.apply(x) as tf.Tensor;
    const expectedValues = await expected.data();
    expect(Array.from(expectedValues).filter((v) => v === 0).length, 'the ReLU clears some values').toBeGreaterThan(0);
    const actualValues = await actual.data();
    expect(maxRelativeError(actualValues, expectedValues)).toBeLessThan(1e-5);
    // Without the gate in between, the CPU backends' one-pass epilogue rounds as the three ops do.
    if (path !== 'with attention') expect(Array.from(actualValues)).toEqual(Array.from(expectedValues));
    tf.dispose([x, y, scale, shift, expected, actual]);
  });
});

describe.each(TRAINING_BACKENDS)('gradients on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('tf.variableGrads matches central finite differences for every weight', async () => {
    // Seeded weights: the check is the same on every run (unseeded, its float32 round-off margin varied).
    const layer = scaleAttentionalConv2d({
      filters: 6, scales: 3, attentionKernelSize: 3,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 11 }),
      biasInitializer: tfl.initializers.randomNormal({ seed: 12 }),
    });
    const x = seededUniform([2, 5, 4, 2], 3);
    const r = seededUniform([2, 5, 4, 6], 4);
    // A non-linear loss of the output, so every weight (attention included) matters.
    const activations = () => tf.tanh(layer.apply(x) as tf.Tensor);
    const loss = () => tf.sum(tf.mul(activations(), r)) as tf.Scalar;
    loss().dispose(); // builds the layer
    // The same loss summed in float64: a float32 sum of 240 terms loses the small differences
    // that the attention kernel's finite differences are made of.
    const rData = await r.data();
    const lossInFloat64 = async (): Promise<number> => {
      const values = tf.tidy(activations);
      const a = await values.data();
      values.dispose();
      let sum = 0;
      for (let k = 0; k < a.length; k++) sum += a[k] * rData[k];
      return sum;
    };

    const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads, value } = tf.variableGrads(loss, variables);
    value.dispose();

    const eps = 1e-2;
    for (const [i, v] of variables.entries()) {
      const analytic = await grads[v.name].data();
      const original = (await v.data()).slice();
      const numeric = new Float32Array(original.length);
      for (let j = 0; j < original.length; j++) {
        const perturbed = original.slice();
        perturbed[j] = original[j] + eps;
        v.assign(tf.tensor(perturbed, v.shape));
        const plus = await lossInFloat64();
        perturbed[j] = original[j] - eps;
        v.assign(tf.tensor(perturbed, v.shape));
        const minus = await lossInFloat64();
        numeric[j] = (plus - minus) / (2 * eps);
      }
      v.assign(tf.tensor(original, v.shape));
      const norm = Math.max(...Array.from(numeric, Math.abs), 1e-3);
      let worst = 0;
      for (let j = 0; j < numeric.length; j++) worst = Math.max(worst, Math.abs(analytic[j] - numeric[j]) / norm);
      expect(worst, `weight ${i} (${layer.trainableWeights[i].originalName})`).toBeLessThan(2e-3);
      expect(Math.max(...Array.from(analytic, Math.abs)), `gradient of weight ${i} is zero`).toBeGreaterThan(0);
    }
    tf.dispose([x, r, ...Object.values(grads)]);
  });

  it('with affine and relu, tf.variableGrads equals autodiff of the plain layer followed by the scale, shift and ReLU', async () => {
    const args = { filters: 6, scales: 3, attentionKernelSize: 3, biasInitializer: tfl.initializers.randomNormal({ seed: 15 }) };
    const x = seededUniform([2, 5, 4, 2], 16);
    const r = seededUniform([2, 5, 4, 6], 17);
    const plain = scaleAttentionalConv2d(args);
    const affine = scaleAttentionalConv2d({ ...args, affine: true, activation: 'relu' });
    tf.dispose([plain.apply(x) as tf.Tensor, affine.apply(x) as tf.Tensor]);
    const scale = tf.variable(seededUniform([6], 18, -2, 2));
    const shift = tf.variable(seededUniform([6], 19, -1, 1));
    affine.setWeights([...plain.getWeights(), scale, shift]);
    const loss = (y: () => tf.Tensor) => () => tf.sum(tf.mul(tf.tanh(y()), r)) as tf.Scalar;
    const ours = tf.variableGrads(loss(() => affine.apply(x) as tf.Tensor), affine.trainableWeights.map((w) => w.read() as tf.Variable));
    const plainVariables = plain.trainableWeights.map((w) => w.read() as tf.Variable);
    const reference = tf.variableGrads(loss(() => tf.relu(tf.add(tf.mul(plain.apply(x) as tf.Tensor, scale), shift))), [...plainVariables, scale, shift]);
    const names = [...plainVariables, scale, shift].map((v) => v.name);
    for (const [i, w] of affine.trainableWeights.entries()) {
      const expected = await reference.grads[names[i]!]!.data();
      expect(maxRelativeError(await ours.grads[(w.read() as tf.Variable).name]!.data(), expected), w.originalName).toBeLessThan(1e-4);
      expect(Math.max(...Array.from(expected, Math.abs)), `gradient of ${w.originalName} is zero`).toBeGreaterThan(0);
    }
    tf.dispose([x, r, scale, shift, ours.value, reference.value, ...Object.values(ours.grads), ...Object.values(reference.grads)]);
  });
});
