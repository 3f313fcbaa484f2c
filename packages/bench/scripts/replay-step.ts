/**
 * Adam steps (batch 4) through trainOnBatch against the same steps replayed (`replayTrainStep` of
 * @sa-unet/tfjs-kernels: the recorded commands, without tfjs's work per dispatch), in alternating
 * rounds, each with a fresh fusedAdam: median ms per round and the median of the rounds' ratios.
 * On a GPU machine that is wall time; with `--dawn backend=null` (Dawn's null backend, no shaders)
 * the CPU's work alone, on any machine (its device holds 512 MB: at most 32x32 for two networks
 * in one process, as the replay holds a step's working set of its own):
 *   npx tsx scripts/replay-step.ts --dawn backend=null --size 32 --rounds 3 --steps 10
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs replay-step --size 256 --out $OUT/replay-step.json
 */
import { writeFileSync } from 'node:fs';
import { percentile } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { stepTimes } from '../src/commands/latency.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { comparisonOptions, selectWebGPU } from './kernel-calls.js';

const { size, baseFilters, steps, rounds, models, out, values } = comparisonOptions({ runs: 0, rounds: 3 }, { dawn: '' });
const { adapter, dawnFlags } = await selectWebGPU(values['dawn']);
const median = (v: number[]) => percentile(Float64Array.from(v), 50);

const rows: Array<{ model: string; round: number; trainOnBatchMs: number; replayedMs: number }> = [];
const summary: Record<string, { trainOnBatchMs: number; replayedMs: number; ratio: number }> = {};
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, dawnFlags, size, baseFilters, steps, rounds, rows, summary }, null, 2));
};
for (const name of models) {
  const model = buildModel(name, { size, baseFilters }, 1);
  try {
    for (let round = 0; round < rounds; round++) {
      const times: number[] = [];
      for (const replay of [false, true]) {
        times.push((await stepTimes(model, size, steps, fusedAdam(5e-4), { replay })).medianMs);
        model.optimizer.dispose(); // (the next compile gets a fresh one)
      }
      const [trainOnBatchMs, replayedMs] = times as [number, number];
      rows.push({ model: name, round, trainOnBatchMs, replayedMs });
      console.log(`round ${round} ${name}: Adam step ${trainOnBatchMs.toFixed(2)} ms, replayed ${replayedMs.toFixed(2)} ms`);
      save();
    }
  } finally {
    disposeModel(model);
  }
  const mine = rows.filter((r) => r.model === name);
  summary[name] = {
    trainOnBatchMs: median(mine.map((r) => r.trainOnBatchMs)), replayedMs: median(mine.map((r) => r.replayedMs)),
    ratio: median(mine.map((r) => r.replayedMs / r.trainOnBatchMs)),
  };
  console.log(`${name}: replayed / trainOnBatch (median of ${rounds} rounds) ${summary[name]!.ratio.toFixed(3)}x ` +
    `(${summary[name]!.replayedMs.toFixed(2)} against ${summary[name]!.trainOnBatchMs.toFixed(2)} ms)`);
  save();
}
