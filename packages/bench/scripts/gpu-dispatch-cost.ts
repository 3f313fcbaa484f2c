/**
 * What one dispatch costs a training step's wall time on a GPU machine, measured in the step: each
 * model's Adam step as built and with tiny extra dispatches after each batch-norm kernel of
 * @sa-unet/tfjs-kernels (`--extra`, default 4 and 8 per batch norm: 4 is what finishing batch
 * norm's per-channel results in one dispatch took away, 2026-12-04), in alternating rounds, since
 * wall times drift between calls. The extra dispatches are what those were: a stock kernel on a
 * per-channel vector, one small program each. The slope, (step with extra - step as built) / extra
 * dispatches per step, is the wall time one dispatch adds where it lands (CPU time not hidden
 * behind the GPU's, or GPU time between kernels), the figure every count of dispatches saved is
 * multiplied by (about 0.05 ms estimated from an H100's CPU profile, 2026-11-27). Lavapipe runs it
 * (there a dispatch's cost is the CPU's, twice over); its figures say nothing of a GPU.
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-dispatch-cost --size 256 --out $OUT/dispatch-cost.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { percentile } from '@sa-unet/seg-metrics';
import { BATCH_NORM_KERNELS } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import type { LatencyRow } from '../src/commands/latency.js';
import { stepDispatches } from './dispatch-counter.js';
import { comparisonOptions, latencyPerVariant, perRound } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out, values } = comparisonOptions({ runs: 3, rounds: 3 }, { extra: '4,8' });
const extras = values['extra']!.split(',').map(Number);
if (extras.some((n) => !Number.isInteger(n) || n < 1 || n % 4 !== 0)) throw new Error(`--extra must be positive multiples of 4 separated by commas, got '${values['extra']}'`);

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

// After each batch-norm kernel, stock Neg programs on one of its per-channel outputs: three
// quarters of `extraPerBatchNorm` after the moments, a quarter after the gradient (4: 3 and 1, as
// removed).
let extraPerBatchNorm = 0;
// [kernel, the per-channel output the extra programs read (mean; dScale), its share of them]
for (const [kernel, output, share] of [[BATCH_NORM_KERNELS.moments, 0, 0.75], [BATCH_NORM_KERNELS.gradient, 1, 0.25]] as const) {
  const config = tf.getKernel(kernel, 'webgpu');
  if (config === undefined) throw new Error(`${kernel} is not registered for webgpu`);
  const neg = tf.getKernel('Neg', 'webgpu')!.kernelFunc;
  tf.unregisterKernel(kernel, 'webgpu');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      const outputs = config.kernelFunc(args) as tf.TensorInfo[];
      for (let i = 0; i < extraPerBatchNorm * share; i++) {
        const t = neg({ inputs: { x: outputs[output]! }, backend: args.backend, attrs: {} }) as tf.TensorInfo;
        (args.backend as tf.KernelBackend).disposeData(t.dataId);
      }
      return outputs;
    },
  });
}

const variants = [0, ...extras];
const dispatches: Record<string, Record<number, number>> = {};
for (const model of models) {
  dispatches[model] = {};
  for (const extra of variants) {
    extraPerBatchNorm = extra;
    dispatches[model]![extra] = await stepDispatches(model, size, baseFilters);
  }
  console.log(`${model}: dispatches per step ${variants.map((extra) => `+${extra} per batch norm: ${dispatches[model]![extra]}`).join(', ')}`);
}

const rows: Array<LatencyRow & { round: number; variant: string }> = [];
const slopes: Record<string, Record<string, number>> = {};
const label = (extra: number) => (extra === 0 ? 'as built' : `+${extra} per batch norm`);
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, dispatches, rows, slopes }, null, 2));
};
await latencyPerVariant(Object.fromEntries(variants.map((extra) => [label(extra), () => { extraPerBatchNorm = extra; }])),
  { models, size, baseFilters, runs, steps, rounds }, (row) => {
    rows.push(row);
    save();
  });
extraPerBatchNorm = 0;

// Per model and extra count: the median over rounds of (step with extra - step as built) per extra dispatch.
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
for (const model of models) {
  slopes[model] = {};
  for (const extra of extras) {
    const added = dispatches[model]![extra]! - dispatches[model]![0]!;
    const slopePerRound = perRound(rows, model, rounds, label(0), label(extra), (r) => r.stepMedianMs, (base, more) => (more - base) / added);
    if (slopePerRound.length === 0) continue;
    slopes[model]![label(extra)] = median(slopePerRound);
    console.log(`${model}, ${label(extra)} (${added} dispatches more per step): ${median(slopePerRound).toFixed(4)} ms per dispatch ` +
      `(median of ${slopePerRound.length} rounds: ${slopePerRound.map((v) => v.toFixed(4)).join(', ')})`);
  }
}
save();
