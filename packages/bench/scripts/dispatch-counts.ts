/**
 * Kernel calls per name in one Adam step (batch 4) and one forward pass (batch 1) on webgpu:
 * the dispatch count that bounds SA-U-Net's step on a fast GPU. Runs on lavapipe.
 *   npx tsx scripts/dispatch-counts.ts --size 32 --models sa-unet
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';
import { countDispatches } from './dispatch-counter.js';
import { kernelTotals } from './kernel-totals.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '32' },
  models: { type: 'string', default: 'unet,sa-unet' },
  backend: { type: 'string', default: 'webgpu' },
} });
const size = Number(values.size);
await selectBackend(values.backend as 'webgpu');

const dispatches = countDispatches();

for (const name of values.models.split(',') as Array<'unet' | 'sa-unet'>) {
  const model = buildModel(name, { size, baseFilters: 32 }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 5);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  await model.trainOnBatch(x, y); // warm-up: optimizer state, pipelines
  const x1 = tf.slice(x, [0, 0, 0, 0], [1, size, size, 1]);
  const runs = {
    step: async () => { await model.trainOnBatch(x, y); },
    forward: async () => {
      const p = model.predict(x1) as tf.Tensor;
      await p.data();
      p.dispose();
    },
  };
  for (const [what, run] of Object.entries(runs)) {
    dispatches.reset();
    // tf.profile returns the engine's one profile object, reused by the next call: read it now.
    const totals = kernelTotals(await tf.profile(run)).sort((a, b) => b.calls - a.calls);
    console.log(`${name} ${what}: ${dispatches.count} dispatches; kernel calls: ` + totals.map((t) => `${t.kernel} ${t.calls}`).join(', '));
  }
  tf.dispose([x, y, x1]);
  model.optimizer?.dispose();
  model.dispose();
}
