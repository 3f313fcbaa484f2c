/** Batch-norm statistics re-estimated with the final weights. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { createModel, recalibrateBatchNorm } from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { differenceRelativeToLargest, withSeed } from '../../../test-utils/numeric.js';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';
import { FUSED_BATCH_NORM_KERNELS } from '../src/batch-norm.js';
import { discBatch } from './model-tester.js';

const adapter = await nodeWebGPU('the batch-norm recalibration webgpu test');
if (adapter) registerTrainingKernels(); // the fused moments kernel for webgpu

beforeAll(() => useBackend('wasm'));

type BatchNorm = tfl.layers.Layer & { momentum: number; movingMean: tfl.LayerVariable; movingVariance: tfl.LayerVariable };

const small = () => withSeed(11, () => createModel('unet', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2 }));
const batchNorms = (model: tfl.LayersModel) => model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as BatchNorm[];

describe('recalibrateBatchNorm', () => {
  it('sets the first layer\'s moving statistics to the mean of its batch statistics, and changes nothing else', async () => {
    const model = small();
    const { x, y } = discBatch(10, 16, 3);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 }); // statistics that lag behind the weights
    const weights = model.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    const bn = batchNorms(model)[0];
    // The first BN's input is a convolution of the image: the same in training and inference mode.
    const probe = tfl.model({ inputs: model.inputs, outputs: bn.input as tfl.SymbolicTensor });
    const expectedMean = new Float64Array(4);
    const expectedVariance = new Float64Array(4);
    for (const start of [0, 4]) { // 10 images, batches of 4: two full batches, the last two images left out
      const z = probe.predict(tf.slice(x, [start, 0, 0, 0], [4, -1, -1, -1])) as tf.Tensor;
      const { mean, variance } = tf.moments(z, [0, 1, 2]);
      (await mean.data()).forEach((v, c) => (expectedMean[c] += v / 2));
      (await variance.data()).forEach((v, c) => (expectedVariance[c] += v / 2));
      tf.dispose([z, mean, variance]);
    }
    const before = tf.memory().numTensors;
    expect(recalibrateBatchNorm(model, x, { batchSize: 4 })).toEqual({ layers: batchNorms(model).length, batches: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const mean = await bn.movingMean.read().data();
    const variance = await bn.movingVariance.read().data();
    expectedMean.forEach((v, c) => expect(mean[c]).toBeCloseTo(v, 5));
    expectedVariance.forEach((v, c) => expect(variance[c]).toBeCloseTo(v, 5));
    expect(batchNorms(model).every((l) => l.momentum === 0.9)).toBe(true);
    expect(model.trainableWeights.map((w) => Array.from(w.read().dataSync()))).toEqual(weights);
    tf.dispose([x, y]);
  });

  it('does not depend on the statistics it replaces', async () => {
    const [a, b] = [small(), small()];
    const { x, y } = discBatch(8, 16, 4);
    a.compile({ optimizer: tf.train.sgd(0), loss: 'binaryCrossentropy' }); // training mode moves a's statistics only
    await a.fit(x, y, { epochs: 3, batchSize: 2, verbose: 0 });
    recalibrateBatchNorm(a, x);
    recalibrateBatchNorm(b, x);
    const [pa, pb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
    expect(tf.max(tf.abs(tf.sub(pa, pb))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, y, pa, pb]);
  });

  it('a model without batch norm is left as it is; fewer images than a batch make one batch', () => {
    const plain = withSeed(1, () => createModel('unet', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2, batchNorm: false }));
    const x = tf.zeros([2, 16, 16, 1]) as tf.Tensor4D;
    expect(recalibrateBatchNorm(plain, x)).toEqual({ layers: 0, batches: 0 });
    expect(recalibrateBatchNorm(small(), x, { batchSize: 4 }).batches).toBe(1);
    x.dispose();
  });

  it('refuses images that do not fit, and a bad batch size, before touching the model', () => {
    const model = small();
    const wrongChannels = tf.zeros([2, 16, 16, 3]) as tf.Tensor4D;
    const rank3 = tf.zeros([16, 16, 1]);
    const fits = tf.zeros([2, 16, 16, 1]) as tf.Tensor4D;
    const none = tf.zeros([0, 16, 16, 1]) as tf.Tensor4D;
    const disposed = tf.zeros([2, 16, 16, 1]) as tf.Tensor4D;
    disposed.dispose();
    expect(() => recalibrateBatchNorm(model, wrongChannels)).toThrow("recalibrateBatchNorm: images of shape [2, 16, 16, 3] do not fit the model's input [null, 16, 16, 1]");
    expect(() => recalibrateBatchNorm(model, rank3 as never)).toThrow('recalibrateBatchNorm: images must be a tensor [n, h, w, c], got shape [16, 16, 1]');
    expect(() => recalibrateBatchNorm(model, [[[[0]]]] as never)).toThrow('recalibrateBatchNorm: images must be a tensor [n, h, w, c], got object');
    expect(() => recalibrateBatchNorm(model, fits, { batchSize: 0 })).toThrow('recalibrateBatchNorm: batchSize must be an integer >= 1, got 0');
    expect(() => recalibrateBatchNorm(model, none)).toThrow('recalibrateBatchNorm: images holds no image (n = 0)');
    expect(() => recalibrateBatchNorm(model, disposed)).toThrow('recalibrateBatchNorm: images is disposed');
    expect(() => recalibrateBatchNorm({} as tfl.LayersModel, fits)).toThrow('recalibrateBatchNorm: model must be a tfjs-layers LayersModel');
    expect(batchNorms(model).every((l) => l.momentum === 0.9)).toBe(true);
    tf.dispose([wrongChannels, rank3, fits, none]);
  });

  it('reaches the batch norms of a model nested in another, as a user wraps a zoo model', () => {
    const inner = small();
    const input = tfl.input({ shape: [16, 16, 1] });
    const outer = tfl.model({ inputs: input, outputs: tfl.layers.activation({ activation: 'linear' }).apply(inner.apply(input)) as tfl.SymbolicTensor });
    const norms = batchNorms(inner);
    const means = () => norms.map((l) => Array.from(l.movingMean.read().dataSync()));
    const before = means();
    const { x, y } = discBatch(4, 16, 6);
    y.dispose();
    expect(recalibrateBatchNorm(outer, x)).toEqual({ layers: norms.length, batches: 1 });
    const after = means();
    expect(after.every((mean, i) => mean.some((v, c) => v !== before[i]![c]))).toBe(true);
    x.dispose();
  });
});

describe.runIf(adapter)('recalibrateBatchNorm on webgpu', () => {
  it('through the fused moments kernel, whose momentum changes every batch: the cpu backend\'s statistics within 1e-4', async () => {
    await useBackend('cpu');
    const reference = small();
    const initial = reference.getWeights().map((w) => w.arraySync());
    const images = discBatch(8, 16, 5).x.arraySync();
    recalibrateBatchNorm(reference, tf.tensor4d(images), { batchSize: 2 });
    const expected = await Promise.all(batchNorms(reference).flatMap((l) => [l.movingMean, l.movingVariance]).map((v) => v.read().data()));

    await tf.setBackend('webgpu');
    const model = small();
    model.setWeights(initial.map((w) => tf.tensor(w as number[])));
    const x = tf.tensor4d(images);
    const profile = await tf.profile(() => {
      recalibrateBatchNorm(model, x, { batchSize: 2 });
    });
    expect(profile.kernels.some((k) => k.name === FUSED_BATCH_NORM_KERNELS.moments)).toBe(true);
    const actual = await Promise.all(batchNorms(model).flatMap((l) => [l.movingMean, l.movingVariance]).map((v) => v.read().data()));
    actual.forEach((a, i) => expect(differenceRelativeToLargest(a as Float32Array, expected[i] as Float32Array), `statistic ${i}`).toBeLessThan(1e-4));
    x.dispose();
    await useBackend('wasm');
  });
});
