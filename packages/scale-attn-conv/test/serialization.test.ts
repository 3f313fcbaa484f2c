import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FORWARD_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { saveToMemory } from '../../../test-utils/models.js';
import { seededUniform } from '../../../test-utils/numeric.js';
import {
  EfficientChannelAttention,
  ScaleAttentionalConv2D,
  efficientChannelAttention,
  scaleAttentionalConv2d,
} from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sa-conv-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('getConfig round trip', () => {
  it('default config, compared whole', () => {
    const layer = scaleAttentionalConv2d({ filters: 16, name: 'sa1' });
    const config = layer.getConfig();
    expect(config).toEqual({
      filters: 16,
      scales: 4,
      kernelSize: 3,
      stageFilters: 4,
      useAttention: true,
      attentionKernelSize: 'auto',
      useBias: true,
      dilationRate: 1,
      padding: 'same',
      affine: false,
      activation: 'linear',
      kernelInitializer: { className: 'VarianceScaling', config: { scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: null } },
      biasInitializer: { className: 'Zeros', config: {} },
      kernelRegularizer: null,
      biasRegularizer: null,
      kernelConstraint: null,
      biasConstraint: null,
      name: 'sa1',
      trainable: true,
    });
    const copy = ScaleAttentionalConv2D.fromConfig(ScaleAttentionalConv2D, config) as ScaleAttentionalConv2D;
    expect(copy.getConfig()).toEqual(config);
  });

  it('every option set, compared whole', () => {
    const layer = scaleAttentionalConv2d({
      filters: 10, scales: 2, kernelSize: 5, stageFilters: 3, useAttention: false, attentionKernelSize: 7,
      useBias: false, dilationRate: 2, affine: true, activation: 'relu', kernelInitializer: 'heNormal', biasInitializer: tfl.initializers.constant({ value: 0.5 }),
      kernelRegularizer: tfl.regularizers.l2({ l2: 0.01 }), biasRegularizer: 'l1l2', kernelConstraint: 'maxNorm',
      biasConstraint: tfl.constraints.nonNeg(), name: 'sa2', trainable: false,
    });
    const config = layer.getConfig();
    const copy = ScaleAttentionalConv2D.fromConfig(ScaleAttentionalConv2D, config) as ScaleAttentionalConv2D;
    expect(copy.getConfig()).toEqual(config);
    expect(config).toMatchObject({ filters: 10, scales: 2, kernelSize: 5, stageFilters: 3, useAttention: false, attentionKernelSize: 7, useBias: false,
      dilationRate: 2, affine: true, activation: 'relu', name: 'sa2', trainable: false });
    expect(config.kernelRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(config.biasConstraint).toEqual({ className: 'NonNeg', config: {} });
    expect(config.kernelInitializer).toEqual({ className: 'VarianceScaling', config: { scale: 2, mode: 'fanIn', distribution: 'normal', seed: null } });
  });

  it('EfficientChannelAttention, compared whole', () => {
    const layer = efficientChannelAttention({ kernelSize: 5, name: 'eca' });
    const config = layer.getConfig();
    expect(config).toEqual({
      kernelSize: 5, gamma: 2, b: 1,
      kernelInitializer: { className: 'VarianceScaling', config: { scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: null } },
      kernelRegularizer: null, kernelConstraint: null, name: 'eca', trainable: true,
    });
    const copy = EfficientChannelAttention.fromConfig(EfficientChannelAttention, config) as EfficientChannelAttention;
    expect(copy.getConfig()).toEqual(config);
  });
});

function smallModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 2] });
  let x = scaleAttentionalConv2d({ filters: 8, name: 'sa_a', biasInitializer: 'randomNormal' }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'bn' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ name: 'relu' }).apply(x) as tfl.SymbolicTensor;
  x = scaleAttentionalConv2d({ filters: 6, scales: 3, dilationRate: 2, useBias: false, name: 'sa_b' }).apply(x) as tfl.SymbolicTensor;
  x = efficientChannelAttention({ name: 'eca' }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'head' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'small' });
}

describe.each(FORWARD_BACKENDS)('save and load on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it('to a folder on disk (model.json + weights.bin) and back: identical predictions', async () => {
    const model = smallModel();
    const x = seededUniform([2, 8, 8, 2], 5);
    const before = model.predict(x) as tf.Tensor;
    const folder = join(dir, `disk-${backend}`);
    await model.save(fileSystem(folder));
    expect((await readdir(folder)).sort()).toEqual(['model.json', 'weights.bin']);

    const loaded = await tfl.loadLayersModel(fileSystem(folder));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    expect(loaded.layers[1].getConfig()).toEqual(model.layers[1].getConfig());
    expect(loaded.layers[4].getConfig()).toEqual(model.layers[4].getConfig());
    const after = loaded.predict(x) as tf.Tensor;
    expect(Array.from(await after.data())).toEqual(Array.from(await before.data()));
    // Loading by the path of model.json works too.
    const again = await tfl.loadLayersModel(fileSystem(join(folder, 'model.json')));
    expect(again.countParams()).toBe(model.countParams());
    tf.dispose([x, before, after]);
  });

  it('in memory and back: identical predictions', async () => {
    const model = smallModel();
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
    const x = seededUniform([1, 8, 8, 2], 6);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([x, a, b]);
  });
});

describe('fileSystem IOHandler errors', () => {
  it('names the missing file', async () => {
    await expect(tfl.loadLayersModel(fileSystem(join(dir, 'nothing-here')))).rejects.toThrow(/cannot read .*nothing-here\/model\.json/);
  });

  it('names a truncated weights file, with the bytes it holds and the bytes the manifest describes', async () => {
    await useBackend('cpu');
    const model = smallModel();
    const folder = join(dir, 'truncated');
    await model.save(fileSystem(folder));
    const weightsPath = join(folder, 'weights.bin');
    const full = (await readFile(weightsPath)).byteLength;
    expect(full).toBe(4 * model.countParams());
    await writeFile(weightsPath, (await readFile(weightsPath)).subarray(0, full - 8));
    await expect(tfl.loadLayersModel(fileSystem(folder))).rejects.toThrow(
      `fileSystem: weights file ${weightsPath} holds ${full - 8} bytes, but the weights manifest of ${join(folder, 'model.json')} ` +
        `describes ${full}: the file is truncated or belongs to another model`);
  });

  it.each([
    ['not JSON', 'not-json', '{ "modelTopology": ', 'is not valid JSON'],
    ['JSON without a topology', 'no-topology', '{ "weightsManifest": [] }', 'has no \'modelTopology\': not a tfjs model.json'],
  ])('names a model.json that is %s', async (_, name, text, problem) => {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.json'), text);
    await expect(tfl.loadLayersModel(fileSystem(folder))).rejects.toThrow(`fileSystem: ${join(folder, 'model.json')} ${problem}`);
  });

  it('names a missing weights file and the model.json that lists it', async () => {
    await useBackend('cpu');
    const folder = join(dir, 'no-weights');
    await smallModel().save(fileSystem(folder));
    await rm(join(folder, 'weights.bin'));
    await expect(tfl.loadLayersModel(fileSystem(folder))).rejects.toThrow(
      `fileSystem: cannot read weights file ${join(folder, 'weights.bin')} named in ${join(folder, 'model.json')}`);
  });

  it('saving where the folder is a file, or model.json a folder: an error naming it, no temporary file left', async () => {
    await useBackend('cpu');
    const model = smallModel();
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a folder');
    await expect(model.save(fileSystem(join(file, 'model')))).rejects.toThrow(`fileSystem: cannot create the folder ${join(file, 'model')}`);
    const folder = join(dir, 'json-is-a-folder');
    await mkdir(join(folder, 'model.json'), { recursive: true });
    await expect(model.save(fileSystem(folder))).rejects.toThrow(`fileSystem: cannot write ${join(folder, 'model.json')}`);
    expect((await readdir(folder)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects an empty path', () => {
    expect(() => fileSystem('')).toThrow(/'path' must be a non-empty folder path/);
  });
});

describe('in a browser bundle', () => {
  it('a saved model loads with only tfjs-core, tfjs-layers, a backend and this package', async () => {
    await useBackend('cpu');
    const model = smallModel();
    const folder = join(dir, 'for-browser');
    await model.save(fileSystem(folder));
    const x = seededUniform([1, 8, 8, 2], 9);
    const expected = await (model.predict(x) as tf.Tensor).data();

    // Bundle for the browser platform: any Node built-in reached from the package fails the build.
    const bundle = join(dir, 'browser-bundle.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/browser-entry.ts', import.meta.url))],
      bundle: true, platform: 'browser', format: 'esm', outfile: bundle, logLevel: 'silent',
      // As in a page: tfjs must not see Node's `process` and pick its Node platform.
      define: { process: 'undefined' },
    });
    // A fresh process, so that no tfjs state of this test process is shared with the bundle.
    const runner = join(dir, 'run-bundle.mjs');
    await writeFile(runner, [
      `import { readFile } from 'node:fs/promises';`,
      // tfjs then takes this for a web worker and uses its browser platform (fetch, TextEncoder).
      `globalThis.WorkerGlobalScope = class WorkerGlobalScope {};`,
      `const { loadAndPredict } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
      `const [folder, inputFile] = process.argv.slice(2);`,
      `const input = await readFile(inputFile, 'utf8');`,
      `const modelJSON = JSON.parse(await readFile(folder + '/model.json', 'utf8'));`,
      `const w = await readFile(folder + '/weights.bin');`,
      `const { data, shape } = JSON.parse(input);`,
      `const r = await loadAndPredict(modelJSON, w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength), { data: Float32Array.from(data), shape });`,
      `process.stdout.write(JSON.stringify({ data: Array.from(r.data), layerClasses: r.layerClasses }));`,
    ].join('\n'));
    const inputFile = join(dir, 'input.json');
    await writeFile(inputFile, JSON.stringify({ data: Array.from(await x.data()), shape: x.shape }));
    const { stdout } = await promisify(execFile)(process.execPath, [runner, folder, inputFile]);
    const result = JSON.parse(stdout) as { data: number[]; layerClasses: string[] };
    expect(result.layerClasses).toContain('ScaleAttentionalConv2D');
    expect(result.layerClasses).toContain('EfficientChannelAttention');
    expect(result.data).toEqual(Array.from(expected));
  });
});
