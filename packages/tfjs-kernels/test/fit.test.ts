import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { discMask, seededRandom, withSeed } from '../../../test-utils/numeric.js';

beforeAll(async () => {
  registerTrainingKernels();
  await tf.setBackend('wasm');
});

describe('model.fit on wasm', () => {
  it('a net of conv2d, separableConv2d, depthwiseConv2d, BN, pooling, upsampling and concatenate learns', async () => {
    const size = 16;
    const model = withSeed(3, () => {
      const input = tfl.input({ shape: [size, size, 1] });
      const a = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
      const b = tfl.layers.batchNormalization().apply(a) as tfl.SymbolicTensor;
      const pooled = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(b) as tfl.SymbolicTensor;
      const sep = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(pooled) as tfl.SymbolicTensor;
      const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }).apply(sep) as tfl.SymbolicTensor;
      const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(dw) as tfl.SymbolicTensor;
      const merged = tfl.layers.concatenate().apply([up, b]) as tfl.SymbolicTensor;
      const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(merged) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: output });
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });

    const rand = seededRandom(5);
    const count = 8;
    const images = new Float32Array(count * size * size);
    const masks = new Float32Array(count * size * size);
    for (let n = 0; n < count; n++) {
      const mask = discMask(size, size, 3 + 3 * rand(), 4 + 8 * rand(), 4 + 8 * rand());
      for (let i = 0; i < size * size; i++) {
        masks[n * size * size + i] = mask[i];
        images[n * size * size + i] = 0.5 * mask[i] + 0.5 * rand();
      }
    }
    const x = tf.tensor4d(images, [count, size, size, 1]);
    const y = tf.tensor4d(masks, [count, size, size, 1]);
    const history = await model.fit(x, y, { epochs: 25, batchSize: 4, shuffle: false, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    tf.dispose([x, y]);
  });
});
