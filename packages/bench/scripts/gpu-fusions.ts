/**
 * What the fusions of 2026-12-05 do to a training step and a forward pass on a GPU machine, each
 * taken away in turn, in alternating rounds (wall times drift between calls): the batch norm that
 * applies the ReLU after it (BATCH_NORM_KERNELS.normalizeRelu; without it the zoo's ReLU layers run
 * Relu and the ReLU gradient of their own), the soft-Dice kernels (SOFT_DICE_KERNELS; without them
 * diceLoss runs on stock kernels), the separable stages in one dispatch in training
 * (SEPARABLE_CONV_TRAINING_KERNEL; without it a depthwise and a 1x1 convolution each) and sigmoid's
 * gradient in one (SIGMOID_GRAD_KERNEL; without it tfjs-core's three kernels). Lavapipe runs
 * it (its timings say nothing of a GPU); it prints the dispatches per step of each version.
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-fusions --size 256 --out $OUT/fusions.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { percentile } from '@sa-unet/seg-metrics';
import { BATCH_NORM_KERNELS, SEPARABLE_CONV_TRAINING_KERNEL, SIGMOID_GRAD_KERNEL, SOFT_DICE_KERNELS } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import type { LatencyRow } from '../src/commands/latency.js';
import { stepDispatches } from './dispatch-counter.js';
import { comparisonOptions, latencyPerVariant, perRound } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out } = comparisonOptions({ runs: 30, rounds: 3 });

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

/** Each fusion and the kernels that taking it away unregisters (the layers then compose stock kernels). */
const FUSIONS: Record<string, readonly string[]> = {
  'batch norm + ReLU': [BATCH_NORM_KERNELS.normalizeRelu],
  'soft Dice': Object.values(SOFT_DICE_KERNELS),
  'separable training': [SEPARABLE_CONV_TRAINING_KERNEL],
  'sigmoid gradient': [SIGMOID_GRAD_KERNEL],
};
const configs = new Map(Object.values(FUSIONS).flat().map((name) => {
  const config = tf.getKernel(name, 'webgpu');
  if (config === undefined) throw new Error(`${name} is not registered for webgpu`);
  return [name, config] as const;
}));

/** Every fusion's kernels registered but those of `without`. */
function use(without: readonly string[]): void {
  for (const [name, config] of configs) {
    const registered = tf.getKernel(name, 'webgpu') !== undefined;
    if (registered && without.includes(name)) tf.unregisterKernel(name, 'webgpu');
    if (!registered && !without.includes(name)) tf.registerKernel(config);
  }
}

const variants: Record<string, readonly string[]> = {
  'all fusions': [],
  ...Object.fromEntries(Object.entries(FUSIONS).map(([fusion, kernels]) => [`without ${fusion}`, kernels])),
  'none of them': [...configs.keys()],
};

const dispatches: Record<string, Record<string, number>> = {};
for (const model of models) {
  dispatches[model] = {};
  for (const [variant, without] of Object.entries(variants)) {
    use(without);
    dispatches[model]![variant] = await stepDispatches(model, size, baseFilters);
  }
  console.log(`${model}: dispatches per step ${Object.entries(dispatches[model]!).map(([v, n]) => `${v} ${n}`).join(', ')}`);
}

const rows: Array<LatencyRow & { round: number; variant: string }> = [];
const ratios: Record<string, Record<string, { step: number; forward: number }>> = {};
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, dispatches, rows, ratios }, null, 2));
};
await latencyPerVariant(Object.fromEntries(Object.entries(variants).map(([variant, without]) => [variant, () => use(without)])),
  { models, size, baseFilters, runs, steps, rounds }, (row) => {
    rows.push(row);
    save();
  });
use([]);

// Per model and variant: the median over rounds of its time / the time with all fusions, step and forward.
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
for (const model of models) {
  ratios[model] = {};
  for (const variant of Object.keys(variants).slice(1)) {
    const ratio = (pick: (r: LatencyRow) => number | null | undefined) =>
      median(perRound(rows, model, rounds, 'all fusions', variant, pick, (base, other) => other / base));
    ratios[model]![variant] = { step: ratio((r) => r.stepMedianMs), forward: ratio((r) => r.inference?.medianMs) };
    console.log(`${model}, ${variant} / all fusions (median of ${rounds} rounds): step ${ratios[model]![variant]!.step.toFixed(3)}x, ` +
      `forward ${ratios[model]![variant]!.forward.toFixed(3)}x`);
  }
}
save();
