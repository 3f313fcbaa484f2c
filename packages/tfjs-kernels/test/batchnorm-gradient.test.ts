import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';

afterAll(() => registerTrainingKernels());

const X_SHAPE = [2, 5, 4, 3];

interface Operands { x: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; offset?: tf.Tensor; scale?: tf.Tensor }

function operands(paramShape: number[], withScale: boolean, withOffset: boolean, expandTo?: number[]): Operands {
  const grow = (t: tf.Tensor) => (expandTo ? tf.add(t, tf.zeros(expandTo)) : t);
  return {
    x: seededUniform(X_SHAPE, 1),
    mean: grow(seededUniform(paramShape, 2)),
    variance: grow(seededUniform(paramShape, 3, 0.2, 2)),
    offset: withOffset ? grow(seededUniform(paramShape, 4)) : undefined,
    scale: withScale ? grow(seededUniform(paramShape, 5, 0.5, 1.5)) : undefined,
  };
}

/** Gradients of sum(batchNorm(...) * r) w.r.t. every operand given, in the order x, mean, variance, offset, scale. */
async function gradients(o: Operands, reduceTo?: number[]): Promise<Float32Array[]> {
  const r = seededUniform(X_SHAPE, 6);
  const names = (['x', 'mean', 'variance', 'offset', 'scale'] as const).filter((k) => o[k] !== undefined);
  const f = (...args: tf.Tensor[]) => {
    const get = (k: (typeof names)[number]) => args[names.indexOf(k)];
    return tf.sum(tf.mul(tf.batchNorm(get('x'), get('mean'), get('variance'), o.offset && get('offset'), o.scale && get('scale'), 1e-3), r));
  };
  const grads = tf.grads(f)(names.map((k) => o[k]!));
  const out: Float32Array[] = [];
  for (const [i, g] of grads.entries()) {
    // A parameter broadcast from reduceTo: the gradient of the broadcast is the sum over its axes.
    const reduced = reduceTo && i > 0 ? tf.reshape(tf.sum(g, tf.backend_util.getReductionAxes(reduceTo, g.shape)), reduceTo) : g;
    out.push((await reduced.data()) as Float32Array);
  }
  tf.dispose([r, ...grads]);
  return out;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let j = 0; j < a.length; j++) {
    worst = Math.max(worst, Math.abs(a[j] - b[j]));
    scale = Math.max(scale, Math.abs(b[j]));
  }
  return worst / scale;
}

// (tfjs 4.22 cannot record batchNorm without scale or offset for gradients at all: its engine
// saves the missing input. tfjs-layers' BatchNormalization with scale or center false fails before
// that, reading its missing weight in training mode: tensorflow/tfjs#2868.)
describe.each([
  ['per-channel parameters [3] (what BN layers use)', [3], true, true],
  ['full-size parameters [2, 5, 4, 3]', X_SHAPE, true, true],
] as const)('FusedBatchNorm gradient, %s', (_, shape, withScale, withOffset) => {
  it('equals the stock tfjs-core gradient on cpu; ours on cpu and wasm', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingKernels();
    const expected = await gradients(operands([...shape], withScale, withOffset));
    registerTrainingKernels();
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const actual = await gradients(operands([...shape], withScale, withOffset));
      expect(actual.length).toBe(expected.length);
      actual.forEach((a, i) => expect(relativeError(a, expected[i]), `operand ${i} on ${backend}`).toBeLessThan(1e-5));
    }
  });
});

describe('FusedBatchNorm gradient, parameters broadcast from [1, 1, 4, 3]', () => {
  it('equals the stock gradient of the same parameters expanded to full size, summed back (stock fails on this shape)', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingKernels();
    const expected = await gradients(operands([1, 1, 4, 3], true, true, X_SHAPE), [1, 1, 4, 3]);
    registerTrainingKernels();
    const actual = await gradients(operands([1, 1, 4, 3], true, true));
    actual.forEach((a, i) => expect(relativeError(a, expected[i]), `operand ${i}`).toBeLessThan(1e-5));
  });
});

// Faults of tfjs left alone (README): these tests fail once tfjs fixes them, to update the README.
describe('tfjs faults around batch norm that these kernels cannot mend', () => {
  it('tf.batchNorm without scale and offset cannot be differentiated, our kernels registered or not', async () => {
    await tf.setBackend('cpu');
    const x = seededUniform(X_SHAPE, 1);
    const [mean, variance, offset, scale] = [tf.zeros([3]), tf.ones([3]), tf.zeros([3]), tf.ones([3])];
    const gradient = () => tf.grad((t: tf.Tensor) => tf.sum(tf.batchNorm(t, mean, variance)))(x);
    const missingInput = /Cannot read properties of undefined \(reading 'dataId'\)/;
    registerTrainingKernels();
    expect(gradient, 'with our kernels').toThrow(missingInput);
    unregisterTrainingKernels();
    expect(gradient, 'stock').toThrow(missingInput);
    registerTrainingKernels();
    // Given explicitly, ones and zeros are the same normalization, and it differentiates.
    const withParameters = tf.grad((t: tf.Tensor) => tf.sum(tf.batchNorm(t, mean, variance, offset, scale)))(x);
    expect(withParameters.shape).toEqual(X_SHAPE);
    tf.dispose([x, mean, variance, offset, scale, withParameters]);
  });

  it.each([{ scale: false }, { center: false }])('tfjs-layers\' BatchNormalization(%o) cannot train (tensorflow/tfjs#2868)', async (args) => {
    await tf.setBackend('cpu');
    registerTrainingKernels();
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 }), tfl.layers.batchNormalization(args)] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const [xs, ys] = [seededUniform([4, 3], 7), seededUniform([4, 2], 8)];
    await expect(model.fit(xs, ys, { epochs: 1, verbose: 0 })).rejects.toThrow(/Cannot read properties of undefined \(reading 'read'\)/);
    const prediction = model.predict(xs) as tf.Tensor; // inference works
    expect(prediction.shape).toEqual([4, 2]);
    model.dispose();
    tf.dispose([xs, ys, prediction]);
  });
});
