/**
 * The demo end to end in a real browser: Debian's Chromium driven by Playwright loads the built
 * page from a local server, a real ultrasound image from ../shared is uploaded, and the page must
 * draw a contour and show the same cross-sectional area as `sa-unet-bench segment` computes in
 * Node for that image. Skipped with a message where /usr/bin/chromium is missing, unless
 * SA_UNET_REQUIRE_BROWSER=1 (set by CI, which installs it). The dataset is read from
 * ../shared/datasets/usgra-nerve beside the clone, or from SA_UNET_USGRA_DIR.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGrayImage, segmentImage } from '@sa-unet/bench';
import { maskAtImageSize } from '@sa-unet/unet-zoo';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { useBackend } from '../../../test-utils/backends.js';
import { browserAvailable as available, browserRequired as required, launchChromium, serveFolder, warnIfNoBrowser, type StaticServer } from '../../../test-utils/browser.js';

warnIfNoBrowser('browser test');

const demo = fileURLToPath(new URL('..', import.meta.url));
const dataset = join(
  process.env.SA_UNET_USGRA_DIR ?? fileURLToPath(new URL('../../../../shared/datasets/usgra-nerve/', import.meta.url)),
  'images',
);

/** A usgra-nerve image's path; where it is missing, an error saying where the tests look for it. */
function usgraImage(name: string): string {
  const image = join(dataset, name);
  if (!existsSync(image)) {
    throw new Error(`the usgra-nerve image ${image} is missing: clone beside ../shared or set SA_UNET_USGRA_DIR to the dataset folder`);
  }
  return image;
}

let out: string;
let server: StaticServer;
let url: string;
let browser: Browser;

describe('chromium', () => {
  it.runIf(required)('is installed where SA_UNET_REQUIRE_BROWSER=1', () => {
    expect(available).toBe(true);
  });
});

describe.runIf(available)('the demo in Chromium', () => {
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'demo-'));
    await build({ root: demo, configFile: join(demo, 'vite.config.ts'), logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
    server = await serveFolder(out);
    url = server.url;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  // WebAssembly, and WebGL (which headless Chromium runs on SwiftShader): the backends a page
  // falls back to without WebGPU, whose kernels tfjs-kernels' browser test covers.
  // And WebGPU (SwiftShader's Vulkan there), where the page replays each forward pass (replayPredict).
  it.each(['wasm', 'webgl', 'webgpu'])('segments a real ultrasound image on %s: a contour, and the area sa-unet-bench computes for it', async (backend) => {
    const gpuBrowser = backend === 'webgpu' ? await launchChromium({ webgpu: true }) : null;
    const page = await (gpuBrowser ?? browser).newPage({ viewport: { width: 1100, height: 820 } });
    if (gpuBrowser !== null) {
      await page.goto(`${url}?backend=none`); // any page of the origin, to ask for an adapter
      const adapter = await page.evaluate(async () => (await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()) != null);
      if (!adapter) {
        await gpuBrowser.close();
        if (process.env.SA_UNET_REQUIRE_WEBGPU === '1') throw new Error('this Chromium has no WebGPU adapter (SA_UNET_REQUIRE_WEBGPU=1)');
        console.warn('the demo\'s webgpu case skipped: this Chromium has no WebGPU adapter');
        return;
      }
    }
    const messages: string[] = [];
    page.on('pageerror', (e) => messages.push(e.message));
    await page.goto(`${url}?backend=${backend}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
    expect(await page.textContent('#backend')).toBe(backend);
    // Ready only after the model's first run, which compiles the backend's programs.
    expect(await page.textContent('#status')).toMatch(new RegExp(`^Ready: the model runs on ${backend} \\(first run \\d+\\.\\d s\\)\\.$`));

    const image = usgraImage('0003.png');
    await page.setInputFiles('#file', image);
    await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
    const shown = Number(await page.textContent('#csa'));
    const contourPixels = await page.evaluate(() => {
      const canvas = document.getElementById('view') as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === 255 && data[i + 1] === 40 && data[i + 2] === 40) n++;
      return n;
    });
    if (backend === 'wasm') await page.screenshot({ path: process.env.SA_UNET_SCREENSHOT ?? join(out, 'demo.png'), fullPage: true });

    // The bench's own computation, in Node, for the same image and pixel size (HM70A, 150 DPI).
    await useBackend('wasm');
    const model = await tfl.loadLayersModel(fileSystem(join(demo, 'public', 'model')));
    const expected = await segmentImage(model, await readGrayImage(image), { dpi: 150 });
    expect(expected.maskPixels).toBeGreaterThan(0);
    expect(contourPixels).toBeGreaterThan(20);
    expect(Math.abs(shown - expected.csaMm2!)).toBeLessThanOrEqual(Math.max(0.02 * expected.csaMm2!, 0.01));

    // The mask offered for download: a PNG of the image's size, the mask the bench's --masks writes.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-mask')]);
    expect(download.suggestedFilename()).toBe('0003-mask.png');
    const saved = join(out, `mask-${backend}.png`);
    await download.saveAs(saved);
    const [mask, original] = [await readGrayImage(saved), await readGrayImage(image)];
    expect([mask.width, mask.height]).toEqual([original.width, original.height]);
    expect(mask.data.every((v) => Math.abs(v) < 1e-6 || Math.abs(v - 1) < 1e-6)).toBe(true); // black or white
    const inNode = await maskAtImageSize(expected, mask.width, mask.height);
    const foreground = inNode.reduce((a, b) => a + b, 0);
    const differing = inNode.reduce((n, m, i) => n + (m !== (mask.data[i]! > 0.5 ? 1 : 0) ? 1 : 0), 0);
    expect(foreground).toBeGreaterThan(0);
    // (0, 1 and 1 of 11,345 on wasm, WebGL and WebGPU, 2026-12-07: float rounding at the threshold.)
    expect(differing, `${differing} of ${foreground} nerve pixels differ`).toBeLessThanOrEqual(0.005 * foreground);
    expect(messages).toEqual([]);
    await gpuBrowser?.close();
  }, 240_000);

  it('works offline once loaded: segmenting an image requests nothing (on wasm, whose binaries are fetched)', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}?backend=wasm`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.context().setOffline(true);
    try {
      await page.setInputFiles('#file', usgraImage('0003.png'));
      await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
      expect(Number(await page.textContent('#csa'))).toBeGreaterThan(0);
      expect(requests.filter((r) => !r.startsWith('blob:') && !r.startsWith('data:'))).toEqual([]);
    } finally {
      await page.context().setOffline(false);
      await page.close();
    }
  }, 120_000);

  it('still shows the area where the mask\'s PNG cannot be made, and says why there is no download', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      OffscreenCanvas.prototype.convertToBlob = () => Promise.reject(new Error('no PNG encoder here'));
    });
    await page.goto(`${url}?backend=wasm`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
    await page.setInputFiles('#file', usgraImage('0003.png'));
    await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
    expect(Number(await page.textContent('#csa'))).toBeGreaterThan(0);
    expect(await page.textContent('#error')).toBe('The mask of 0003.png could not be prepared for download: no PNG encoder here');
    expect(await page.isHidden('#download-mask')).toBe(true);
    await page.close();
  }, 120_000);

  it('segments the image last chosen while the model was loading, once it is ready', async () => {
    const page = await browser.newPage();
    // The model's weights are held back until two images have been chosen, so the page is surely still loading.
    let chosen!: () => void;
    const bothChosen = new Promise<void>((ok) => { chosen = ok; });
    await page.route('**/model/model.json', async (route) => {
      await bothChosen;
      await route.continue();
    });
    await page.goto(`${url}?backend=wasm`);
    await page.setInputFiles('#file', usgraImage('0001.png'));
    await page.setInputFiles('#file', usgraImage('0003.png'));
    expect(await page.textContent('#status')).toBe('0003.png will be segmented once the model is ready…');
    chosen();
    await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
    expect(await page.textContent('#status')).toMatch(/^0003\.png: \d+x\d+/);
    expect(await page.textContent('#error')).toBe('');
    expect(Number(await page.textContent('#csa'))).toBeGreaterThan(0);
    await page.close();
  }, 120_000);

  it('opened from disk (file://), where browsers load no module script, says how to serve it instead of loading forever', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
    await page.waitForSelector('body[data-state="unavailable"]', { timeout: 30_000 });
    expect(await page.textContent('#status')).toBe('The demo cannot run from a file opened on disk: browsers load its code only over HTTP.');
    expect(await page.textContent('#error')).toMatch(/^Serve its folder instead, e\.g\. run python3 -m http\.server 8080 in the folder of this page/);
    await page.close();
  }, 60_000);

  it('says so when the file is not an image', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
    const notes = join(out, 'notes.txt');
    await writeFile(notes, 'not an image');
    await page.setInputFiles('#file', notes);
    await expect.poll(() => page.textContent('#error')).toMatch(/notes\.txt is not a PNG or JPEG image/);
  }, 120_000);
});
