/**
 * GPU dispatches of one Adam step (batch 4) and one forward pass (batch 1), as built and with its
 * batch norms folded (`foldBatchNorm` of @sa-unet/unet-zoo), on webgpu, in all and per kernel
 * (dispatches / top-level calls; dispatches made outside kernels, such as fusedAdam's, counted
 * apart): the dispatch count that bounds SA-U-Net's step on a fast GPU. Runs on lavapipe.
 *   npx tsx scripts/dispatch-counts.ts --size 32 --models sa-unet
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { foldBatchNorm } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';
import { countDispatches } from './dispatch-counter.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '32' },
  models: { type: 'string', default: 'unet,sa-unet' },
  backend: { type: 'string', default: 'webgpu' },
} });
const size = Number(values.size);
await selectBackend(values.backend as 'webgpu');

const dispatches = countDispatches();

/** Dispatches and top-level calls per kernel name, counted by wrapping every webgpu kernel. */
const perKernel = new Map<string, { calls: number; dispatches: number }>();
let depth = 0;
for (const config of tf.getKernelsForBackend('webgpu')) {
  const run = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, 'webgpu');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      const before = dispatches.count;
      depth++;
      try {
        return run(args);
      } finally {
        depth--;
        if (depth === 0) { // kernels that call kernels: counted once, for the outer one
          const entry = perKernel.get(config.kernelName) ?? { calls: 0, dispatches: 0 };
          entry.calls++;
          entry.dispatches += dispatches.count - before;
          perKernel.set(config.kernelName, entry);
        }
      }
    },
  });
}

/** Prints the dispatches of `run`, in all and per kernel. */
async function count(model: string, what: string, run: () => Promise<void>): Promise<void> {
  dispatches.reset();
  perKernel.clear();
  await run();
  const rows = [...perKernel.entries()].filter(([, e]) => e.dispatches > 0).sort((a, b) => b[1].dispatches - a[1].dispatches);
  const outside = dispatches.count - rows.reduce((total, [, e]) => total + e.dispatches, 0);
  console.log(`${model} ${what}: ${dispatches.count} dispatches; per kernel (dispatches/calls): ` +
    rows.map(([kernel, e]) => `${kernel} ${e.dispatches}/${e.calls}`).join(', ') + `; outside kernels (fusedAdam): ${outside}`);
}

for (const name of values.models.split(',') as Array<'unet' | 'sa-unet'>) {
  const model = buildModel(name, { size, baseFilters: 32 }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 5);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  await model.trainOnBatch(x, y); // warm-up: optimizer state, pipelines
  const x1 = tf.slice(x, [0, 0, 0, 0], [1, size, size, 1]);
  const forward = (m: typeof model) => async () => {
    const p = m.predict(x1) as tf.Tensor;
    await p.data();
    p.dispose();
  };
  await count(name, 'step', async () => { await model.trainOnBatch(x, y); });
  await count(name, 'forward', forward(model));
  // Folded after the step: the folded copy shares the weights it leaves unchanged with the model,
  // so fusedAdam's next update of those would make new tensors (three dispatches each) instead of
  // updating them in place (SA-U-Net at 32x32: 545 dispatches outside kernels instead of 56).
  const folded = foldBatchNorm(model).model;
  tf.dispose(folded.predict(x1) as tf.Tensor); // warm-up: pipelines
  await count(name, 'forward, batch norms folded', forward(folded));
  tf.dispose([x, y, x1]);
  model.optimizer?.dispose();
  model.dispose();
  folded.dispose();
}
