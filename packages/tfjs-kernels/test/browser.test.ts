/**
 * The training kernels in a real browser: test/browser/page.ts, bundled for the browser with
 * esbuild as a web app would bundle @sa-unet/tfjs-kernels, runs in headless Chromium, on its
 * WebGPU (SwiftShader, Chromium's Vulkan on the CPU, where no GPU is at hand) and on WebAssembly,
 * and trains on WebGL too (stock tfjs kernels; SwiftShader's GL) as on WebAssembly.
 * Skipped with a message where /usr/bin/chromium is missing, unless SA_UNET_REQUIRE_BROWSER=1; on
 * wasm only, with a message, where Chromium has no WebGPU adapter, unless SA_UNET_REQUIRE_WEBGPU=1
 * (CI sets both).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WASM_BINARIES, browserAvailable, copyTfjsDist, launchChromium, serveFolder, warnIfNoBrowser, type StaticServer } from '../../../test-utils/browser.js';
import { CASES, runsOn } from './parity-cases.js';
import type { KernelChecks, ParityResult, ReplayResult, TrainingReplayResult, TrainingResult } from './browser/page.js';

warnIfNoBrowser('the kernels\' browser test');
const webgpuRequired = process.env.SA_UNET_REQUIRE_WEBGPU === '1';

const packages = fileURLToPath(new URL('../../', import.meta.url));

/** Bundles the page into `out` with the workspace packages from their TypeScript source. */
async function buildPage(out: string): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('./browser/page.ts', import.meta.url))],
    outfile: join(out, 'page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
    plugins: [{
      name: 'workspace-sources',
      setup(b) {
        b.onResolve({ filter: /^@sa-unet\/[^/]+$/ }, (args) => ({ path: join(packages, args.path.slice('@sa-unet/'.length), 'src', 'index.ts') }));
      },
    }],
  });
  await writeFile(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><title>kernels</title><script type="module" src="page.js"></script>');
  await copyTfjsDist('tfjs-backend-wasm', WASM_BINARIES, join(out, 'wasm'));
}

type Checks = { kernelChecks: KernelChecks };
type CheckName = keyof KernelChecks;

describe.runIf(browserAvailable)('@sa-unet/tfjs-kernels in Chromium', () => {
  let out: string;
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  /** Runs kernelChecks[name](...args) in page `p`. */
  const callIn = <K extends CheckName>(p: Page, name: K, ...args: Parameters<KernelChecks[K]>): Promise<Awaited<ReturnType<KernelChecks[K]>>> =>
    p.evaluate(([n, a]) => ((globalThis as unknown as Checks).kernelChecks[n] as (...v: unknown[]) => unknown)(...a), [name, args] as const) as never;
  /** Runs kernelChecks[name](...args) in the page. */
  const call = <K extends CheckName>(name: K, ...args: Parameters<KernelChecks[K]>) => callIn(page, name, ...args);
  /** Whether this Chromium has a WebGPU adapter (SwiftShader where no GPU is at hand). */
  let webgpu = false;
  const backends = () => (webgpu ? ['webgpu', 'wasm'] : ['wasm']);

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'kernels-page-'));
    await buildPage(out);
    server = await serveFolder(out);
    browser = await launchChromium({ webgpu: true });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => 'kernelChecks' in globalThis, undefined, { timeout: 60_000 });
    webgpu = await call('adapter');
    if (!webgpu && !webgpuRequired) console.warn('the kernels\' browser test runs on wasm only: this Chromium has no WebGPU adapter');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('registers the kernels for webgpu, wasm and cpu; WebGPU has an adapter where SA_UNET_REQUIRE_WEBGPU=1', async () => {
    const registered = await call('registered');
    expect([...registered].sort()).toEqual(['cpu', 'wasm', 'webgpu']);
    if (webgpuRequired) expect(webgpu).toBe(true);
  });

  it('copies, sums, transposes and normalizes on wasm with its WebAssembly heap module, which runs in Chromium, as the JavaScript loops would', async () => {
    expect(await call('heapModuleCheck')).toEqual({ runs: true, concatEqual: true, meanEqual: true, transposeEqual: true, batchNormEqual: true });
  });

  it('on a cross-origin isolated page (tfjs-backend-wasm\'s threaded build, whose heap is shared memory) runs the heap module too, and trains on wasm', async () => {
    const isolated = await serveFolder(out, { crossOriginIsolated: true });
    const other = await browser.newPage();
    const otherErrors: string[] = [];
    other.on('pageerror', (e) => otherErrors.push(e.message));
    try {
      await other.goto(isolated.url);
      await other.waitForFunction(() => 'kernelChecks' in globalThis, undefined, { timeout: 60_000 });
      const run = <K extends CheckName>(name: K, ...args: Parameters<KernelChecks[K]>) => callIn(other, name, ...args);
      expect(await run('isolation')).toEqual({ crossOriginIsolated: true, sharedHeap: true });
      expect(await run('heapModuleCheck')).toEqual({ runs: true, concatEqual: true, meanEqual: true, transposeEqual: true, batchNormEqual: true });
      // A shared memory that grows keeps its old buffer and gets a longer one: the module still
      // sees every tensor.
      expect(await run('grownHeapCheck')).toEqual({ grew: true, runs: true, concatEqual: true, meanEqual: true, transposeEqual: true, batchNormEqual: true });
      const trained = await run('train', 'wasm', 4);
      for (let s = 1; s < trained.losses.length; s++) expect(trained.losses[s], `step ${s}`).toBeLessThan(trained.losses[s - 1]);
      expect(new Set(trained.tensors.slice(1)).size, `tensors per step: ${trained.tensors}`).toBe(1);
      expect(otherErrors).toEqual([]);
    } finally {
      await other.close();
      await isolated.close();
    }
  }, 240_000);

  it('gives convolution gradients within 1e-4 of the cpu backend on webgpu and wasm, every parity case each can run', async () => {
    const results: ParityResult[] = await call('parity', backends());
    expect(results).toHaveLength(backends().reduce((n, b) => n + CASES.filter((k) => runsOn(k, b)).length, 0));
    for (const r of results) {
      expect(r.dx, `${r.backend} ${r.case} dx`).toBeLessThan(1e-4);
      expect(r.dfilter, `${r.backend} ${r.case} dfilter`).toBeLessThan(1e-4);
    }
  }, 240_000);

  it('trains an SA-U-Net with fusedAdam on webgpu and on webgl (stock kernels) as on wasm, without leaking tensors', async () => {
    const runs: TrainingResult[] = [];
    for (const backend of [...backends(), 'webgl']) runs.push(await call('train', backend, 8));
    const wasm = runs.find((r) => r.backend === 'wasm')!;
    for (const other of runs.filter((r) => r !== wasm)) {
      // The same seeded weights: the first loss (before any update) agrees to float rounding, and
      // the runs stay together while Adam follows the same gradients.
      expect(Math.abs(other.losses[0] - wasm.losses[0]), other.backend).toBeLessThan(1e-5);
      for (let s = 1; s < 4; s++) expect(Math.abs(other.losses[s] - wasm.losses[s]), `${other.backend} step ${s}`).toBeLessThan(1e-3);
    }
    for (const r of runs) {
      for (let s = 1; s < r.losses.length; s++) expect(r.losses[s], `${r.backend} step ${s}`).toBeLessThan(r.losses[s - 1]);
      expect(r.losses.at(-1)!, r.backend).toBeLessThan(0.85 * r.losses[0]);
      expect(new Set(r.tensors.slice(1)).size, `${r.backend} tensors per step: ${r.tensors}`).toBe(1);
    }
    expect(errors).toEqual([]);
  }, 240_000);

  it('replays an SA-U-Net\'s forward pass on WebGPU (replayPredict): its own predictions bit for bit, the same dispatches, no tensors left', async () => {
    if (!webgpu) return; // (the test above fails where WebGPU is required)
    const result: ReplayResult = await call('replay');
    expect(result.equal).toEqual([true, true, true, true]);
    expect(result.counts).toMatchObject({ recordings: 1, replays: 5 });
    expect(result.dispatches[1]).toBe(result.dispatches[0]);
    expect(result.dispatches[0]).toBeGreaterThan(20);
    expect(result.tensors[1]).toBe(result.tensors[0]);
    expect(errors).toEqual([]);
  }, 240_000);

  it('replays an SA-U-Net\'s training step on WebGPU (replayTrainStep): trainOnBatch\'s losses, weights and optimizer state bit for bit, no tensors left', async () => {
    if (!webgpu) return; // (the test above fails where WebGPU is required)
    const result: TrainingReplayResult = await call('replayTraining');
    expect(result.equalLosses).toEqual([true, true, true, true, true, true]);
    expect(result.equalState).toBe(true);
    expect(result.counts).toMatchObject({ recordings: 1, replays: 3 });
    expect(result.tensors[1]).toBe(result.tensors[0]);
    expect(errors).toEqual([]);
  }, 240_000);

  it('runs the docs\' browser-training example (examples/train-in-browser.ts), on WebGPU where there is an adapter', async () => {
    const result = await call('example');
    expect(result.backend).toBe(webgpu ? 'webgpu' : 'wasm');
    expect(result.params).toBe(456_459); // the paper's SA-U-Net: the parameter count does not depend on the image size
    expect(result.losses).toHaveLength(2);
    for (const loss of result.losses) {
      expect(loss).toBeGreaterThan(0); // the dice loss of a model that is neither perfect
      expect(loss).toBeLessThan(1); // nor empty
    }
    expect(errors).toEqual([]);
  }, 240_000);
});
