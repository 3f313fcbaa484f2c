/**
 * GPU time per forward pass and per Adam step, read off throughput: replayed calls sent back to
 * back, one read at the end of each burst (`replayPredict` and `replayTrainStep` of
 * @sa-unet/tfjs-kernels, whose CPU work per call is a fraction of a millisecond to a few, below
 * the GPU's). So the GPU's time per call without the profiler's per-kernel passes (tf.profile),
 * and without a read back per call (latency's timings, about 0.2 ms on the H200): what the
 * targets come down to once the CPU is out of the way. Forward passes at batch 1 as built and
 * with the batch norms folded (`foldBatchNorm` of @sa-unet/unet-zoo); Adam steps at batch 4.
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs replay-throughput --size 256 --out $OUT/throughput.json
 *   npx tsx scripts/replay-throughput.ts --dawn backend=null --size 32 --models unet --runs 20 --steps 5
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fusedAdam, replayPredict, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import { foldBatchNorm } from '@sa-unet/unet-zoo';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { trainingTargets } from '../src/train/trainer.js';
import { comparisonOptions, selectWebGPU } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out, values } = comparisonOptions({ runs: 50, rounds: 3 }, { dawn: '' });
const { adapter, dawnFlags } = await selectWebGPU(values['dawn']);
const median = (v: number[]) => percentile(Float64Array.from(v), 50);

/** Ms per call of `call` sent `count` times back to back, then its last result read: each burst's, after `warmup` calls read one by one. */
async function perCall(call: () => tf.Tensor[], count: number, warmup: number): Promise<number[]> {
  const read = async (ts: tf.Tensor[]) => {
    await ts[0]!.data();
    tf.dispose(ts);
  };
  for (let i = 0; i < warmup; i++) await read(call());
  const bursts: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (let i = 0; i < count - 1; i++) tf.dispose(call());
    await read(call());
    bursts.push((performance.now() - t0) / count);
  }
  return bursts;
}

const rows: Array<{ model: string; forwardMs: number[]; foldedForwardMs: number[]; stepMs: number[] }> = [];
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, dawnFlags, size, baseFilters, runs, steps, rounds, rows }, null, 2));
};
const asArray = (t: tf.Tensor | tf.Tensor[]) => (Array.isArray(t) ? t : [t]);
for (const name of models) {
  const model = buildModel(name, { size, baseFilters }, 1);
  try {
    const x = tf.randomUniform([1, size, size, 1], 0, 1, 'float32', 7);
    const forward = async (net: tfl.LayersModel) => {
      const replay = replayPredict(net);
      try {
        return await perCall(() => asArray(replay.run(x)), runs, 3);
      } finally {
        replay.dispose();
      }
    };
    const forwardMs = await forward(model);
    const folded = foldBatchNorm(model).model;
    const foldedForwardMs = await forward(folded);
    disposeModel(folded);
    x.dispose();

    model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
    const images = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
    const masks = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 4), 0.8), 'float32'));
    const targets = asArray(trainingTargets(model, masks));
    const step = replayTrainStep(model);
    const stepMs = await perCall(() => step.run(images, ...targets) as tf.Tensor[], steps, 4);
    step.dispose();
    tf.dispose([images, masks]);
    rows.push({ model: name, forwardMs, foldedForwardMs, stepMs });
    console.log(`${name}: replayed back to back (median of ${rounds} bursts): forward ${median(forwardMs).toFixed(2)} ms per image ` +
      `(folded ${median(foldedForwardMs).toFixed(2)}; bursts of ${runs}), Adam step ${median(stepMs).toFixed(1)} ms (bursts of ${steps})`);
    save();
  } finally {
    disposeModel(model);
  }
}
