/**
 * The wasm kernels' heap module (@sa-unet/tfjs-kernels' src/wasm/heap-module.ts: the copy kernels'
 * rows, the channel reductions' sums, batch norm, the max-pooling and depthwise filter gradients
 * inside the wasm heap) against their JavaScript loops and composed kernels in whole passes, alternating in one process: forward passes at batch 1 with the batch norms folded
 * (median of 30 over three rounds) or Adam steps at batch 4 with fusedAdam and dice loss (median
 * of 12). The switch is the kernels' own, internal to the package: this script imports it from the
 * package's source, as its tests do.
 *
 *   npx tsx scripts/wasm-heap-module.ts --pass forward --size 128 --base-filters 16 [--model sa-unet]
 *   npx tsx scripts/wasm-heap-module.ts --pass step --size 64 --base-filters 16
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { fusedAdam, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { foldBatchNorm, type ModelName } from '@sa-unet/unet-zoo';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import { useHeapModule } from '../../tfjs-kernels/src/wasm/heap-module.js';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';

const { values } = parseArgs({ options: {
  pass: { type: 'string', default: 'forward' },
  size: { type: 'string', default: '128' },
  'base-filters': { type: 'string', default: '16' },
  model: { type: 'string', default: 'sa-unet' },
  rounds: { type: 'string', default: '3' },
} });
const size = Number(values.size);
const baseFilters = Number(values['base-filters']);
if (values.pass !== 'forward' && values.pass !== 'step') throw new Error(`--pass must be forward or step, got ${values.pass}`);

await selectBackend('wasm');
registerTrainingKernels();
const model = buildModel(values.model as ModelName, { size, baseFilters }, 1);
const times = { javascript: [] as number[], module: [] as number[] };

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

if (values.pass === 'forward') {
  const folded = foldBatchNorm(model).model;
  const x = tf.randomUniform([1, size, size, 1], 0, 1, 'float32', 3);
  const predict = async () => {
    const y = folded.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const way of ['javascript', 'module'] as const) {
      useHeapModule(way === 'module');
      for (let i = 0; i < 2; i++) await predict(); // warm-up
      for (let i = 0; i < 10; i++) times[way].push(await timed(predict));
    }
  }
} else {
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  const step = async () => {
    await model.trainOnBatch(x, y);
  };
  await step(); // warm-up
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const way of ['javascript', 'module'] as const) {
      useHeapModule(way === 'module');
      for (let i = 0; i < 4; i++) times[way].push(await timed(step));
    }
  }
}
useHeapModule(true);
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
const [js, module] = [median(times.javascript), median(times.module)];
console.log(`${values.model} ${values.pass} ${size}x${size}, base ${baseFilters}: JavaScript loops ${js.toFixed(1)} ms, heap module ${module.toFixed(1)} ms (median of ${times.module.length}; ${(js / module).toFixed(3)}x)`);
