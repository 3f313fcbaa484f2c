/**
 * The script-tag bundles (dist/<package>.min.js of the layer, the zoo, the metrics and the training
 * kernels, built here from source as `pnpm build` builds them) in a real browser: a page with tfjs'
 * own script tags and ours loads models saved in Node and predicts what Node predicts, builds the
 * zoo's models, computes the metrics Node computes, and trains on wasm. Skipped with a message where /usr/bin/chromium is missing,
 * unless SA_UNET_REQUIRE_BROWSER=1 (CI sets it).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test-utils/backends.js';
import { WASM_BINARIES, browserAvailable, copyTfjsDist, launchChromium, serveFolder, warnIfNoBrowser, type StaticServer } from '../test-utils/browser.js';
import { seededUniform, withSeed } from '../test-utils/numeric.js';
import { SCRIPT_TAG_GLOBALS, buildScriptTagBundle, scriptTagBundle, type ScriptTagPackage } from '../tsup.shared.js';
import { efficientChannelAttention, scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { createModel } from '@sa-unet/unet-zoo';
import { crossSectionalArea, dice, hausdorffDistance, rocAuc } from '@sa-unet/seg-metrics';

warnIfNoBrowser('the script-tag bundles\' browser test');

const root = fileURLToPath(new URL('..', import.meta.url));
/** tfjs' own script-tag builds by package, in load order (tf.min.js holds all three). */
const TFJS_SCRIPTS = { 'tfjs-core': 'tf-core.min.js', 'tfjs-layers': 'tf-layers.min.js', 'tfjs-backend-cpu': 'tf-backend-cpu.min.js' };
const TFJS = Object.values(TFJS_SCRIPTS);
/** tfjs' wasm backend as a script (global tf.wasm). */
const WASM_SCRIPT = 'tf-backend-wasm.min.js';
const PACKAGES = Object.keys(SCRIPT_TAG_GLOBALS) as ScriptTagPackage[];
const file = (pkg: ScriptTagPackage) => basename(scriptTagBundle(pkg).outfile);
const SIZE = 16;

type Globals = {
  tf: typeof tf & typeof tfl;
  scaleAttnConv: typeof import('@sa-unet/scale-attn-conv');
  unetZoo: typeof import('@sa-unet/unet-zoo');
  segMetrics: typeof import('@sa-unet/seg-metrics');
  saUnetKernels: typeof import('@sa-unet/tfjs-kernels');
  scriptErrors: string[];
};

/** A page that loads `scripts` in order with classic script tags and records what they throw. */
function page(scripts: string[]): string {
  return `<!doctype html><meta charset="utf-8"><title>script tags</title>
<script>window.scriptErrors = []; addEventListener('error', (e) => scriptErrors.push(e.message));</script>
${scripts.map((s) => `<script src="${s}"></script>`).join('\n')}`;
}

describe.runIf(browserAvailable)('the script-tag bundles in Chromium', () => {
  let out: string;
  const bundled: Record<string, string[]> = {};
  let server: StaticServer;
  let browser: Browser;
  let tab: Page;
  let image: number[];
  const expected: Record<string, number[]> = {};

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'script-tags-'));
    for (const pkg of PACKAGES) {
      const bundle = scriptTagBundle(pkg);
      bundled[pkg] = await buildScriptTagBundle({ ...bundle, entry: join(root, 'packages', pkg, bundle.entry), outfile: join(out, file(pkg)) });
    }
    for (const [pkg, script] of Object.entries(TFJS_SCRIPTS)) await copyTfjsDist(pkg, [script], out);
    await copyTfjsDist('tfjs-backend-wasm', [WASM_SCRIPT, ...WASM_BINARIES], out);
    const ours = PACKAGES.map(file);
    await writeFile(join(out, 'index.html'), page([...TFJS, ...ours]));
    await writeFile(join(out, 'train.html'), page([...TFJS, WASM_SCRIPT, ...ours]));
    await writeFile(join(out, 'no-tfjs.html'), page([file('scale-attn-conv')]));
    await writeFile(join(out, 'core-only.html'), page([TFJS_SCRIPTS['tfjs-core'], file('scale-attn-conv')]));
    await writeFile(join(out, 'zoo-without-layer.html'), page([...TFJS, file('unet-zoo')]));

    // Models a Node user saves: the layer's two classes with non-trivial BN statistics, and an SA-U-Net of the zoo,
    await useBackend('cpu');
    const input = tfl.input({ shape: [SIZE, SIZE, 1] });
    let x = scaleAttentionalConv2d({ filters: 8, name: 'sa' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: 'bn' }).apply(x) as tfl.SymbolicTensor;
    x = efficientChannelAttention({ name: 'eca' }).apply(tfl.layers.reLU().apply(x)) as tfl.SymbolicTensor;
    const layerModel = tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor });
    const bn = layerModel.getLayer('bn');
    bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.mul(seededUniform(w.shape, 10 + i, 0, 1), 0.5))));
    // Of any size: its InputSizeCheck layer is the zoo's own class, which loading needs the zoo bundle for.
    const zooModel = withSeed(4, () => createModel('sa-unet', { inputShape: [null, null, 1], baseFilters: 8, depth: 2 }));
    const x0 = seededUniform([1, SIZE, SIZE, 1], 3, 0, 1);
    image = Array.from(await x0.data());
    for (const [name, model] of [['layer', layerModel], ['zoo', zooModel]] as const) {
      await model.save(fileSystem(join(out, name)));
      expected[name] = Array.from(await (model.predict(x0) as tf.Tensor).data());
    }

    server = await serveFolder(out);
    browser = await launchChromium();
    tab = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it.each(PACKAGES)('%s.min.js bundles only its own package\'s source: tfjs and our other packages come from the page', (pkg) => {
    expect(bundled[pkg]!.length).toBeGreaterThan(1);
    for (const path of bundled[pkg]!) expect(relative(root, join(process.cwd(), path)), path).toMatch(new RegExp(`^packages/${pkg}/src/`));
  });

  it('after tfjs\' script tags, tf.loadLayersModel loads models saved in Node (the layer\'s, the zoo\'s) and predicts as Node does', async () => {
    await tab.goto(server.url);
    const result = await tab.evaluate(async ([pixels, size]) => {
      const g = globalThis as unknown as Globals;
      const predictions: Record<string, number[]> = {};
      const classes: string[] = [];
      let instances = 0;
      for (const name of ['layer', 'zoo']) {
        const model = await g.tf.loadLayersModel(`${name}/model.json`);
        predictions[name] = Array.from(await (model.predict(g.tf.tensor4d(pixels, [1, size, size, 1])) as tf.Tensor).data());
        classes.push(...model.layers.map((l) => l.getClassName()));
        instances += model.layers.filter((l) => l instanceof g.scaleAttnConv.ScaleAttentionalConv2D).length;
      }
      return { errors: g.scriptErrors, backend: g.tf.getBackend(), predictions, classes, instances };
    }, [image, SIZE] as const);
    expect(result.errors).toEqual([]);
    expect(result.backend).toBe('cpu');
    expect(result.classes).toEqual(expect.arrayContaining(['ScaleAttentionalConv2D', 'EfficientChannelAttention', 'SaUnetInputSizeCheck']));
    expect(result.instances).toBeGreaterThan(1); // the zoo's layers are the layer bundle's class: one registry
    for (const name of ['layer', 'zoo']) {
      expect(result.predictions[name]).toHaveLength(SIZE * SIZE);
      const worst = Math.max(...result.predictions[name]!.map((v, i) => Math.abs(v - expected[name]![i]!)));
      expect(worst, name).toBeLessThan(1e-5);
    }
  });

  it('builds layers and the zoo\'s models in the page, with the parameter counts of Node', async () => {
    await tab.goto(server.url);
    const built = await tab.evaluate(() => {
      const g = globalThis as unknown as Globals;
      const layer = g.scaleAttnConv.scaleAttentionalConv2d({ filters: 4, scales: 2 });
      const shape = (layer.apply(g.tf.input({ shape: [8, 8, 2] })) as tfl.SymbolicTensor).shape;
      const params = Object.fromEntries(g.unetZoo.MODEL_NAMES.map((name) => [name, g.unetZoo.createModel(name, { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 }).countParams()]));
      return { shape, params };
    });
    expect(built.shape).toEqual([null, 8, 8, 4]);
    for (const [name, count] of Object.entries(built.params)) {
      expect(count, name).toBe(createModel(name as 'unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 }).countParams());
    }
  });

  it('computes the metrics Node computes', async () => {
    const [w, h] = [12, 10];
    const scores = Array.from({ length: w * h }, (_, i) => ((i * 37) % 101) / 100);
    const truth = Array.from({ length: w * h }, (_, i) => (Math.hypot((i % w) - 5, Math.floor(i / w) - 4) < 3.5 ? 1 : 0));
    const pred = { data: scores, width: w, height: h };
    const mask = { data: truth, width: w, height: h };
    await tab.goto(server.url);
    const inPage = await tab.evaluate(([p, t]) => {
      const m = (globalThis as unknown as Globals).segMetrics;
      return [m.dice(p, t), m.hausdorffDistance(p, t, { percentile: 95 }), m.rocAuc(p, t), m.crossSectionalArea(t, { dpi: 150 })];
    }, [pred, mask] as const);
    expect(inPage).toEqual([dice(pred, mask), hausdorffDistance(pred, mask, { percentile: 95 }), rocAuc(pred, mask), crossSectionalArea(mask, { dpi: 150 })]);
  });

  it('trains the zoo\'s SA-U-Net on wasm in the page with the kernels\' bundle: the loss falls, no tensor leaks', async () => {
    await tab.goto(`${server.url}train.html`);
    const run = await tab.evaluate(async () => {
      const g = globalThis as unknown as Globals & { tf: { wasm: { setWasmPaths(prefix: string): void } } };
      g.tf.wasm.setWasmPaths(new URL('./', location.href).href);
      if (!(await g.tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
      g.saUnetKernels.registerTrainingKernels(); // stock wasm has no convolution gradients
      const model = g.unetZoo.createModel('sa-unet', { inputShape: [16, 16, 1], baseFilters: 8, depth: 2 });
      model.compile({ optimizer: g.saUnetKernels.fusedAdam(5e-3), loss: g.segMetrics.diceLoss });
      const x = g.tf.randomUniform([4, 16, 16, 1], 0, 1, 'float32', 1);
      const y = g.tf.cast(g.tf.greater(x, 0.6), 'float32');
      const first = (await model.trainOnBatch(x, y)) as number; // creates Adam's moments
      const tensors = g.tf.memory().numTensors;
      let last = first;
      for (let step = 0; step < 5; step++) last = (await model.trainOnBatch(x, y)) as number;
      return { errors: g.scriptErrors, backend: g.tf.getBackend(), first, last, leaked: g.tf.memory().numTensors - tensors };
    });
    expect(run.errors).toEqual([]);
    expect(run.backend).toBe('wasm');
    expect(run.last).toBeLessThan(run.first);
    expect(run.leaked).toBe(0);
  });

  it.each([
    ['no-tfjs.html', 'scale-attn-conv.min.js needs TensorFlow.js 4.x loaded first', 'no tf.tidy on this page'],
    ['core-only.html', 'scale-attn-conv.min.js needs TensorFlow.js 4.x loaded first', 'tf-layers.min.js after tf-core.min.js'],
    ['zoo-without-layer.html', 'unet-zoo.min.js needs @sa-unet/scale-attn-conv loaded first', 'no scaleAttnConv.ScaleAttentionalConv2D on this page'],
  ])('on %s the bundle says which script is missing', async (name, needs, why) => {
    await tab.goto(`${server.url}${name}`);
    const errors = await tab.evaluate(() => (globalThis as unknown as Globals).scriptErrors);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(needs);
    expect(errors[0]).toContain(why);
  });
});
