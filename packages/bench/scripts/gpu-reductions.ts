/**
 * The per-channel reductions' thread layouts of @sa-unet/tfjs-kernels (REDUCTION_LAYOUT,
 * 2026-12-05) on a GPU machine: 'parallel', the default, against 'serial', the layout of the H200
 * measurements of 2026-12-04 (batch norm's and channel attention's sums, the depthwise filter
 * gradient's chunks, the separable convolution's input channels split among threads or not, the
 * forward convolution's reduction split where its output tiles are few or not). First the GPU time (tf.profile, exact timestamps) of one Adam step at
 * batch 4 and one forward pass at batch 1 per layout, in total and for the kernels the layouts
 * serve; then wall times in alternating rounds. Lavapipe runs it (its timings say nothing of a GPU).
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-reductions --size 256 --out $OUT/reductions.json
 */
import { writeFileSync } from 'node:fs';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import { BATCH_NORM_KERNELS, CHANNEL_ATTENTION_KERNELS, REDUCTION_LAYOUT, SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL, fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import type { LatencyRow } from '../src/commands/latency.js';
import { comparisonOptions, latencyPerVariant, perRound } from './kernel-calls.js';
import { profileForward, profileStep, totalMs, trainOneBatch, type KernelTotal } from './kernel-totals.js';

const { size, baseFilters, runs, steps, rounds, models, out } = comparisonOptions({ runs: 30, rounds: 3 });

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

/** The kernels whose programs the layouts change. */
const SERVED = [BATCH_NORM_KERNELS.moments, BATCH_NORM_KERNELS.gradient, CHANNEL_ATTENTION_KERNELS.forward, CHANNEL_ATTENTION_KERNELS.gradient,
  'DepthwiseConv2dNativeBackpropFilter', SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL, 'Conv2D', 'FusedConv2D'];
const LAYOUTS = ['parallel', 'serial'] as const;
const use = (layout: (typeof LAYOUTS)[number]) => { REDUCTION_LAYOUT.current = layout; };

const profiles: Array<{ model: string; layout: string; stepGpuMs: number; forwardGpuMs: number; step: KernelTotal[]; forward: KernelTotal[] }> = [];
const rows: Array<LatencyRow & { round: number; variant: string }> = [];
const ratios: Record<string, { step: number; forward: number }> = {};
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, runs, steps, rounds, profiles, rows, ratios }, null, 2));
};

for (const model of models) {
  for (const layout of LAYOUTS) {
    use(layout);
    const built = buildModel(model, { size, baseFilters }, 1);
    built.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss }); // as the bench trains
    try {
      await trainOneBatch(built, size); // compiles the step's shaders outside the profile
      const step = await profileStep(built, size);
      const forward = await profileForward(built, size);
      const served = (totals: KernelTotal[]) => totals.filter((k) => SERVED.includes(k.kernel));
      profiles.push({ model, layout, stepGpuMs: totalMs(step), forwardGpuMs: forward.gpuMs, step: served(step), forward: served(forward.totals) });
      const text = (totals: KernelTotal[]) => totals.map((k) => `${k.kernel} ${k.ms.toFixed(2)} x${k.calls}`).join(', ');
      console.log(`${model} ${layout}: GPU ms per step ${totalMs(step).toFixed(2)} (${text(served(step))}); per forward pass ${forward.gpuMs.toFixed(2)} (${text(served(forward.totals))})`);
    } finally {
      disposeModel(built);
    }
    save();
  }
}

await latencyPerVariant(Object.fromEntries(LAYOUTS.map((layout) => [layout, () => use(layout)])),
  { models, size, baseFilters, runs, steps, rounds }, (row) => {
    rows.push(row);
    save();
  });
use('parallel');

// Per model: the median over rounds of parallel / serial, step and forward.
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
for (const model of models) {
  const ratio = (pick: (r: LatencyRow) => number | null | undefined) =>
    median(perRound(rows, model, rounds, 'serial', 'parallel', pick, (base, other) => other / base));
  ratios[model] = { step: ratio((r) => r.stepMedianMs), forward: ratio((r) => r.inference?.medianMs) };
  console.log(`${model}, parallel / serial (median of ${rounds} rounds): step ${ratios[model]!.step.toFixed(3)}x, forward ${ratios[model]!.forward.toFixed(3)}x`);
}
save();
