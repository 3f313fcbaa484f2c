import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { averageDeepSupervision, createModel, foregroundProbability, maskAtImageSize, modelInputSize, resizeGrayImage, segmentGrayImage } from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { withSeed } from '../../../test-utils/numeric.js';

beforeAll(() => useBackend('wasm'));

const image = (width: number, height: number) => ({ data: Float32Array.from({ length: width * height }, (_, i) => ((i * 7919) % 255) / 255), width, height });

describe('segmentGrayImage', () => {
  it('resizes any image to the model input and thresholds the probabilities at 0.5', async () => {
    const model = withSeed(3, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 }));
    const result = await segmentGrayImage(model, image(50, 40));
    expect(result.size).toBe(32);
    expect(result.input).toHaveLength(32 * 32);
    expect(Array.from(result.mask)).toEqual(Array.from(result.probabilities, (p) => (p > 0.5 ? 1 : 0)));
    expect(result.maskPixels).toBe(result.mask.reduce((a, b) => a + b, 0));
    expect(result.inferenceMs).toBeGreaterThan(0);
  });

  it('runs the model through `predict` where given: the resized image in, its output used as the model\'s', async () => {
    const model = withSeed(3, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 }));
    const seen: number[][] = [];
    const predict = (x: tf.Tensor4D) => {
      seen.push(x.shape);
      return tf.tidy(() => tf.sub(1, model.predict(x) as tf.Tensor)); // visibly not the model's own
    };
    const own = await segmentGrayImage(model, image(50, 40));
    const before = tf.memory().numTensors;
    const through = await segmentGrayImage(model, image(50, 40), { predict });
    expect(seen).toEqual([[1, 32, 32, 1]]);
    expect(through.input).toEqual(own.input);
    through.probabilities.forEach((p, i) => expect(p).toBeCloseTo(1 - own.probabilities[i]!, 6));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('averages deep-supervision heads and takes class 1 of a softmax model', async () => {
    const deep = withSeed(4, () => createModel('unet-plus-plus', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2, deepSupervision: true }));
    expect((await segmentGrayImage(deep, image(16, 16))).probabilities).toHaveLength(256);
    const classes = withSeed(5, () => createModel('unet', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2, numClasses: 3 }));
    const probabilities = (await segmentGrayImage(classes, image(16, 16))).probabilities;
    const expected = tf.tidy(() => tf.slice(classes.predict(tf.image.resizeBilinear(tf.tensor4d(image(16, 16).data, [1, 16, 16, 1]), [16, 16], false, true)) as tf.Tensor, [0, 0, 0, 1], [-1, -1, -1, 1]));
    expect(Array.from(probabilities)).toEqual(Array.from(await expected.data()));
    expected.dispose();
  });

  it('names what is wrong with an image, and leaves no tensor behind when the model fails', async () => {
    const model = withSeed(3, () => createModel('unet', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2 }));
    await expect(segmentGrayImage(model, { data: new Float32Array(10), width: 4, height: 4 }))
      .rejects.toThrow('image: data must be a Float32Array of width x height = 4 x 4 = 16 gray levels, got 10 values');
    await expect(segmentGrayImage(model, { data: new Uint8Array(16) as unknown as Float32Array, width: 4, height: 4 }))
      .rejects.toThrow('image: data must be a Float32Array of width x height = 4 x 4 = 16 gray levels, got Uint8Array');
    await expect(segmentGrayImage(model, { data: new Float32Array(0), width: 0, height: 4 })).rejects.toThrow('image: width and height must be integers >= 1, got 0 x 4');
    const before = tf.memory().numTensors;
    const failing = Object.assign(Object.create(model) as tfl.LayersModel, { predict: () => { throw new Error('context lost'); } });
    await expect(segmentGrayImage(failing, image(20, 20))).rejects.toThrow('context lost');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names a bad size, model output or model in its helpers', () => {
    expect(() => resizeGrayImage(image(4, 4), 0)).toThrow('resizeGrayImage: size must be an integer >= 1, got 0');
    expect(() => foregroundProbability(tf.zeros([2, 2, 2]) as never)).toThrow('foregroundProbability: expected a model output [batch, height, width, classes], got shape [2, 2, 2]');
    expect(() => averageDeepSupervision(null as never)).toThrow('averageDeepSupervision: model must be a tfjs-layers LayersModel, got null');
  });

  it('needs a model, and says so', async () => {
    await expect(segmentGrayImage(null as never, image(4, 4))).rejects.toThrow('model must be a tfjs-layers LayersModel with an input, got null');
    expect(() => modelInputSize({} as never)).toThrow('model must be a tfjs-layers LayersModel with an input, got an object without inputs');
  });

  it('needs square gray inputs, and says so', () => {
    const rgb = tfl.input({ shape: [8, 8, 3] });
    const model = tfl.model({ inputs: rgb, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(rgb) as tfl.SymbolicTensor });
    expect(() => modelInputSize(model)).toThrow('the model takes inputs of shape [null, 8, 8, 3]; square gray images [null, n, n, 1] are needed');
  });
});

describe('maskAtImageSize', () => {
  const columns = (size: number, values: number[]) => ({ size, probabilities: Float32Array.from({ length: size * size }, (_, i) => values[i % size]!) });

  it.each([
    // Two columns 0.2 | 0.9 widened to four: 0.2, 0.375, 0.725, 0.9 (half-pixel centres), three rows of it.
    ['widened, fewer rows', columns(2, [0.2, 0.9]), 4, 3, [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]],
    // Narrowed to three: 0.2, 0.55, 0.9.
    ['narrowed, more rows', columns(2, [0.2, 0.9]), 3, 4, [0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1]],
    // Exactly 0.5 is background, as in segmentGrayImage's mask.
    ['at the threshold', columns(2, [0.5, 0.5]), 3, 2, [0, 0, 0, 0, 0, 0]],
    ['one pixel', columns(1, [0.75]), 2, 2, [1, 1, 1, 1]],
  ])('resizes the probabilities back, bilinear, then > 0.5: %s', async (_, segmentation, width, height, expected) => {
    const before = tf.memory().numTensors;
    expect(Array.from(await maskAtImageSize(segmentation, width, height))).toEqual(expected);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('at the model\'s own size, is the segmentation\'s mask', async () => {
    const model = withSeed(3, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 }));
    const result = await segmentGrayImage(model, image(50, 40));
    expect(Array.from(await maskAtImageSize(result, 32, 32))).toEqual(Array.from(result.mask));
    expect(await maskAtImageSize(result, 50, 40)).toHaveLength(50 * 40);
  });

  it('names a bad segmentation or size', async () => {
    await expect(maskAtImageSize({ size: 2, probabilities: new Float32Array(3) }, 4, 4))
      .rejects.toThrow("maskAtImageSize: expected a segmentation's size and its size x size probabilities (a Float32Array), got size 2 and 3 values");
    await expect(maskAtImageSize(null as never, 4, 4)).rejects.toThrow('got size undefined and undefined');
    await expect(maskAtImageSize(columns(2, [0, 1]), 0, 4)).rejects.toThrow('maskAtImageSize: width and height must be integers >= 1, got 0 x 4');
    await expect(maskAtImageSize(columns(2, [0, 1]), 4, 2.5)).rejects.toThrow('got 4 x 2.5');
  });
});
