/**
 * @sa-unet/tfjs-kernels' bind group cache (cacheBindGroups) on and off, in alternating rounds:
 * Adam steps at batch 4 and forward passes at batch 1, and the bind groups one step creates with
 * it on. On a GPU machine that is wall time; with `--dawn backend=null`, on Dawn's null backend,
 * which runs no shaders, the CPU's work alone, on any machine (the null device holds 512 MB: at
 * most 64x64 for these networks):
 *   npx tsx scripts/bind-group-cache.ts --dawn backend=null --size 64 --steps 8 --runs 20
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs bind-group-cache --size 256 --out $OUT/bind-groups.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { percentile } from '@sa-unet/seg-metrics';
import { BIND_GROUP_CACHE_FLAG, bindGroupCacheStats } from '@sa-unet/tfjs-kernels';
import type { LatencyRow } from '../src/commands/latency.js';
import { afterSteps, countDispatches } from './dispatch-counter.js';
import { comparisonOptions, latencyPerVariant, perRound, selectWebGPU } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out, values } = comparisonOptions({ runs: 30, rounds: 3 }, { dawn: '' });
const { adapter, dawnFlags } = await selectWebGPU(values['dawn']);

const variants = { cached: true, uncached: false };
const use = (on: boolean) => tf.env().set(BIND_GROUP_CACHE_FLAG, on);

// Per model: the dispatches of its sixth step, and the bind groups that step created and reused, cache on.
const perStep: Record<string, { dispatches: number; reused: number; created: number }> = {};
for (const model of models) {
  use(true);
  perStep[model] = await afterSteps(model, size, baseFilters, 5, async (step) => {
    const before = bindGroupCacheStats(tf.backend());
    const counter = countDispatches();
    await step();
    counter.stop();
    const after = bindGroupCacheStats(tf.backend());
    if (before === null || after === null) throw new Error('the bind group cache is not on: is @sa-unet/tfjs-kernels registered for webgpu?');
    return { dispatches: counter.count, reused: after.hits - before.hits, created: after.misses - before.misses };
  });
  console.log(`${model}: sixth step ${perStep[model]!.dispatches} dispatches, ${perStep[model]!.created} bind groups created, ${perStep[model]!.reused} reused`);
}

const rows: Array<LatencyRow & { round: number; variant: string }> = [];
const ratios: Record<string, { step: number; forward: number }> = {};
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, dawnFlags, size, baseFilters, perStep, rows, ratios }, null, 2));
};
await latencyPerVariant(Object.fromEntries(Object.entries(variants).map(([variant, on]) => [variant, () => use(on)])),
  { models, size, baseFilters, runs, steps, rounds }, (row) => {
    rows.push(row);
    save();
  });
use(true);

// Per model: the median over rounds of cached / uncached, step and forward.
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
for (const model of models) {
  const ratio = (pick: (r: LatencyRow) => number | null | undefined) =>
    median(perRound(rows, model, rounds, 'uncached', 'cached', pick, (base, other) => other / base));
  ratios[model] = { step: ratio((r) => r.stepMedianMs), forward: ratio((r) => r.inference?.medianMs) };
  console.log(`${model}, cached / uncached (median of ${rounds} rounds): step ${ratios[model]!.step.toFixed(3)}x, forward ${ratios[model]!.forward.toFixed(3)}x`);
}
save();
