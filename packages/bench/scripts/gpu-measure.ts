/**
 * All GPU measurements in one go, for a machine with a GPU (issue: WebGPU latency and training
 * kernels). Tested on lavapipe first; on the GPU machine:
 *   bash ../shared/gpu/pack.sh packages/bench/scripts/gpu-measure.ts
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-measure --size 256 --out $OUT/gpu.json
 * Measures, for U-Net and SA-U-Net (base 32): parameters, inference ms at batch 1 (first call,
 * median, p90), Adam step ms at batch 4, with this package's kernels, the zoo's batch norm and
 * fusedAdam, and with stock tfjs-webgpu, tfjs-layers' BatchNormalization and tfjs-core's Adam,
 * and the top kernels of one step of each (tf.profile; GPU times where timestamp queries exist).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { stepTimes } from '../src/commands/latency.js';
import { inferenceLatency } from '../src/eval/predict.js';
import { profileStep } from './kernel-totals.js';
import { withStockLayers } from './stock-layers.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '256' },
  steps: { type: 'string', default: '10' },
  runs: { type: 'string', default: '50' },
  out: { type: 'string' },
  models: { type: 'string', default: 'unet,sa-unet' },
  stock: { type: 'boolean', default: true }, // --no-stock: our kernels only
}, allowNegative: true });
const size = Number(values.size);
const steps = Number(values.steps);
const runs = Number(values.runs);

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

const rows: Array<Record<string, unknown>> = [];
for (const kernels of values.stock ? ['ours', 'stock'] : ['ours']) {
  if (kernels === 'ours') registerTrainingKernels();
  else unregisterTrainingKernels();
  for (const name of values.models.split(',') as Array<'unet' | 'sa-unet'>) {
    // Stock rows: stock kernels, tfjs-layers' BatchNormalization and tfjs-core's Adam; ours: our
    // kernels, the zoo's batch norm and fusedAdam (the bench's).
    const built = buildModel(name, { size, baseFilters: 32 }, 1);
    const model = kernels === 'stock' ? await withStockLayers(built) : built;
    const inference = await inferenceLatency(model, size, 1, 5, runs);
    const step = await stepTimes(model, size, steps, kernels === 'stock' ? tf.train.adam(5e-4) : undefined);
    const profile = (await profileStep(model, size)).slice(0, 12);
    rows.push({ kernels, model: name, params: model.countParams(), inference, step, profile });
    console.log(`${kernels} ${name}: forward ${inference.medianMs.toFixed(2)} ms (p90 ${inference.p90Ms.toFixed(2)}, first ${inference.firstMs.toFixed(0)}), ` +
      `Adam step ${step.medianMs.toFixed(1)} ms (p90 ${step.p90Ms.toFixed(1)}, first ${step.firstMs.toFixed(0)})`);
    console.log('  top kernels: ' + profile.slice(0, 6).map((p) => `${p.kernel} ${p.ms.toFixed(1)} ms x${p.calls}`).join(', '));
    disposeModel(model);
    save(); // after every row, so a run cut short by the machine's time limit still reports
  }
}

function save(): void {
  const result = { date: new Date().toISOString(), size, steps, runs, adapter, rows };
  if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 2));
}
