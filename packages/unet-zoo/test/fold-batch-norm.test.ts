/** Batch normalization folded into the convolution before it, for inference (fold-batch-norm.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaleAttentionalConv2d, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { createModel, foldBatchNorm, MODEL_NAMES, type ModelName } from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { differenceRelativeToLargest, withSeed } from '../../../test-utils/numeric.js';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'zoo-fold-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(dir, { recursive: true, force: true });
});

const classes = (model: tfl.LayersModel) => model.layers.map((l) => l.getClassName());
const count = (model: tfl.LayersModel, className: string) => classes(model).filter((c) => c === className).length;

/** A small model whose batch norms have moving statistics, scales and shifts far from their initial 0 and 1. */
function trainedLooking(name: ModelName): tfl.LayersModel {
  return withSeed(5, () => {
    const model = createModel(name, { inputShape: [16, 16, 1], baseFilters: 4, depth: 2 });
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      // gamma, beta, moving mean, moving variance (> 0)
      const values = layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.2 : -1.5, i === 3 ? 3 : 1.5, 'float32', 20 + i));
      layer.setWeights(values);
      tf.dispose(values);
    }
    return model;
  });
}

describe('foldBatchNorm', () => {
  // [model, batch norms folded, ReLUs folded, batch norms left] at depth 2: U-Net's 5 conv blocks of
  // 2 units and 2 upsampling units; U-Net++'s 6 nodes and 3 upsamplings; Attention U-Net's as U-Net's
  // (its gates have none); MultiRes U-Net's linear shortcut convs fold without a ReLU, and its batch
  // norms after a concatenation or a ReLU stay; SA-U-Net's follow scale-attentional convolutions,
  // which take them as their affine scale and shift. The last column: weights a folded batch norm
  // removes per channel (its 4 become a Conv2D's new bias, or a scale-attentional layer's 2).
  it.each([
    ['unet', 12, 12, 0, 3],
    ['unet-plus-plus', 15, 15, 0, 3],
    ['attention-unet', 12, 12, 0, 3],
    ['multires-unet', 28, 20, 13, 3],
    ['sa-unet', 12, 12, 0, 2],
  ] as const)('%s: %i batch norms and %i ReLUs folded, %i left; the same predictions; the original unchanged', async (name, batchNorms, relus, left, removedPerChannel) => {
    const model = trainedLooking(name);
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 9);
    const expected = model.predict(x) as tf.Tensor;
    const expectedValues = await expected.data();
    const before = tf.memory().numTensors;
    const folded = foldBatchNorm(model);
    // The new model's weights, and nothing else, stay in memory.
    expect(tf.memory().numTensors - before).toBe(folded.model.weights.length);
    expect([folded.batchNorms, folded.activations]).toEqual([batchNorms, relus]);
    expect(count(folded.model, 'BatchNormalization')).toBe(left);
    expect(count(model, 'BatchNormalization')).toBe(batchNorms + left);
    expect(folded.model.layers.length).toBe(model.layers.length - batchNorms - relus);
    // Every layer left keeps its name; each folded conv gained a bias.
    const names = new Set(model.layers.map((l) => l.name));
    expect(folded.model.layers.every((l) => names.has(l.name))).toBe(true);
    // A folded batch norm's 4 weights per channel (scale, shift, moving mean and variance) become its conv's bias (or affine scale and shift).
    const foldedChannels = model.layers.filter((l) => l.getClassName() === 'BatchNormalization' && !folded.model.layers.some((f) => f.name === l.name))
      .reduce((n, l) => n + l.getWeights()[0]!.size, 0);
    expect(folded.model.countParams()).toBe(model.countParams() - removedPerChannel * foldedChannels);
    const actual = folded.model.predict(x) as tf.Tensor;
    expect(actual.shape).toEqual(expected.shape);
    expect(differenceRelativeToLargest(Array.from(await actual.data()), Array.from(expectedValues))).toBeLessThan(1e-5);
    const again = model.predict(x) as tf.Tensor;
    expect(Array.from(await again.data())).toEqual(Array.from(expectedValues));
    tf.dispose([x, expected, actual, again]);
    folded.model.dispose();
  });

  it.each(['unet', 'sa-unet'] as const)('a folded %s saves and loads as a plain tfjs-layers model, with the same predictions', async (name) => {
    const { model } = foldBatchNorm(trainedLooking(name));
    expect(classes(model)).not.toContain('ReLU');
    const x = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 4);
    const expected = model.predict(x) as tf.Tensor;
    await model.save(fileSystem(join(dir, `folded-${name}`)));
    const loaded = await tfl.loadLayersModel(fileSystem(join(dir, `folded-${name}`)));
    expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    const actual = loaded.predict(x) as tf.Tensor;
    expect(Array.from(await actual.data())).toEqual(Array.from(await expected.data()));
    tf.dispose([x, expected, actual]);
    model.dispose();
    loaded.dispose();
  });

  it('leaves a conv whose output is used twice, a conv with its own activation, and a ReLU that is not plain', async () => {
    const input = tfl.input({ shape: [8, 8, 2] });
    const shared = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'shared' }).apply(input) as tfl.SymbolicTensor;
    const a = tfl.layers.batchNormalization({ name: 'a_bn' }).apply(shared) as tfl.SymbolicTensor;
    const activated = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'sigmoid', name: 'activated' }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.batchNormalization({ name: 'b_bn' }).apply(activated) as tfl.SymbolicTensor;
    const plain = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'plain' }).apply(input) as tfl.SymbolicTensor;
    const c = tfl.layers.batchNormalization({ name: 'c_bn' }).apply(plain) as tfl.SymbolicTensor;
    const capped = tfl.layers.reLU({ maxValue: 6, name: 'capped' }).apply(c) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: tfl.layers.concatenate({ name: 'out' }).apply([a, shared, b, capped]) as tfl.SymbolicTensor });
    const folded = foldBatchNorm(model);
    expect([folded.batchNorms, folded.activations]).toEqual([1, 0]); // c_bn into 'plain'; 'capped' stays
    const names = folded.model.layers.map((l) => l.name);
    expect(names.filter((n) => n !== model.inputLayers[0]!.name).sort()).toEqual(['a_bn', 'activated', 'b_bn', 'capped', 'out', 'plain', 'shared']);
    const x = tf.randomUniform([1, 8, 8, 2], -1, 1, 'float32', 2);
    const [expected, actual] = [model.predict(x) as tf.Tensor, folded.model.predict(x) as tf.Tensor];
    expect(differenceRelativeToLargest(Array.from(await actual.data()), Array.from(await expected.data()))).toBeLessThan(1e-5);
    tf.dispose([x, expected, actual]);
  });

  it('folds into a scale-attentional convolution with its own affine scale and shift, and one with a projection; leaves one with a ReLU', async () => {
    const input = tfl.input({ shape: [8, 8, 2] });
    const unit = (args: ScaleAttentionalConv2DArgs, name: string, x: tfl.SymbolicTensor) => {
      const conv = scaleAttentionalConv2d({ ...args, name }).apply(x) as tfl.SymbolicTensor;
      return tfl.layers.reLU({ name: `${name}_relu` }).apply(tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(conv)) as tfl.SymbolicTensor;
    };
    const a = unit({ filters: 8, scales: 4, affine: true }, 'own_affine', input);
    const b = unit({ filters: 6, scales: 3, stageFilters: 4 }, 'projected', a);
    const c = unit({ filters: 4, scales: 2, activation: 'relu' }, 'activated', b);
    const model = withSeed(6, () => tfl.model({ inputs: input, outputs: c }));
    // Batch norms' scales, shifts and statistics far from their initial 1, 0, 0, 1 (scales and
    // variances > 0, shifts mostly positive, so that some of the output survives the ReLUs).
    const ranges = [[0.5, 1.5], [-0.5, 1], [-1, 1], [0.2, 1.5]];
    for (const [j, name] of ['own_affine_bn', 'projected_bn', 'activated_bn'].entries()) {
      const bn = model.getLayer(name);
      const values = bn.getWeights().map((w, i) => tf.randomUniform(w.shape, ranges[i]![0], ranges[i]![1], 'float32', 30 + 4 * j + i));
      bn.setWeights(values);
      tf.dispose(values);
    }
    const own = model.getLayer('own_affine');
    const weights = own.getWeights();
    const affine = [tf.randomUniform([8], -1.5, 1.5, 'float32', 50), tf.randomUniform([8], -1, 1, 'float32', 51)];
    own.setWeights([...weights.slice(0, -2), ...affine]);
    tf.dispose(affine);
    const folded = foldBatchNorm(model);
    expect([folded.batchNorms, folded.activations]).toEqual([2, 2]); // 'activated' has its own ReLU: its batch norm stays
    const configOf = (name: string) => folded.model.getLayer(name).getConfig();
    expect([configOf('own_affine'), configOf('projected'), configOf('activated')].map((c) => [c['affine'], c['activation']]))
      .toEqual([[true, 'relu'], [true, 'relu'], [false, 'relu']]);
    const x = tf.randomUniform([2, 8, 8, 2], -1, 1, 'float32', 3);
    const [expected, actual] = [model.predict(x) as tf.Tensor, folded.model.predict(x) as tf.Tensor];
    const expectedValues = await expected.data();
    expect(Array.from(expectedValues).some((v) => v !== 0), 'the output is not all cleared by the ReLUs').toBe(true);
    expect(differenceRelativeToLargest(Array.from(await actual.data()), Array.from(expectedValues))).toBeLessThan(1e-5);
    tf.dispose([x, expected, actual]);
    folded.model.dispose();
  });

  it('folds a Sequential model: conv -> BN -> ReLU, a scale-attentional one too, and leaves a BN after a ReLU', async () => {
    const model = withSeed(8, () => tfl.sequential({ name: 'seq', layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 8, kernelSize: 3, padding: 'same', name: 'conv' }),
      tfl.layers.batchNormalization({ name: 'conv_bn' }),
      tfl.layers.reLU({ name: 'conv_relu' }),
      scaleAttentionalConv2d({ filters: 8, scales: 4, name: 'sa' }),
      tfl.layers.batchNormalization({ name: 'sa_bn' }),
      tfl.layers.reLU({ name: 'sa_relu' }),
      tfl.layers.batchNormalization({ name: 'after_relu_bn' }),
      tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'head' }),
    ] }));
    const ranges = [[0.5, 1.5], [-0.5, 1], [-1, 1], [0.2, 1.5]];
    for (const [j, name] of ['conv_bn', 'sa_bn', 'after_relu_bn'].entries()) {
      const bn = model.getLayer(name);
      const values = bn.getWeights().map((w, i) => tf.randomUniform(w.shape, ranges[i]![0], ranges[i]![1], 'float32', 60 + 4 * j + i));
      bn.setWeights(values);
      tf.dispose(values);
    }
    const folded = foldBatchNorm(model);
    expect(folded.model).toBeInstanceOf(tfl.Sequential);
    expect([folded.batchNorms, folded.activations]).toEqual([2, 2]);
    expect(folded.model.layers.map((l) => l.name)).toEqual(['conv', 'sa', 'after_relu_bn', 'head']);
    expect([folded.model.getLayer('conv').getConfig()['activation'], folded.model.getLayer('sa').getConfig()['affine']]).toEqual(['relu', true]);
    const x = tf.randomUniform([2, 8, 8, 2], -1, 1, 'float32', 7);
    const [expected, actual] = [model.predict(x) as tf.Tensor, folded.model.predict(x) as tf.Tensor];
    expect(differenceRelativeToLargest(Array.from(await actual.data()), Array.from(await expected.data()))).toBeLessThan(1e-5);
    tf.dispose([x, expected, actual]);
    folded.model.dispose();
  });

  it('rejects what it cannot fold, naming it', () => {
    expect(() => foldBatchNorm({} as never)).toThrow('foldBatchNorm: model must be a tfjs-layers LayersModel');
  });

  it('covers every model of the zoo', () => expect(MODEL_NAMES).toEqual(['unet', 'unet-plus-plus', 'attention-unet', 'multires-unet', 'sa-unet']));
});
