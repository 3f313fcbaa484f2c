/**
 * Whether a model trains within the wasm heap (4 GB) at a given size and width: two Adam steps at
 * batch 4, then the heap's size (it only grows, so this is the peak) and the steps' times; with
 * `--identity stock`, tfjs-backend-wasm's own Identity (which copies every tensor tfjs keeps for the
 * backward pass) instead of @sa-unet/tfjs-kernels' (which shares it). One model per process, since
 * the heap never shrinks:
 *   npx tsx scripts/wasm-memory.ts --model sa-unet --size 256 --base 32 [--identity stock]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { isModelName } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';

const { values } = parseArgs({ options: {
  model: { type: 'string', default: 'sa-unet' },
  size: { type: 'string', default: '256' },
  base: { type: 'string', default: '32' },
  identity: { type: 'string', default: 'ours' },
} });
if (!isModelName(values.model)) throw new Error(`--model: unknown model ${JSON.stringify(values.model)}`);
if (values.identity !== 'ours' && values.identity !== 'stock') throw new Error(`--identity must be ours or stock, got ${JSON.stringify(values.identity)}`);
await selectBackend('wasm');
if (values.identity === 'stock') {
  const { identityConfig } = (await import('@tensorflow/tfjs-backend-wasm/dist/kernels/Identity.js' as string)) as { identityConfig: tf.KernelConfig };
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel(identityConfig);
}
const size = Number(values.size);
const base = Number(values.base);
const model = buildModel(values.model, { size, baseFilters: base }, 1);
model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 5);
const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
const heapMiB = () => ((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length / 2 ** 20).toFixed(0);
const label = `${values.model} ${size}x${size} base ${base}, ${values.identity} Identity`;
try {
  const times: number[] = [];
  for (let step = 0; step < 2; step++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    times.push(performance.now() - t0);
  }
  console.log(`${label}: fits; wasm heap ${heapMiB()} MiB; steps ${times.map((t) => (t / 1000).toFixed(1)).join(', ')} s`);
} catch (err) {
  console.log(`${label}: does not fit (${String(err).split('\n')[0]}); wasm heap ${heapMiB()} MiB`);
}
