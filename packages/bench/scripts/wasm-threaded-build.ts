/**
 * tfjs-backend-wasm's threaded build in Node, for measuring what the heap module is worth there
 * (browsers run that build on cross-origin isolated pages): Adam steps of SA-U-Net and U-Net
 * (64x64, base 16, batch 4, fusedAdam, dice loss) with the heap module off and on, alternating in
 * one process, median of 9 each; then a hash of the weights after those steps, to compare with
 * the unthreaded build (`--threads 1`).
 *
 *   cd packages/bench && npx tsx scripts/wasm-threaded-build.ts [--threads 2]
 *
 * tfjs 4.22 does not start the threaded build in Node (tensorflow/tfjs#3830: its pthread workers
 * are `blob:` URLs, which worker_threads refuse). This script alone shims it, for tfjs 4.22's
 * internals only: string Blobs become files, the workers get the build's own
 * wasm-out/tfjs-backend-wasm-threaded-simd.js, and os.cpus reports two logical cores per core
 * while the backend starts (the build caps its pool at half the logical cores). Not part of any
 * package: too much reliance on one version's internals to ship. The heap module's switch is the
 * kernels' own, internal to @sa-unet/tfjs-kernels (imported from its source, as wasm-heap-module.ts does).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' } } });
const threads = Number(values.threads);

/** Makes tfjs 4.22's threaded wasm build start in Node; returns what undoes the os.cpus change. */
function shimThreadedBuild(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tfjs-wasm-threads-'));
  const texts = new WeakMap<Blob, string>();
  const NodeBlob = globalThis.Blob;
  globalThis.Blob = class TextBlob extends NodeBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts?.every((p) => typeof p === 'string')) texts.set(this, parts.join(''));
    }
  } as typeof Blob;
  let files = 0;
  const nativeCreate = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (blob: Blob) => {
    const text = texts.get(blob);
    if (text === undefined) return nativeCreate(blob);
    const path = join(dir, `script-${files++}.cjs`);
    writeFileSync(path, text);
    return path;
  };
  const workerThreads = require('node:worker_threads');
  const buildScript = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  workerThreads.Worker = class extends workerThreads.Worker {
    postMessage(message: { cmd?: string; urlOrBlob?: unknown }, transfer?: unknown) {
      const loading = message?.cmd === 'load' && message.urlOrBlob instanceof NodeBlob;
      return super.postMessage(loading ? { ...message, urlOrBlob: buildScript } : message, transfer);
    }
  };
  const cpus = os.cpus;
  os.cpus = () => [...cpus(), ...cpus()];
  return () => { os.cpus = cpus; };
}

const restoreCpus = threads > 1 ? shimThreadedBuild() : () => undefined;
const tf = await import('@tensorflow/tfjs-core');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
if (threads > 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
wasm.setThreadsCount(threads);
await tf.setBackend('wasm');
restoreCpus();
const { fusedAdam, registerTrainingKernels } = await import('@sa-unet/tfjs-kernels');
const { heapModule, useHeapModule } = await import('../../tfjs-kernels/src/wasm/heap-module.js');
const { buildModel } = await import('../src/commands/run-model.js');
const { diceLoss, percentile } = await import('@sa-unet/seg-metrics');
registerTrainingKernels();
const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
console.log(`wasm: ${wasm.getThreadsCount()} thread(s), heap ${heap.buffer.constructor.name}, heap module ${heapModule(tf.backend()) === null ? 'not running' : 'running'}`);

const median = (v: number[]) => percentile(v, 50);
for (const name of ['sa-unet', 'unet'] as const) {
  const model = buildModel(name, { size: 64, baseFilters: 16 }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, 64, 64, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  await model.trainOnBatch(x, y);
  const times: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let round = 0; round < 3; round++) {
    for (const mode of ['off', 'on'] as const) {
      useHeapModule(mode === 'on');
      await model.trainOnBatch(x, y);
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await model.trainOnBatch(x, y);
        times[mode].push(performance.now() - t0);
      }
    }
  }
  const hash = createHash('sha256');
  for (const w of model.getWeights()) hash.update(new Uint8Array(((await w.data()) as Float32Array).buffer));
  const [off, on] = [median(times.off), median(times.on)];
  console.log(`${name}: heap module off ${off.toFixed(1)} ms, on ${on.toFixed(1)} ms per step (${(off / on).toFixed(2)}x); weights after 25 steps ${hash.digest('hex').slice(0, 16)}`);
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
}
process.exit(0); // the threaded build's workers would keep Node running
