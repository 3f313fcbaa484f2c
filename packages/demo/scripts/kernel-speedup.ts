/**
 * The demo's model on WebAssembly in headless Chromium, with and without @sa-unet/tfjs-kernels:
 * the figure the demo's README and the getting-started guide quote. Builds the page of
 * kernel-speedup/ with the demo's Vite config and model, then loads it `--rounds` times each way,
 * alternating, each load timing `--runs` forward passes after three warm-up calls; prints each
 * load's median and, per way, the median of those (ms per forward pass) and their ratio.
 *
 *   pnpm --filter @sa-unet/demo kernel-speedup [--rounds 5] [--runs 25]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { percentile } from '@sa-unet/seg-metrics';
import { browserAvailable, launchChromium, serveFolder } from '../../../test-utils/browser.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '25' } } });
const count = (name: 'rounds' | 'runs'): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got ${values[name]}`);
  return n;
};
const rounds = count('rounds');
const runs = count('runs');
if (!browserAvailable) throw new Error('kernel-speedup needs /usr/bin/chromium (apt-get install chromium)');
const demo = fileURLToPath(new URL('..', import.meta.url));
const out = await mkdtemp(join(tmpdir(), 'kernel-speedup-'));
try {
  await build({
    root: fileURLToPath(new URL('./kernel-speedup/', import.meta.url)), configFile: join(demo, 'vite.config.ts'), publicDir: join(demo, 'public'),
    logLevel: 'error', build: { outDir: out, emptyOutDir: true },
  });
  const server = await serveFolder(out);
  const browser = await launchChromium();
  const medians: Record<'with' | 'without', number[]> = { with: [], without: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const kernels of [false, true]) {
        const page = await browser.newPage();
        await page.goto(`${server.url}?kernels=${kernels ? 1 : 0}&runs=${runs}`);
        await page.waitForFunction(() => 'speedup' in window || 'speedupError' in window, undefined, { timeout: 300_000 });
        const error = await page.evaluate(() => (window as unknown as { speedupError?: string }).speedupError);
        if (error !== undefined) throw new Error(`the page failed (kernels ${kernels}): ${error}`);
        const { backend, ms } = await page.evaluate(() => (window as unknown as { speedup: { backend: string; ms: number[] } }).speedup);
        await page.close();
        if (backend !== 'wasm') throw new Error(`the page ran on ${backend}, not wasm`);
        const median = percentile(ms, 50);
        medians[kernels ? 'with' : 'without'].push(median);
        console.log(`round ${round + 1}, ${kernels ? 'with' : 'without'} the kernels: median ${median.toFixed(1)} ms (${runs} runs)`);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const [without, withKernels] = [percentile(medians.without, 50), percentile(medians.with, 50)];
  console.log(`\nmedian of ${rounds} page loads each: without ${without.toFixed(1)} ms, with ${withKernels.toFixed(1)} ms per forward pass (${(without / withKernels).toFixed(2)}x)`);
} finally {
  await rm(out, { recursive: true, force: true });
}
