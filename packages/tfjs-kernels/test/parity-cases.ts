/** The convolution cases and gradient helpers shared by the parity tests of every backend. */
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededRandom, seededUniform } from '../../../test-utils/numeric.js';

export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
export type Pair = [number, number];

export interface Case {
  op: 'conv2d' | 'depthwise' | 'conv2dTranspose';
  x: number[];
  filter: number[];
  strides: Pair;
  pad: Pad;
  dilations: Pair;
  /** Output shape of conv2dTranspose. */
  outShape?: number[];
}

const c = (op: Case['op'], x: number[], filter: number[], s: number, pad: Pad, d = 1, outShape?: number[]): Case =>
  ({ op, x, filter, strides: [s, s], pad, dilations: [d, d], outShape });

export const CASES: Case[] = [
  c('conv2d', [2, 7, 6, 3], [3, 3, 3, 4], 1, 'same'),
  c('conv2d', [2, 8, 8, 3], [3, 3, 3, 5], 2, 'same'),
  c('conv2d', [3, 9, 7, 2], [3, 2, 2, 4], 1, 'valid'),
  c('conv2d', [2, 9, 9, 4], [2, 2, 4, 3], 2, 'valid'),
  c('conv2d', [2, 9, 8, 3], [3, 3, 3, 2], 1, 'same', 2),
  c('conv2d', [1, 11, 10, 2], [3, 3, 2, 3], 1, 'valid', 2),
  c('conv2d', [2, 6, 6, 5], [1, 1, 5, 4], 1, 'same'),
  c('conv2d', [2, 7, 7, 5], [1, 1, 5, 4], 2, 'valid'),
  c('conv2d', [2, 10, 10, 1], [5, 5, 1, 3], 1, 'same'),
  c('conv2d', [2, 8, 9, 3], [3, 3, 3, 2], 1, [[0, 0], [1, 2], [0, 1], [0, 0]]),
  // conv1d as ECA runs it: dy feeds both gradients, as matrices of different shapes (a wasm
  // matmul cache keyed by data id alone once read out of bounds here).
  c('conv2d', [4, 1, 16, 1], [1, 3, 1, 1], 1, 'same'),
  c('conv2d', [2, 1, 32, 1], [1, 5, 1, 1], 1, 'same'),
  // Each form of the wasm filter gradient: shifted rows (stride 1, at least 16x16 outputs; same,
  // valid, explicit padding, dilation, a non-square filter), the convolution (strided, or few
  // output channels on small images: the cases above) and one product per tap (many output
  // channels on small images).
  c('conv2d', [2, 40, 36, 6], [3, 3, 6, 4], 1, 'same'),
  c('conv2d', [1, 40, 40, 6], [3, 3, 6, 3], 1, 'same', 2),
  c('conv2d', [2, 20, 18, 3], [3, 2, 3, 4], 1, 'valid'),
  c('conv2d', [1, 18, 17, 2], [3, 3, 2, 3], 1, [[0, 0], [2, 0], [0, 1], [0, 0]]),
  c('conv2d', [2, 70, 66, 6], [3, 3, 6, 4], 2, 'same'),
  c('conv2d', [1, 4, 5, 3], [3, 3, 3, 300], 1, 'same'),
  c('conv2d', [1, 10, 9, 2], [3, 3, 2, 260], 2, 'same'),
  c('depthwise', [2, 7, 6, 3], [3, 3, 3, 1], 1, 'same'),
  c('depthwise', [2, 8, 8, 3], [3, 3, 3, 2], 2, 'same'),
  c('depthwise', [3, 9, 7, 2], [3, 2, 2, 1], 1, 'valid'),
  c('depthwise', [2, 9, 9, 4], [2, 2, 4, 3], 2, 'valid'),
  c('depthwise', [2, 9, 8, 3], [3, 3, 3, 1], 1, 'same', 2),
  c('depthwise', [2, 11, 10, 2], [3, 3, 2, 2], 1, 'valid', 2),
  c('depthwise', [1, 12, 12, 4], [5, 5, 4, 1], 1, 'same', 3),
  c('depthwise', [2, 36, 34, 5], [3, 3, 5, 2], 1, 'same'),
  // 'Same' padding where stock wasm's forward convolution was wrong (filters smaller than the
  // stride; our input gradients are forward convolutions), non-square strides, and an empty output.
  c('conv2d', [2, 9, 8, 3], [1, 2, 3, 4], 3, 'same'),
  { op: 'conv2d', x: [2, 9, 8, 2], filter: [3, 1, 2, 3], strides: [2, 3], pad: 'same', dilations: [1, 1] },
  c('depthwise', [2, 9, 8, 2], [2, 2, 2, 2], 3, 'same'),
  { op: 'depthwise', x: [1, 9, 8, 3], filter: [1, 3, 3, 1], strides: [2, 1], pad: 'same', dilations: [1, 1] },
  c('conv2d', [2, 4, 9, 2], [5, 3, 2, 3], 1, 'valid'),
  c('conv2d', [3, 7, 3, 9], [4, 4, 9, 5], 2, 'valid'),
  { op: 'depthwise', x: [3, 3, 22, 8], filter: [4, 3, 8, 3], strides: [2, 1], pad: 'valid', dilations: [1, 1] },
  { op: 'conv2dTranspose', x: [1, 11, 6, 3], filter: [1, 2, 2, 3], strides: [2, 1], pad: 'same', dilations: [1, 1], outShape: [1, 22, 6, 2] },
  c('conv2dTranspose', [2, 5, 5, 4], [2, 2, 3, 4], 2, 'same', 1, [2, 10, 10, 3]),
  c('conv2dTranspose', [2, 4, 5, 4], [3, 3, 2, 4], 2, 'same', 1, [2, 8, 10, 2]),
  c('conv2dTranspose', [1, 6, 6, 3], [3, 3, 2, 3], 1, 'valid', 1, [1, 8, 8, 2]),
];

/** Whether the case's convolution has no output values (its gradients are then zeros). */
export function hasEmptyOutput(k: Case): boolean {
  if (k.outShape !== undefined) return k.outShape.includes(0);
  const info = tf.backend_util.computeConv2DInfo(k.x as [number, number, number, number], k.filter as [number, number, number, number],
    k.strides, k.dilations, k.pad, undefined, k.op === 'depthwise');
  return info.outShape.includes(0);
}

/**
 * Whether case k's parity test can run on `backend`: stock webgpu's Sum cannot reduce the loss of
 * an empty output (it asks Dawn for a buffer of size 0), so those cases test the gradient kernels
 * directly there (webgpu.test.ts).
 */
export function runsOn(k: Case, backend: string): boolean {
  return backend !== 'webgpu' || !hasEmptyOutput(k);
}

export function forward(k: Case, x: tf.Tensor, f: tf.Tensor): tf.Tensor {
  if (k.op === 'conv2d') return tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, k.strides, k.pad, 'NHWC', k.dilations);
  if (k.op === 'depthwise') return tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, k.strides, k.pad, 'NHWC', k.dilations);
  return tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, k.outShape as [number, number, number, number], k.strides, k.pad as 'same');
}

export function label(k: Case): string {
  const pad = typeof k.pad === 'string' ? k.pad : JSON.stringify(k.pad);
  return `${k.op} x=[${k.x}] filter=[${k.filter}] stride ${k.strides[0]} ${pad} dilation ${k.dilations[0]}`;
}

/** Inputs of a case and a fixed random weighting r of the output; loss = sum(forward(x, f) * r). */
export function operands(k: Case, index: number) {
  const x = seededUniform(k.x, 100 + index);
  const f = seededUniform(k.filter, 200 + index);
  const outShape = tf.tidy(() => forward(k, x, f).shape);
  const r = seededUniform(outShape, 300 + index);
  return { x, f, r };
}

export async function analyticGrads(k: Case, x: tf.Tensor, f: tf.Tensor, r: tf.Tensor): Promise<[Float32Array, Float32Array]> {
  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(forward(k, a, b), r)))([x, f]);
  const out: [Float32Array, Float32Array] = [(await gx.data()) as Float32Array, (await gf.data()) as Float32Array];
  tf.dispose([gx, gf]);
  return out;
}

/**
 * Central differences of the loss, which is linear in each operand, so any step is exact up to
 * rounding; at most MAX_PROBES entries per operand (seeded sample), NaN elsewhere (not compared).
 */
export const MAX_PROBES = 250;
export async function finiteDifferenceGrads(k: Case, x: tf.Tensor, f: tf.Tensor, r: tf.Tensor): Promise<[Float32Array, Float32Array]> {
  const loss = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(forward(k, a, b), r)).dataSync()[0]);
  const eps = 0.5;
  const grad = (which: 0 | 1) => {
    const base = (which === 0 ? x : f).dataSync().slice();
    const out = new Float32Array(base.length).fill(NaN);
    const rand = seededRandom(base.length);
    const probes = base.length <= MAX_PROBES ? base.map((_, i) => i)
      : Array.from({ length: MAX_PROBES }, () => Math.floor(rand() * base.length));
    for (const i of probes) {
      const plus = base.slice();
      plus[i] += eps;
      const minus = base.slice();
      minus[i] -= eps;
      const tp = tf.tensor(plus, (which === 0 ? x : f).shape);
      const tm = tf.tensor(minus, (which === 0 ? x : f).shape);
      const lp = which === 0 ? loss(tp, f) : loss(x, tp);
      const lm = which === 0 ? loss(tm, f) : loss(x, tm);
      out[i] = (lp - lm) / (2 * eps);
      tf.dispose([tp, tm]);
    }
    return out;
  };
  return [grad(0), grad(1)];
}

/**
 * The gradients every backend is checked against, computed on the active backend (cpu): tfjs's
 * stock gradients, or central differences where tfjs has none that is correct (dilations > 1).
 * Leaves the training kernels registered.
 */
export async function referenceGrads(k: Case, x: tf.Tensor, f: tf.Tensor, r: tf.Tensor): Promise<[Float32Array, Float32Array]> {
  if (k.dilations[0] > 1) return finiteDifferenceGrads(k, x, f, r);
  unregisterTrainingKernels();
  try {
    return await analyticGrads(k, x, f, r);
  } finally {
    registerTrainingKernels();
  }
}

export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let worstDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) continue; // not probed
    worstDiff = Math.max(worstDiff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return worstDiff / Math.max(scale, 1e-6);
}

