/**
 * The optimizer update alone, for the variables of U-Net and SA-U-Net (base 32 unless --base):
 * ms per applyGradients (and on webgpu dispatches per update) for tfjs-core's Adam, fusedAdam
 * (webgpu: in place, one dispatch per group of two to four variables; wasm: one loop per variable of at most 8,192
 * values) and, on webgpu, fusedAdam on shared storage (three dispatches per variable: each variable is
 * cloned first, so its storage is shared). Alternating rounds in one run; median of the rounds'
 * means.
 *   npx tsx scripts/gpu-adam.ts [--backend webgpu|wasm] [--base 32] [--rounds 5] [--calls 5] [--out adam.json]
 * (on a GPU machine: bash ../shared/gpu/pack.sh packages/bench/scripts/gpu-adam.ts, then
 *  bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-adam --out $OUT/adam.json)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { percentile } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import type { ModelName } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';
import { countDispatches } from './dispatch-counter.js';

const { values } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' },
  calls: { type: 'string', default: '5' }, // more unsynchronised stock updates in a row crash Dawn on lavapipe (tfjs-webgpu alone, 2026-11-27)
  models: { type: 'string', default: 'unet,sa-unet' },
  backend: { type: 'string', default: 'webgpu' },
  base: { type: 'string', default: '32' },
  out: { type: 'string' },
} });
if (values.backend !== 'webgpu' && values.backend !== 'wasm') throw new Error(`--backend must be webgpu or wasm, got ${JSON.stringify(values.backend)}`);
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const { description: adapter } = await selectBackend(values.backend);

const dispatches = countDispatches();

const median = (v: number[]) => percentile(Float64Array.from(v), 50);
const rows: Array<Record<string, unknown>> = [];
for (const name of values.models.split(',') as ModelName[]) {
  const model = buildModel(name, { size: 64, baseFilters: Number(values.base) }, 1); // the size does not change the variables
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const grads = Object.fromEntries(weights.map((w, i) => [w.name, tf.randomUniform(w.shape, -1e-3, 1e-3, 'float32', i)]));
  const variants: Array<[string, tf.Optimizer, boolean]> = [
    ['tfjs-core Adam', tf.train.adam(5e-4), false],
    [values.backend === 'webgpu' ? 'fusedAdam, in place' : 'fusedAdam', fusedAdam(5e-4), false],
  ];
  // Shared storage matters on webgpu only: on wasm fusedAdam never writes in place.
  if (values.backend === 'webgpu') variants.push(['fusedAdam, shared storage', fusedAdam(5e-4), true]);
  const times: Record<string, number[]> = {};
  const perUpdate: Record<string, number> = {};
  for (let round = 0; round <= rounds; round++) { // round 0 warms up (moments, pipelines)
    for (const [label, optimizer, shared] of variants) {
      const clones = shared ? weights.map((w) => tf.clone(w)) : [];
      await weights[0]!.data();
      dispatches.reset();
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) optimizer.applyGradients(grads);
      await weights[weights.length - 1]!.data(); // the queue is done
      const ms = (performance.now() - t0) / calls;
      tf.dispose(clones);
      if (round === 0) continue;
      (times[label] ??= []).push(ms);
      if (values.backend === 'webgpu') perUpdate[label] = dispatches.count / calls;
    }
  }
  for (const [label] of variants) {
    const row = { model: name, variables: weights.length, parameters: model.countParams(), optimizer: label, msPerUpdate: median(times[label]!), dispatchesPerUpdate: perUpdate[label] ?? null };
    rows.push(row);
    console.log(`${name} (${weights.length} variables): ${label}: ${row.msPerUpdate.toFixed(2)} ms per update` + (row.dispatchesPerUpdate === null ? '' : `, ${row.dispatchesPerUpdate} dispatches`));
  }
  variants.forEach(([, o]) => o.dispose());
  tf.dispose(Object.values(grads));
  model.dispose();
}
if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), backend: values.backend, adapter, rounds, calls, rows }, null, 2));
