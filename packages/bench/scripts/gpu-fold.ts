/**
 * Forward latency at batch 1 of each network as built and with its batch norms folded into the
 * convolutions before them (`foldBatchNorm` of @sa-unet/unet-zoo: conv -> BN -> ReLU as one
 * FusedConv2D; for SA-U-Net, BN -> ReLU inside the channel attention's dispatch), each also
 * replayed (`replayPredict` of @sa-unet/tfjs-kernels: the recorded commands without tfjs's work
 * per layer), in alternating rounds; and per version the kernels of one forward pass and their
 * GPU time (where the adapter has timestamp queries). Where each kernel costs a dispatch of tens of
 * microseconds of CPU time (WebGPU), fewer kernels should show; lavapipe (a CPU) only runs the
 * script; `--dawn backend=null` (Dawn's null backend, no shaders: at most 64x64) times the CPU's work alone:
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-fold --size 256 --out $OUT/fold.json
 *   npx tsx scripts/gpu-fold.ts --dawn backend=null --size 64 --rounds 3
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type * as tfl from '@tensorflow/tfjs-layers';
import { foldBatchNorm } from '@sa-unet/unet-zoo';
import { parseModels } from '../src/commands/options.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { inferenceLatency } from '../src/eval/predict.js';
import { selectWebGPU } from './kernel-calls.js';
import { profileForward } from './kernel-totals.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '256' },
  runs: { type: 'string', default: '30' },
  rounds: { type: 'string', default: '2' },
  models: { type: 'string', default: 'unet,unet-plus-plus,attention-unet,multires-unet,sa-unet' },
  dawn: { type: 'string', default: '' },
  out: { type: 'string' },
} });
const size = Number(values.size);
const runs = Number(values.runs);
const { adapter, dawnFlags } = await selectWebGPU(values.dawn);
const versions: Record<string, Record<string, tfl.LayersModel>> = { 'as built': {}, folded: {} };
const folds: Record<string, { batchNorms: number; activations: number }> = {};
for (const name of parseModels(values.models)) {
  const built = buildModel(name, { size, baseFilters: 32 }, 1);
  const { model, batchNorms, activations } = foldBatchNorm(built);
  versions['as built']![name] = built;
  versions.folded![name] = model;
  folds[name] = { batchNorms, activations };
}

const latency: Array<Record<string, unknown>> = [];
const profiles: Array<Record<string, unknown>> = [];
const save = () => {
  if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), size, runs, adapter, dawnFlags, folds, latency, profiles }, null, 2));
};
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [version, models] of Object.entries(versions)) {
    for (const replay of [false, true]) {
      for (const [name, model] of Object.entries(models)) {
        const inference = await inferenceLatency(model, size, 1, 5, runs, { replay });
        const label = replay ? `${version}, replayed` : version;
        latency.push({ round, version: label, model: name, ...inference });
        console.log(`round ${round} ${label} ${name}: forward ${inference.medianMs.toFixed(2)} ms (p90 ${inference.p90Ms.toFixed(2)})`);
        save();
      }
    }
  }
}

for (const [version, models] of Object.entries(versions)) {
  for (const [name, model] of Object.entries(models)) {
    const { kernels, gpuMs, totals: top } = await profileForward(model, size);
    profiles.push({ version, model: name, kernels, gpuMs, top: top.slice(0, 6) });
    console.log(`${version} ${name}: ${kernels} kernels, ${gpuMs.toFixed(2)} ms of GPU time; ` +
      top.slice(0, 4).map((k) => `${k.kernel} ${k.ms.toFixed(2)} ms x${k.calls}`).join(', '));
    save();
  }
}
for (const models of Object.values(versions)) for (const model of Object.values(models)) disposeModel(model);
