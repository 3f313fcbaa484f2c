/**
 * The script-tag bundle (dist/scale-attn-conv.min.js, built here from source as `pnpm build`
 * builds it) in a real browser: a page with tfjs' own script tags and ours loads a model saved in
 * Node and predicts what Node predicts. Skipped with a message where /usr/bin/chromium is missing,
 * unless SA_UNET_REQUIRE_BROWSER=1 (CI sets it).
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../test-utils/backends.js';
import { browserAvailable, launchChromium, serveFolder, warnIfNoBrowser, type StaticServer } from '../../../test-utils/browser.js';
import { seededUniform } from '../../../test-utils/numeric.js';
import { buildScriptTagBundle } from '../../../tsup.shared.js';
import { efficientChannelAttention, scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { SCRIPT_TAG_BUNDLE } from '../tsup.config.js';

warnIfNoBrowser('the script-tag bundle\'s browser test');

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
/** tfjs' own script-tag builds, in load order (tf.min.js holds all three). */
const TFJS_SCRIPTS = ['tfjs-core/dist/tf-core.min.js', 'tfjs-layers/dist/tf-layers.min.js', 'tfjs-backend-cpu/dist/tf-backend-cpu.min.js'];
const BUNDLE = 'scale-attn-conv.min.js';
const SIZE = 16;

/** A page that loads `scripts` in order with classic script tags and records what they throw. */
function page(scripts: string[]): string {
  return `<!doctype html><meta charset="utf-8"><title>script tags</title>
<script>window.scriptErrors = []; addEventListener('error', (e) => scriptErrors.push(e.message));</script>
${scripts.map((s) => `<script src="${s}"></script>`).join('\n')}`;
}

describe.runIf(browserAvailable)('the script-tag bundle in Chromium', () => {
  let out: string;
  let bundled: string[];
  let server: StaticServer;
  let browser: Browser;
  let tab: Page;
  let image: number[];
  let expected: Float32Array;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'script-tag-'));
    bundled = await buildScriptTagBundle({ ...SCRIPT_TAG_BUNDLE, entry: join(packageDir, SCRIPT_TAG_BUNDLE.entry), outfile: join(out, BUNDLE) });
    const tfjs = TFJS_SCRIPTS.map((path) => path.split('/').pop()!);
    for (const [i, path] of TFJS_SCRIPTS.entries()) {
      const [pkg, ...rest] = path.split('/');
      await copyFile(join(dirname(require.resolve(`@tensorflow/${pkg}/package.json`)), ...rest), join(out, tfjs[i]!));
    }
    await writeFile(join(out, 'index.html'), page([...tfjs, BUNDLE]));
    await writeFile(join(out, 'no-tfjs.html'), page([BUNDLE]));
    await writeFile(join(out, 'core-only.html'), page([tfjs[0]!, BUNDLE]));

    // The model a Node user saves: both of the package's layer classes, and non-trivial BN statistics.
    await useBackend('cpu');
    const input = tfl.input({ shape: [SIZE, SIZE, 1] });
    let x = scaleAttentionalConv2d({ filters: 8, name: 'sa' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: 'bn' }).apply(x) as tfl.SymbolicTensor;
    x = efficientChannelAttention({ name: 'eca' }).apply(tfl.layers.reLU().apply(x)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor });
    const bn = model.getLayer('bn');
    bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.mul(seededUniform(w.shape, 10 + i, 0, 1), 0.5))));
    await model.save(fileSystem(join(out, 'model')));
    const x0 = seededUniform([1, SIZE, SIZE, 1], 3, 0, 1);
    image = Array.from(await x0.data());
    expected = (await (model.predict(x0) as tf.Tensor).data()) as Float32Array;

    server = await serveFolder(out);
    browser = await launchChromium();
    tab = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('bundles only the package\'s own source: tfjs comes from the page', () => {
    expect(bundled.length).toBeGreaterThan(3);
    for (const path of bundled) expect(relative(packageDir, join(process.cwd(), path)), path).toMatch(/^src\//);
  });

  it('after tfjs\' script tags, tf.loadLayersModel loads a model saved in Node and predicts as Node does', async () => {
    await tab.goto(server.url);
    const result = await tab.evaluate(async ([pixels, size]) => {
      const g = globalThis as unknown as { tf: typeof tf & typeof tfl; scaleAttnConv: typeof import('@sa-unet/scale-attn-conv'); scriptErrors: string[] };
      const model = await g.tf.loadLayersModel('model/model.json');
      const y = model.predict(g.tf.tensor4d(pixels, [1, size, size, 1])) as tf.Tensor;
      return {
        errors: g.scriptErrors,
        backend: g.tf.getBackend(),
        exports: Object.keys(g.scaleAttnConv).sort(),
        classes: model.layers.map((l) => l.getClassName()),
        instances: model.layers.filter((l) => l instanceof g.scaleAttnConv.ScaleAttentionalConv2D || l instanceof g.scaleAttnConv.EfficientChannelAttention).length,
        prediction: Array.from(await y.data()),
      };
    }, [image, SIZE] as const);
    expect(result.errors).toEqual([]);
    expect(result.backend).toBe('cpu');
    expect(result.exports).toEqual(expect.arrayContaining(['ScaleAttentionalConv2D', 'scaleAttentionalConv2d', 'EfficientChannelAttention', 'efficientChannelAttention', 'scaleAttentionalParamCount']));
    expect(result.classes).toEqual(expect.arrayContaining(['ScaleAttentionalConv2D', 'EfficientChannelAttention']));
    expect(result.instances).toBe(2);
    expect(result.prediction).toHaveLength(SIZE * SIZE);
    const worst = Math.max(...result.prediction.map((v, i) => Math.abs(v - expected[i]!)));
    expect(worst).toBeLessThan(1e-5);
  });

  it('builds models in the page with the global scaleAttnConv', async () => {
    await tab.goto(server.url);
    const shape = await tab.evaluate(() => {
      const g = globalThis as unknown as { tf: typeof tf & typeof tfl; scaleAttnConv: typeof import('@sa-unet/scale-attn-conv') };
      const input = g.tf.input({ shape: [8, 8, 2] });
      return (g.scaleAttnConv.scaleAttentionalConv2d({ filters: 4, scales: 2 }).apply(input) as tfl.SymbolicTensor).shape;
    });
    expect(shape).toEqual([null, 8, 8, 4]);
  });

  it.each([
    ['no-tfjs.html', 'no tf.tidy on this page'],
    ['core-only.html', 'tf-layers.min.js after tf-core.min.js'],
  ])('on %s the bundle says which tfjs script is missing', async (file, words) => {
    await tab.goto(`${server.url}${file}`);
    const errors = await tab.evaluate(() => (globalThis as unknown as { scriptErrors: string[] }).scriptErrors);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${BUNDLE} needs TensorFlow.js 4.x loaded first`);
    expect(errors[0]).toContain(words);
  });
});
