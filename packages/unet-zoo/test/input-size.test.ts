/** Models for inputs of any size: the config's null sides and the size check layer. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attentionUnetBase,
  createModel,
  InputSizeCheck,
  modelInputSize,
  multiResUnetBase,
  saUnetBase,
  segmentGrayImage,
  unetBase,
  unetPlusPlusBase,
} from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';

beforeAll(() => useBackend('wasm'));

describe('inputShape with null sides', () => {
  it('one side free, the other fixed: the fixed one is checked when building, the free one when running', () => {
    expect(() => createModel('unet', { inputShape: [null, 30, 1], baseFilters: 4, depth: 2 }))
      .toThrow('unet: inputShape width 30 is not divisible by 2^depth = 4 (depth 2); nearest valid width: 28 or 32');
    const model = createModel('unet', { inputShape: [null, 32, 1], baseFilters: 4, depth: 2 });
    expect(model.inputs[0].shape).toEqual([null, null, 32, 1]);
    const y = model.predict(tf.zeros([1, 12, 32, 1])) as tf.Tensor;
    expect(y.shape).toEqual([1, 12, 32, 1]);
    y.dispose();
    expect(() => model.predict(tf.zeros([1, 14, 32, 1]))).toThrow('unet_size_check: input 14x32 (height x width): height 14 is not a multiple of 4 (nearest: 12 or 16)');
  });

  it('names both sides when both are wrong', () => {
    const model = createModel('sa-unet', { inputShape: [null, null, 1], baseFilters: 8, depth: 3 });
    expect(() => model.predict(tf.zeros([1, 20, 4, 1]))).toThrow(
      'sa_unet_size_check: input 20x4 (height x width): height 20 is not a multiple of 8 (nearest: 16 or 24); width 4 is not a multiple of 8 (nearest: 8)');
  });

  it('channels stay required; a model of fixed size has no size check', () => {
    expect(() => createModel('unet', { inputShape: [32, 32, null] as never })).toThrow("unet: 'inputShape[2]' (channels) must be an integer >= 1, got null; only height and width may be null");
    const fixed = createModel('unet', { inputShape: [16, 16, 1], baseFilters: 4, depth: 2 });
    expect(fixed.layers.some((l) => l instanceof InputSizeCheck)).toBe(false);
  });

  it('segmentGrayImage, which resizes to a fixed input, says what it needs instead', async () => {
    const model = createModel('unet', { inputShape: [null, null, 1], baseFilters: 4, depth: 2 });
    expect(() => modelInputSize(model)).toThrow('the model takes inputs of any size ([null, null, null, 1]); images are resized to a fixed square input [n, n, 1]');
    await expect(segmentGrayImage(model, { data: new Float32Array(16), width: 4, height: 4 })).rejects.toThrow(/takes inputs of any size/);
  });
});

describe('headless bases on an input of free size check it too', () => {
  const bases = { unet: unetBase, 'unet-plus-plus': unetPlusPlusBase, 'attention-unet': attentionUnetBase, 'multires-unet': multiResUnetBase, 'sa-unet': saUnetBase };
  it.each(Object.entries(bases))('%s', (name, base) => {
    const prefix = `my_${name.replace(/-/g, '_')}`;
    const config = { inputShape: [null, null, 1] as [null, null, number], baseFilters: 4, depth: 2, name: prefix };
    const input = tfl.input({ shape: [null, null, 1] });
    const model = tfl.model({ inputs: input, outputs: (base as typeof unetBase)(input, config) });
    expect(model.layers.filter((l) => l instanceof InputSizeCheck).map((l) => l.name)).toEqual([`${prefix}_size_check`]);
    const y = model.predict(tf.zeros([1, 8, 12, 1])) as tf.Tensor;
    expect(y.shape.slice(0, 3)).toEqual([1, 8, 12]); // channels: the base's (MultiRes U-Net's are not baseFilters)
    y.dispose();
    expect(() => model.predict(tf.zeros([1, 8, 10, 1]))).toThrow(`${prefix}_size_check: input 8x10 (height x width): width 10 is not a multiple of 4 (nearest: 8 or 12)`);
    // On an input of fixed size, no check.
    const fixed = tfl.input({ shape: [8, 8, 1] });
    const fixedModel = tfl.model({ inputs: fixed, outputs: (base as typeof unetBase)(fixed, { ...config, inputShape: [8, 8, 1] }) });
    expect(fixedModel.layers.some((l) => l instanceof InputSizeCheck)).toBe(false);
  });
});

describe('InputSizeCheck', () => {
  it('passes its input through; its whole config round-trips', () => {
    const layer = new InputSizeCheck({ multiple: 16, name: 'check' });
    const x = tf.randomUniform([1, 32, 48, 2], 0, 1, 'float32', 1);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual(x.shape);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    const config = layer.getConfig();
    expect(config).toEqual({ multiple: 16, name: 'check', trainable: true });
    const copy = InputSizeCheck.fromConfig(InputSizeCheck, config) as InputSizeCheck;
    expect(copy).toBeInstanceOf(InputSizeCheck);
    expect(copy.getConfig()).toEqual(config);
    tf.dispose([x, y]);
  });

  it.each([0, 1.5, Number.NaN])('refuses multiple %s', (multiple) => {
    expect(() => new InputSizeCheck({ multiple })).toThrow(`InputSizeCheck: 'multiple' must be an integer >= 1, got ${JSON.stringify(multiple)}`);
  });
});
