/**
 * releasingGradientsEarly (and so fusedAdam's computeGradients): tfjs' gradients bit for bit, no
 * tensor left behind, a lower peak memory; on graphs with fan-out, multiple-output kernels, unused
 * outputs, and custom gradients that pass a gradient on as it is or return one tensor twice.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { releasingGradientsEarly } from '../src/early-release.js';
import { useBackend } from '../../../test-utils/backends.js';
import { seededUniform, withSeed } from '../../../test-utils/numeric.js';

await useBackend('cpu');

/** A small U-Net-like model: convolutions, batch norm, pooling, upsampling and a skip (fan-out). */
function smallNet(): tfl.LayersModel {
  return withSeed(3, () => {
    const input = tfl.input({ shape: [16, 16, 2] });
    const c1 = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
    const n1 = tfl.layers.batchNormalization().apply(c1) as tfl.SymbolicTensor;
    const down = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(n1) as tfl.SymbolicTensor;
    const c2 = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(down) as tfl.SymbolicTensor;
    const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(c2) as tfl.SymbolicTensor;
    const merged = tfl.layers.concatenate().apply([n1, up]) as tfl.SymbolicTensor;
    const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(merged) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: out });
  });
}

/** tf.customGrad's argument (typed there with inputs that may be the save function). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

/** A loss of variables `vs`, and the variables. */
interface Case {
  vars: tf.Variable[];
  loss: () => tf.Scalar;
  /** Tensors from outside the loss that must still be there after it. */
  outlives?: tf.Tensor[];
}

const CASES: Array<[string, () => Case]> = [
  ['a small U-Net-like model (fan-out through a skip, batch norm, pooling, upsampling)', () => {
    const model = smallNet();
    const x = seededUniform([2, 16, 16, 2], 1);
    const target = tf.cast(tf.greater(seededUniform([2, 16, 16, 1], 2), 0.5), 'float32');
    return {
      vars: model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      loss: () => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target))) as tf.Scalar,
    };
  }],
  ['a multiple-output kernel (split) with one output unused and one used twice', () => {
    const w = tf.variable(seededUniform([4, 6], 3), true, 'split_w');
    return {
      vars: [w],
      loss: () => {
        const [a, , c] = tf.split(tf.mul(w, w), 3, 1);
        return tf.sum(tf.add(tf.mul(a!, c!), tf.exp(a!)));
      },
    };
  }],
  ['a custom gradient that passes its gradient on as it is, straight from the seed', () => {
    const w = tf.variable(seededUniform([5], 4), true, 'passed_w');
    const straightThrough = tf.customGrad(((x: tf.Tensor) => ({ value: tf.round(x), gradFunc: (dy: tf.Tensor) => dy })) as CustomGradient);
    // The last kernel: its gradient is the seed of the backward pass, which it passes on to tf.sum's output.
    return { vars: [w], loss: () => straightThrough(tf.sum(tf.mul(tf.mul(w, 3), w))) as tf.Scalar };
  }],
  ['a custom gradient that returns one tensor as the gradient of both its inputs', () => {
    const a = tf.variable(seededUniform([3, 3], 5), true, 'twice_a');
    const b = tf.variable(seededUniform([3, 3], 6), true, 'twice_b');
    const addBoth = tf.customGrad(((x: tf.Tensor, y: tf.Tensor) => ({
      value: tf.add(x, y),
      gradFunc: (dy: tf.Tensor) => { const g = tf.mul(dy, 2); return [g, g]; },
    })) as CustomGradient);
    return { vars: [a, b], loss: () => tf.sum(tf.square(addBoth(tf.tanh(a), tf.sigmoid(b)) as tf.Tensor)) };
  }],
  ['a custom gradient that returns a constant made before the loss (which must outlive it)', () => {
    const w = tf.variable(seededUniform([5], 7), true, 'constant_w');
    const constant = tf.tensor1d([1, 2, 3, 4, 5]);
    const fixedSlope = tf.customGrad(((x: tf.Tensor) => ({ value: tf.sin(x), gradFunc: () => constant })) as CustomGradient);
    // The constant is then the gradient of tf.mul's output, which tf.mul uses up before tf.exp's turn.
    return { vars: [w], loss: () => tf.sum(fixedSlope(tf.mul(tf.exp(w), w)) as tf.Tensor), outlives: [constant] };
  }],
];

/** The loss and gradients of `f`, read back; the tensors they leave behind. */
async function gradientsOf(f: () => tf.Scalar, vars: tf.Variable[]): Promise<{ value: number; grads: number[][]; left: number }> {
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(f, vars);
  const read = { value: (await value.data())[0]!, grads: await Promise.all(vars.map(async (v) => Array.from(await grads[v.name]!.data()))) };
  tf.dispose([value, ...Object.values(grads)]);
  return { ...read, left: tf.memory().numTensors - before };
}

describe('releasingGradientsEarly', () => {
  it.each(CASES)('%s: tfjs\' value and gradients bit for bit, no tensor left', async (_, make) => {
    const { vars, loss, outlives = [] } = make();
    const stock = await gradientsOf(loss, vars);
    const early = await gradientsOf(releasingGradientsEarly(loss), vars);
    expect(outlives.map((t) => t.isDisposed)).toEqual(outlives.map(() => false));
    expect(early.value).toBe(stock.value);
    expect(early.grads).toEqual(stock.grads);
    expect(stock.grads.flat().some((g) => g !== 0), 'the case needs gradients that are not all zero').toBe(true);
    expect([early.left, stock.left]).toEqual([0, 0]);
    tf.dispose([...vars, ...outlives]);
  });

  it('lowers the peak memory of the backward pass (tf.profile\'s peakBytes), same result', async () => {
    const { vars, loss } = CASES[0]![1]();
    const peak = async (f: () => tf.Scalar) => (await tf.profile(() => {
      const { value, grads } = tf.variableGrads(f, vars);
      tf.dispose([value, ...Object.values(grads)]);
    })).peakBytes;
    const stock = await peak(loss);
    const early = await peak(releasingGradientsEarly(loss));
    expect(early / stock).toBeLessThan(0.8);
    tf.dispose(vars);
  });

  it('leaves nested (second-order) gradients and direct calls as they are', async () => {
    const x = tf.tensor1d([0.5, -1.5, 2]);
    // x * x * x: the inner backward pass's gradients are inputs the outer one saves, so none may go early.
    const cube = (t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, t), t)) as tf.Scalar;
    const secondOrder = tf.grad((t: tf.Tensor) => tf.grad(cube)(t));
    const released = tf.grad((t: tf.Tensor) => tf.grad((u: tf.Tensor) => releasingGradientsEarly(() => cube(u))())(t));
    expect(Array.from(await released(x).data())).toEqual([3, -9, 12]); // 6x
    expect(Array.from(await secondOrder(x).data())).toEqual([3, -9, 12]);
    expect(Array.from(await releasingGradientsEarly(() => cube(x))().data())).toEqual([0.125 - 3.375 + 8]);
  });
});

describe('fusedAdam trains through it', () => {
  it('the same weights as tf.train.adam after three steps, no tensor left, a lower peak per step', async () => {
    const run = async (optimizer: tf.Optimizer) => {
      const model = smallNet();
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const x = seededUniform([2, 16, 16, 2], 1);
      const target = tf.cast(tf.greater(seededUniform([2, 16, 16, 1], 2), 0.5), 'float32');
      await model.trainOnBatch(x, target); // creates the moments
      const before = tf.memory().numTensors;
      let peakBytes = 0;
      for (let step = 0; step < 2; step++) {
        peakBytes = Math.max(peakBytes, (await tf.profile(async () => { await model.trainOnBatch(x, target); })).peakBytes);
      }
      const left = tf.memory().numTensors - before;
      const weights = await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
      tf.dispose([x, target]);
      model.dispose();
      return { weights, left, peakBytes };
    };
    const stock = await run(tf.train.adam(0.01));
    const fused = await run(fusedAdam(0.01));
    expect(fused.weights).toEqual(stock.weights);
    expect([fused.left, stock.left]).toEqual([0, 0]);
    expect(fused.peakBytes / stock.peakBytes).toBeLessThan(0.9);
  });
});
