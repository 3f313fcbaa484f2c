import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORWARD_BACKENDS, TRAINING_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { discMask, seededRandom, seededUniform, withSeed } from '../../../test-utils/numeric.js';
import { scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';

afterEach(() => tf.disposeVariables());

/** 1 - soft Dice over the whole batch. */
function diceLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const intersection = tf.sum(tf.mul(yTrue, yPred));
    const total = tf.add(tf.sum(yTrue), tf.sum(yPred));
    return tf.sub(1, tf.div(tf.add(tf.mul(2, intersection), 1), tf.add(total, 1))) as tf.Scalar;
  });
}

/** Images of a bright noisy disc of random radius and place, with its mask. */
function discDataset(count: number, size: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const rand = seededRandom(seed);
  const images = new Float32Array(count * size * size);
  const masks = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const r = size * (0.15 + 0.15 * rand());
    const cy = r + (size - 2 * r) * rand();
    const cx = r + (size - 2 * r) * rand();
    const mask = discMask(size, size, r, cy, cx);
    for (let i = 0; i < size * size; i++) {
      masks[n * size * size + i] = mask[i];
      images[n * size * size + i] = 0.6 * mask[i] + 0.4 * rand();
    }
  }
  return { x: tf.tensor4d(images, [count, size, size, 1]), y: tf.tensor4d(masks, [count, size, size, 1]) };
}

function tinySegmenter(size: number): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 1] });
  let x: tfl.SymbolicTensor = input;
  for (const [i, filters] of [8, 8].entries()) {
    x = scaleAttentionalConv2d({ filters, scales: 4, name: `sa${i}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: `bn${i}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU({ name: `relu${i}` }).apply(x) as tfl.SymbolicTensor;
  }
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'head' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output });
}

describe.each(TRAINING_BACKENDS)('training on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('learns a disc mask: the dice loss falls far below its start', async () => {
    const size = 16;
    const model = withSeed(1, () => tinySegmenter(size));
    model.compile({ optimizer: tf.train.adam(0.02), loss: diceLoss });
    const { x, y } = discDataset(8, size, 1);
    const history = await model.fit(x, y, { epochs: 40, batchSize: 4, shuffle: false, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses[0]).toBeGreaterThan(0.4);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    expect(losses[losses.length - 1]).toBeLessThan(0.25);
    tf.dispose([x, y]);
  });

  it('no tensor leaks across fit loops', async () => {
    const model = tinySegmenter(8);
    model.compile({ optimizer: tf.train.adam(0.01), loss: diceLoss });
    const { x, y } = discDataset(4, 8, 2);
    await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 }); // optimizer state is created once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

describe.each(FORWARD_BACKENDS)('no tensor leaks on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('across call and predict loops', () => {
    const layer = scaleAttentionalConv2d({ filters: 8 });
    const x = seededUniform([2, 8, 8, 3], 1);
    (layer.apply(x) as tf.Tensor).dispose(); // builds the weights
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) (layer.apply(x) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(before);

    const model = tinySegmenter(8);
    const input = seededUniform([2, 8, 8, 1], 2);
    (model.predict(input) as tf.Tensor).dispose();
    const beforePredict = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) (model.predict(input) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(beforePredict);
    tf.dispose([x, input]);
  });
});
