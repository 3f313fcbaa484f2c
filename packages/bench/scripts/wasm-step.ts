/**
 * One Adam step on wasm (batch 4, the bench's fusedAdam and dice loss) with some of
 * @sa-unet/tfjs-kernels' wasm kernels (by default its copy kernels, WASM_COPY_KERNELS; or those
 * named by --kernels) against the stock ones, alternating in one run; then the top kernels of one
 * step with ours (tf.profile: wall ms per kernel, nested scopes counted twice).
 *
 *   pnpm --filter @sa-unet/tfjs-kernels build && npx tsx scripts/wasm-step.ts [--size 128] [--base-filters 32] [--models sa-unet,unet] [--kernels FusedBatchNorm]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { WASM_COPY_KERNELS, fusedAdam, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import type { ModelName } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';
import { kernelTotals } from './kernel-totals.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '128' },
  'base-filters': { type: 'string', default: '32' },
  models: { type: 'string', default: 'sa-unet,unet' },
  rounds: { type: 'string', default: '3' },
  steps: { type: 'string', default: '3' },
  kernels: { type: 'string', default: WASM_COPY_KERNELS.join(',') },
} });
const kernels = values.kernels.split(',');
const size = Number(values.size);
const baseFilters = Number(values['base-filters']);

await selectBackend('wasm');
unregisterTrainingKernels();
// undefined where wasm has no stock kernel of that name (ours are then simply absent).
const stock = kernels.map((k) => tf.getKernel(k, 'wasm'));
registerTrainingKernels();
const ours = kernels.map((k) => tf.getKernel(k, 'wasm'));
function use(configs: Array<tf.KernelConfig | undefined>): void {
  kernels.forEach((name, i) => {
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    if (configs[i] !== undefined) tf.registerKernel(configs[i]!);
  });
}

const median = (v: number[]) => percentile(Float64Array.from(v), 50);
for (const name of values.models.split(',') as ModelName[]) {
  const model = buildModel(name, { size, baseFilters }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  await model.trainOnBatch(x, y); // warm-up
  const times: Record<string, number[]> = { stock: [], ours: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [label, configs] of [['stock', stock], ['ours', ours]] as const) {
      use(configs);
      for (let s = 0; s < Number(values.steps); s++) {
        const t0 = performance.now();
        await model.trainOnBatch(x, y);
        times[label]!.push(performance.now() - t0);
      }
    }
  }
  use(ours);
  const [a, b] = [median(times.stock!), median(times.ours!)];
  console.log(`${name} ${size}x${size} base ${baseFilters}: Adam step, stock ${kernels.join(', ')} ${a.toFixed(0)} ms, ours ${b.toFixed(0)} ms (median of ${times.ours!.length}; ${(a / b).toFixed(2)}x)`);
  const info = await tf.profile(async () => { await model.trainOnBatch(x, y); });
  console.log('  top kernels (ours): ' + kernelTotals(info).slice(0, 10).map((k) => `${k.kernel} ${k.ms.toFixed(0)} ms x${k.calls}`).join(', '));
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
}
