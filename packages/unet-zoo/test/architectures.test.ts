/** What makes each architecture itself, checked on the graph; and the registry. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MODEL_NAMES,
  PARAMS_END,
  PARAMS_START,
  paramTable,
  attentionGate,
  attentionUnet,
  averageDeepSupervision,
  countParams,
  createModel,
  multiResUnet,
  multiResWidths,
  resolveCommonConfig,
  resPath,
  saUnet,
  saUnetBase,
  unet,
  unetBase,
  unetPlusPlus,
  unetPlusPlusBase,
} from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { SMALL } from './model-tester.js';

beforeAll(() => useBackend('wasm'));

/** Names of the layers feeding layer `name`. */
function inputsOf(model: tfl.LayersModel, name: string): string[] {
  return model.getLayer(name).inboundNodes[0].inboundLayers.map((l) => l.name);
}

describe('registry', () => {
  it('lists the five models in the order of the paper', () => {
    expect(MODEL_NAMES).toEqual(['unet', 'unet-plus-plus', 'attention-unet', 'multires-unet', 'sa-unet']);
  });

  it('createModel builds the same network as the builder', () => {
    expect(createModel('unet', SMALL).layers.map((l) => l.name)).toEqual(unet(SMALL).layers.map((l) => l.name));
    expect(createModel('sa-unet', SMALL).countParams()).toBe(saUnet(SMALL).countParams());
  });

  it.each<[string, unknown, string]>([
    ['no config', undefined, "unet: expected a config object with at least 'inputShape', got undefined"],
    ['a config that is not an object', 32, "unet: expected a config object with at least 'inputShape', got 32"],
    ['dropout 1', { ...SMALL, dropout: 1 }, "unet: 'dropout' must be a number in [0, 1), got 1"],
    ['dropout as a string', { ...SMALL, dropout: '0.1' }, "unet: 'dropout' must be a number in [0, 1), got \"0.1\""],
    ['foreground prior 0', { ...SMALL, foregroundPrior: 0 }, "unet: 'foregroundPrior' must be a probability in (0, 1), got 0"],
    ['foreground prior 1', { ...SMALL, foregroundPrior: 1 }, "unet: 'foregroundPrior' must be a probability in (0, 1), got 1"],
    ['foreground prior NaN', { ...SMALL, foregroundPrior: NaN }, "unet: 'foregroundPrior' must be a probability in (0, 1), got null"],
    ['foreground prior with a softmax head', { ...SMALL, numClasses: 3, foregroundPrior: 0.1 },
      "unet: 'foregroundPrior' sets the bias of one sigmoid channel; with numClasses 3 the head is a softmax, so leave it out"],
    ['batch-norm momentum 1', { ...SMALL, batchNormMomentum: 1 }, "unet: 'batchNormMomentum' must be a number in [0, 1), got 1"],
    ['batchNorm not a boolean', { ...SMALL, batchNorm: 'yes' }, "unet: 'batchNorm' must be true or false, got \"yes\""],
    ['a name with a space', { ...SMALL, name: 'my net' }, "unet: 'name' must start with a letter and contain only letters, digits, '_', '.' or '-', got \"my net\""],
    ['channels null', { ...SMALL, inputShape: [16, 16, null] }, "unet: 'inputShape[2]' (channels) must be an integer >= 1, got null; only height and width may be null"],
  ])('%s: an error naming the option and what it takes', (_, config, message) => {
    expect(() => createModel('unet', config as never)).toThrow(message);
  });

  it('an unknown model name throws, listing the known ones', () => {
    expect(() => createModel('segnet' as 'unet', SMALL)).toThrow(
      'unknown model "segnet"; expected one of: unet, unet-plus-plus, attention-unet, multires-unet, sa-unet',
    );
  });
});

describe('SA-U-Net', () => {
  it('the default config at 256x256x1 lands within 10% of the paper\'s 491K parameters', () => {
    const params = createModel('sa-unet', { inputShape: [256, 256, 1] }).countParams();
    expect(params).toBe(456_459);
    expect(Math.abs(params - 491_000) / 491_000).toBeLessThan(0.1);
  });

  it('every convolution but the 1x1 head is scale-attentional, each followed by BN and ReLU', () => {
    const model = saUnet(SMALL);
    const convs = model.layers.filter((l) => /Conv2D/.test(l.getClassName()));
    expect(convs.map((l) => l.getClassName())).toEqual([...Array(convs.length - 1).fill('ScaleAttentionalConv2D'), 'Conv2D']);
    // 2 per block x (3 encoder + bottleneck + 3 decoder) + 3 up-convs
    expect(convs.length - 1).toBe(2 * 7 + 3);
    for (const conv of convs.slice(0, -1)) {
      const bn = model.getLayer(conv.name.replace(/_conv$/, '_bn'));
      expect(inputsOf(model, bn.name)).toEqual([conv.name]);
      expect(inputsOf(model, conv.name.replace(/_conv$/, '_relu'))).toEqual([bn.name]);
    }
  });

  it('scales and attentionKernelSize reach every layer; bad values are rejected', () => {
    const model = saUnet({ ...SMALL, scales: 2, attentionKernelSize: 5 });
    const config = model.getLayer('sa_unet_enc0_1_conv').getConfig();
    expect(config).toMatchObject({ scales: 2, attentionKernelSize: 5, filters: 8, useBias: false });
    expect(() => saUnet({ ...SMALL, baseFilters: 6 })).toThrow(/'baseFilters' \(6\) must be divisible by 'scales' \(4\)/);
  });

  it('useAttention: false builds every layer without its channel attention (the ablation), one 1-D kernel fewer each', () => {
    const sa = (m: tfl.LayersModel) => m.layers.filter((l) => l.getClassName() === 'ScaleAttentionalConv2D');
    const withAttention = saUnet(SMALL);
    const without = saUnet({ ...SMALL, useAttention: false });
    expect(sa(without).length).toBe(sa(withAttention).length);
    expect(sa(without).every((l) => l.getConfig().useAttention === false)).toBe(true);
    expect(sa(withAttention).every((l) => l.getConfig().useAttention === true)).toBe(true);
    const attention = withAttention.weights.filter((w) => w.originalName.endsWith('/attention_kernel'));
    expect(attention.length).toBe(sa(withAttention).length);
    expect(without.weights.some((w) => w.originalName.includes('attention'))).toBe(false);
    expect(withAttention.countParams() - without.countParams()).toBe(attention.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0));
    expect(() => saUnet({ ...SMALL, useAttention: 'no' as unknown as boolean })).toThrow(/sa-unet: 'useAttention' must be true or false, got "no"/);
  });
});

describe('U-Net++', () => {
  it('node X(i,j) receives every X(i,0..j-1) and the upsampled X(i+1,j-1)', () => {
    const model = unetPlusPlus(SMALL);
    const depth = SMALL.depth;
    let checked = 0;
    for (let j = 1; j <= depth; j++) {
      for (let i = 0; i + j <= depth; i++) {
        const expected = [...Array.from({ length: j }, (_, k) => `unet_plus_plus_x${i}_${k}_2_relu`), `unet_plus_plus_up${i + 1}_${j - 1}_relu`];
        expect(inputsOf(model, `unet_plus_plus_concat${i}_${j}`), `X(${i},${j})`).toEqual(expected);
        checked++;
      }
    }
    expect(checked).toBe(6); // depth 3: 3 + 2 + 1 nested nodes
  });

  it('deep supervision: one head per top node; the inference model averages them', async () => {
    const model = unetPlusPlus({ ...SMALL, deepSupervision: true });
    expect(model.outputs).toHaveLength(SMALL.depth);
    expect(model.outputs.map((o) => o.shape)).toEqual(Array(SMALL.depth).fill([null, 32, 32, 1]));
    const inference = averageDeepSupervision(model);
    const x = tf.randomUniform([1, 32, 32, 1]);
    const heads = model.predict(x) as tf.Tensor[];
    const mean = tf.div(tf.addN(heads), heads.length);
    const averaged = inference.predict(x) as tf.Tensor;
    const diff = await tf.max(tf.abs(tf.sub(mean, averaged))).data();
    expect(diff[0]).toBeLessThan(1e-6);
    expect(averageDeepSupervision(unetPlusPlus(SMALL)).outputs).toHaveLength(1);
    tf.dispose([x, ...heads, mean, averaged]);
  });

  it('deep supervision with a foreground prior: every head\'s bias starts at its logit', async () => {
    const model = unetPlusPlus({ ...SMALL, deepSupervision: true, foregroundPrior: 0.1 });
    const biases = model.layers.filter((l) => /_head\d+$/.test(l.name)).map((l) => l.getWeights()[1]);
    expect(biases).toHaveLength(SMALL.depth);
    for (const bias of biases) expect((await bias.data())[0]).toBeCloseTo(Math.log(0.1 / 0.9), 6);
  });
});

describe('Attention U-Net', () => {
  it('its gate, a building block of its own, names a bad argument', () => {
    const x = tfl.input({ shape: [8, 8, 4] });
    const g = tfl.input({ shape: [4, 4, 8] });
    expect(() => attentionGate(x, g, 0, 'gate')).toThrow('attentionGate: interChannels must be an integer >= 1, got 0');
    expect(() => attentionGate(x, g, 2, '')).toThrow("attentionGate: name must be a non-empty string (its layers' prefix), got \"\"");
    expect(() => attentionGate(x, g, 2, 'gate', 'cubic' as never)).toThrow("attentionGate: resample must be 'bilinear' or 'nearest', got \"cubic\"");
    expect(attentionGate(x, g, 2, 'gate').shape).toEqual([null, 8, 8, 4]);
  });

  it('every skip passes through an additive gate driven by the coarser decoder features', () => {
    const model = attentionUnet(SMALL);
    for (let level = 0; level < SMALL.depth; level++) {
      const gate = `attention_unet_gate${level}`;
      const coarser = level === SMALL.depth - 1 ? 'attention_unet_bottleneck_2_relu' : `attention_unet_dec${level + 1}_2_relu`;
      expect(inputsOf(model, `${gate}_theta`)).toEqual([`attention_unet_enc${level}_2_relu`]);
      expect(inputsOf(model, `${gate}_phi`)).toEqual([coarser]);
      expect(inputsOf(model, `${gate}_gated`)).toEqual([`attention_unet_enc${level}_2_relu`, `${gate}_resample`]);
      expect(inputsOf(model, `attention_unet_concat${level}`)[0]).toBe(`${gate}_gated`);
      const theta = model.getLayer(`${gate}_theta`).getConfig();
      expect(theta).toMatchObject({ kernelSize: [2, 2], strides: [2, 2], useBias: false });
      expect(model.getLayer(`${gate}_psi`).getConfig()).toMatchObject({ filters: 1, activation: 'sigmoid' });
    }
  });
});

describe('MultiRes U-Net', () => {
  it('ResPath, a building block of its own, names a bad argument and passes x through at length 0', () => {
    const x = tfl.input({ shape: [8, 8, 4] });
    const config = resolveCommonConfig({ inputShape: [8, 8, 4], depth: 1 }, 'multires-unet');
    expect(() => resPath(x, 0, 2, 'path', config)).toThrow('resPath: filters must be an integer >= 1, got 0');
    expect(() => resPath(x, 4, -1, 'path', config)).toThrow('resPath: length must be an integer >= 0 (0 passes x through), got -1');
    expect(resPath(x, 4, 0, 'path', config)).toBe(x);
  });

  it('block widths are W/6, W/3, W/2 of W = 1.67 U', () => {
    expect(multiResWidths(32)).toEqual([8, 17, 26]);
    expect(multiResWidths(64)).toEqual([17, 35, 53]);
    expect(() => multiResWidths(0)).toThrow('multiResWidths: u must be an integer >= 1, got 0');
    expect(() => multiResWidths(32, 0)).toThrow('multiResWidths: alpha must be a finite number > 0, got 0');
    const model = multiResUnet(SMALL);
    expect(model.getLayer('multires_unet_mres0_concat').outputShape).toEqual([null, 32, 32, multiResWidths(8).reduce((a, b) => a + b)]);
  });

  it('ResPaths have lengths depth, depth-1, ..., 1 and feed the decoder', () => {
    const model = multiResUnet(SMALL);
    for (let level = 0; level < SMALL.depth; level++) {
      const units = model.layers.filter((l) => new RegExp(`^multires_unet_respath${level}_\\d+_add$`).test(l.name));
      expect(units).toHaveLength(SMALL.depth - level);
      expect(inputsOf(model, `multires_unet_concat${level}`)[1]).toBe(`multires_unet_respath${level}_${SMALL.depth - level - 1}_out_bn`);
    }
  });
});

describe('headless bases', () => {
  it('return the decoder features, for a head of your own', () => {
    for (const base of [unetBase, unetPlusPlusBase, saUnetBase]) {
      const input = tfl.input({ shape: [32, 32, 3] });
      const features = base(input, { ...SMALL, inputShape: [32, 32, 3], name: `custom_${base.name}` });
      expect(features.shape).toEqual([null, 32, 32, SMALL.baseFilters]);
      const head = tfl.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax' }).apply(features) as tfl.SymbolicTensor;
      expect(tfl.model({ inputs: input, outputs: head }).outputs[0].shape).toEqual([null, 32, 32, 2]);
    }
  });
});

describe('parameter table', () => {
  it('the README shows the table the script generates at 256x256x1', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = readme.slice(readme.indexOf(PARAMS_START) + PARAMS_START.length, readme.indexOf(PARAMS_END)).trim();
    expect(shown).toBe(paramTable([256, 256, 1]));
  });

  it('counts every model at a small size, for both upsampling modes', () => {
    const rows = countParams([32, 32, 1], 'nearest-conv');
    expect(rows.map((r) => r.model)).toEqual([...MODEL_NAMES]);
    expect(rows.every((r) => r.trainable > 0 && r.trainable < r.total)).toBe(true);
  });
});
