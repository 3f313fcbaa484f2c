/**
 * For the GPU scripts that compare versions of one kernel: the distinct calls a training step makes
 * to it, and the time of one call (GPU time from timestamp queries, wall time to a read-back).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { percentile } from '@sa-unet/seg-metrics';
import { setupNodeWebGPU } from '@sa-unet/tfjs-kernels';
import type { ModelName } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { measureModel, stepTimes, type LatencyRow } from '../src/commands/latency.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { timeCalls, type Latency } from '../src/eval/timing.js';
import { callTimes, profileStep, totalMs } from './kernel-totals.js';

/** One distinct call of a kernel: which kernel, its inputs' shapes by name, its attributes, how often it came. */
export interface KernelCall {
  kernel: string;
  shapes: Record<string, number[]>;
  attrs: tf.NamedAttrMap;
  calls: number;
}

/** Registers `kernelFunc` as `name` on `backend` (keeping the registered config's other fields). */
export function useKernel(name: string, backend: string, kernelFunc: tf.KernelFunc): void {
  const config = tf.getKernel(name, backend);
  if (config === undefined) throw new Error(`no kernel ${name} registered for ${backend}`);
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...config, kernelFunc });
}

/** The distinct calls to the kernels `names` on `backend` while `run` runs (the registered kernels compute them). */
export async function recordKernelCalls(names: readonly string[], backend: string, run: () => Promise<void>): Promise<KernelCall[]> {
  const registered = names.map((name) => tf.getKernel(name, backend)!);
  const seen = new Map<string, KernelCall>();
  for (const { kernelName: kernel, kernelFunc } of registered) {
    useKernel(kernel, backend, (args) => {
      // Optional inputs (a fused convolution's bias, say) come as undefined when absent.
      const shapes = Object.fromEntries(Object.entries(args.inputs).filter(([, t]) => t !== undefined)
        .map(([k, t]) => [k, [...(t as tf.TensorInfo).shape]]));
      const key = JSON.stringify([kernel, shapes, args.attrs]);
      const entry = seen.get(key) ?? { kernel, shapes, attrs: { ...args.attrs }, calls: 0 };
      entry.calls++;
      seen.set(key, entry);
      return kernelFunc(args);
    });
  }
  try {
    await run();
  } finally {
    for (const { kernelName, kernelFunc } of registered) useKernel(kernelName, backend, kernelFunc);
  }
  return [...seen.values()];
}

export interface KernelTime { gpuMs: number; wallMs: number }

/**
 * ms per call of the registered `name`: median wall time to a read-back, then the median GPU time
 * of `runs` calls sent back to back under one tf.profile, one read-back after the last (NaN without
 * timestamp queries), apart so that the profiler's own work stays out of the wall times. Back to
 * back, as a step runs them: on the H200 (2026-12-04) calls timed one by one, each after a
 * read-back, added up to about twice their time in whole steps (tfjs-kernels NOTES.md, "Tilings
 * measured on one H200"; gpu-conv-scaling.ts measures both ways).
 */
async function timeKernelCall(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap, runs: number): Promise<KernelTime> {
  const call = () => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
  const wall = await timeCalls(async () => {
    const t0 = performance.now();
    const r = call();
    await r.data();
    r.dispose();
    return performance.now() - t0;
  }, 1, runs);
  const info = await tf.profile(async () => {
    const results = Array.from({ length: runs }, call);
    await results[results.length - 1]!.data();
    tf.dispose(results);
  });
  return { gpuMs: percentile(callTimes(info, name), 50), wallMs: wall.medianMs };
}

/** max |a - b| / max |a|, computed on the backend (the tensors may be large). */
async function differenceRelativeToLargest(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const maxima = tf.tidy(() => tf.stack([tf.max(tf.abs(a)), tf.max(tf.abs(tf.sub(a, b)))]));
  const [scale, diff] = (await maxima.data()) as Float32Array;
  maxima.dispose();
  return diff! / scale!;
}

/** One model's Adam step with one version of a kernel: wall times, the step's GPU time and the kernel's share. */
export interface VariantStep {
  round: number;
  variant: string;
  model: string;
  step: Latency;
  gpuMs: number;
  kernelGpuMs: number;
  kernelCalls: number;
}

/**
 * The Adam step (batch 4) of each model with each version of kernel `name` on webgpu, in
 * alternating rounds (wall times drift between calls on a GPU machine); the registered kernel
 * afterwards. `onRow` gets each row as it is measured.
 */
export async function stepsPerVariant(name: string, variants: Record<string, tf.KernelFunc>,
  options: { models: ModelName[]; size: number; baseFilters: number; steps: number; rounds: number }, onRow: (row: VariantStep) => void): Promise<void> {
  const registered = tf.getKernel(name, 'webgpu')!;
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const [variant, kernelFunc] of Object.entries(variants)) {
        useKernel(name, 'webgpu', kernelFunc);
        for (const model of options.models) {
          const built = buildModel(model, { size: options.size, baseFilters: options.baseFilters }, 1);
          try {
            const step = await stepTimes(built, options.size, options.steps);
            const totals = await profileStep(built, options.size);
            const { ms: kernelGpuMs, calls: kernelCalls } = totals.find((k) => k.kernel === name) ?? { ms: 0, calls: 0 };
            const gpuMs = totalMs(totals);
            console.log(`round ${round} ${variant} ${model}: Adam step ${step.medianMs.toFixed(1)} ms (p90 ${step.p90Ms.toFixed(1)}); ` +
              `GPU ${gpuMs.toFixed(1)} ms, of it ${name} ${kernelGpuMs.toFixed(1)} ms x${kernelCalls}`);
            onRow({ round, variant, model, step, gpuMs, kernelGpuMs, kernelCalls });
          } finally {
            disposeModel(built);
          }
        }
      }
    }
  } finally {
    useKernel(name, 'webgpu', registered.kernelFunc);
  }
}

/** One version's time on one call, and its largest difference from the reference version's result (over the largest |value|). */
export interface VariantTime extends KernelTime { difference: number }

/**
 * One recorded call of a kernel (random inputs in [-1, 1] of its shapes) with each version of it
 * (`use(variant)` registers one): its time, its difference from version `reference`, and the
 * fastest version by GPU time.
 */
async function compareVariantsOnCall(call: KernelCall, variants: string[], use: (variant: string) => void,
  reference: string, runs: number): Promise<{ times: Record<string, VariantTime>; best: string }> {
  const { kernel } = call;
  const inputs = Object.fromEntries(Object.entries(call.shapes).map(([k, shape], i) => [k, tf.randomUniform(shape, -1, 1, 'float32', i + 1)]));
  use(reference);
  const expected = tf.engine().runKernel(kernel, inputs, call.attrs) as tf.Tensor;
  const times: Record<string, VariantTime> = {};
  try {
    for (const variant of variants) {
      use(variant);
      const time = await timeKernelCall(kernel, inputs, call.attrs, runs);
      const actual = tf.engine().runKernel(kernel, inputs, call.attrs) as tf.Tensor;
      times[variant] = { ...time, difference: await differenceRelativeToLargest(expected, actual) };
      actual.dispose();
    }
  } finally {
    tf.dispose([expected, ...Object.values(inputs)]);
  }
  const [best] = Object.entries(times).reduce((a, b) => (b[1].gpuMs < a[1].gpuMs ? b : a));
  return { times, best };
}

/** What {@link compareVariantsOnCall} found for one call. */
export interface CallComparison { times: Record<string, VariantTime>; best: string }

/**
 * {@link compareVariantsOnCall} for each of `calls`, each logged under `label(call)` and handed to
 * `onCall`; returns the GPU ms of all of them (each times its count) with each version and with the
 * fastest version per call, logged under `label(null)`.
 */
export async function compareVariantsOnCalls(calls: KernelCall[], variants: string[], use: (variant: string) => void, reference: string,
  runs: number, label: (call: KernelCall | null) => string, onCall: (call: KernelCall, comparison: CallComparison) => void,
): Promise<{ gpuMs: Record<string, number>; bestPerCallGpuMs: number }> {
  const gpuMs: Record<string, number> = Object.fromEntries(variants.map((v) => [v, 0]));
  let bestPerCallGpuMs = 0;
  for (const call of calls) {
    const comparison = await compareVariantsOnCall(call, variants, use, reference, runs);
    for (const [variant, time] of Object.entries(comparison.times)) gpuMs[variant]! += call.calls * time.gpuMs;
    bestPerCallGpuMs += call.calls * comparison.times[comparison.best]!.gpuMs;
    const { times, best } = comparison;
    console.log(`${label(call)}: ${reference} ${times[reference]!.gpuMs.toFixed(3)} ms GPU, best ${best} ${times[best]!.gpuMs.toFixed(3)} ms ` +
      `(${times[best]!.wallMs.toFixed(2)} wall); largest difference ${Math.max(...Object.values(times).map((t) => t.difference)).toExponential(1)} of the largest value`);
    onCall(call, comparison);
  }
  console.log(`${label(null)}: GPU ms of all calls: ${Object.entries(gpuMs).map(([v, ms]) => `${v} ${ms.toFixed(2)}`).join('; ')}; ` +
    `the fastest per call ${bestPerCallGpuMs.toFixed(2)}`);
  return { gpuMs, bestPerCallGpuMs };
}

/**
 * Each model's forward latency (batch 1) and Adam step (batch 4) under each version (`variants[v]()`
 * puts it in place), alternating in rounds, since wall times drift between calls on a GPU machine.
 */
export async function latencyPerVariant(variants: Record<string, () => void>,
  options: { models: ModelName[]; size: number; baseFilters: number; runs: number; steps: number; rounds: number },
  onRow: (row: LatencyRow & { round: number; variant: string }) => void): Promise<void> {
  const { models, size, baseFilters, runs, steps, rounds } = options;
  for (let round = 0; round < rounds; round++) {
    for (const [variant, apply] of Object.entries(variants)) {
      apply();
      for (const model of models) {
        const row = await measureModel({ backend: 'webgpu', model, size, baseFilters, runs, steps });
        console.log(`round ${round} ${variant} ${model}: forward ${row.inference?.medianMs.toFixed(2)} ms (p90 ${row.inference?.p90Ms.toFixed(2)}), ` +
          `Adam step ${row.stepMedianMs?.toFixed(1)} ms (p90 ${row.stepP90Ms?.toFixed(1)})${row.error === undefined ? '' : `; ${row.error}`}`);
        onRow({ round, variant, ...row });
      }
    }
  }
}

/**
 * For each round of latencyPerVariant's rows that has both: combine(the model's `pick` under
 * `reference`, the same under `other`); rounds where either is missing are left out.
 */
export function perRound(rows: Array<LatencyRow & { round: number; variant: string }>, model: string, rounds: number,
  reference: string, other: string, pick: (r: LatencyRow) => number | null | undefined, combine: (reference: number, other: number) => number): number[] {
  return Array.from({ length: rounds }, (_, round) => {
    const at = (variant: string) => {
      const row = rows.find((r) => r.model === model && r.round === round && r.variant === variant);
      return row === undefined ? undefined : pick(row);
    };
    const [a, b] = [at(reference), at(other)];
    return a == null || b == null ? NaN : combine(a, b);
  }).filter((v) => !Number.isNaN(v));
}

/** The command-line options of the GPU comparison scripts, parsed. */
export interface ComparisonOptions {
  /** --size: input side (default 256). */
  size: number;
  /** --base-filters (default 32). */
  baseFilters: number;
  /** --runs: timed calls per version and shape, or forward passes per timing (default per script). */
  runs: number;
  /** --steps: timed Adam steps (default 5). */
  steps: number;
  /** --rounds: alternating rounds of the step comparisons (default per script). */
  rounds: number;
  /** --models (default unet,sa-unet). */
  models: ModelName[];
  /** --out: a JSON file for the results. */
  out: string | undefined;
  /** Every option's raw value, the script's own (`extra`) included. */
  values: Record<string, string | undefined>;
}

/** The options every comparison script takes, plus `extra` string options of its own. */
export function comparisonOptions(defaults: { runs: number; rounds: number }, extra: Record<string, string> = {}): ComparisonOptions {
  const { values } = parseArgs({ options: {
    size: { type: 'string', default: '256' },
    'base-filters': { type: 'string', default: '32' },
    runs: { type: 'string', default: String(defaults.runs) },
    steps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: String(defaults.rounds) },
    models: { type: 'string', default: 'unet,sa-unet' },
    out: { type: 'string' },
    ...Object.fromEntries(Object.entries(extra).map(([name, value]) => [name, { type: 'string' as const, default: value }])),
  } });
  const raw = values as Record<string, string | undefined>;
  return {
    size: Number(raw['size']), baseFilters: Number(raw['base-filters']), runs: Number(raw['runs']), steps: Number(raw['steps']),
    rounds: Number(raw['rounds']), models: raw['models']!.split(',') as ModelName[], out: raw['out'], values: raw,
  };
}

/**
 * The webgpu backend with our kernels (a clear error without an adapter), on Dawn made with
 * `dawn`'s comma-separated flags (a script's --dawn; `backend=null`: Dawn's null backend, which
 * runs no shaders, so that a script times the CPU's work alone). Returns the adapter's description
 * and the flags.
 */
export async function selectWebGPU(dawn = ''): Promise<{ adapter: string; dawnFlags: string[] }> {
  const dawnFlags = dawn === '' ? [] : dawn.split(',');
  await setupNodeWebGPU({ dawnFlags }); // before selectBackend, whose own call then finds this one's navigator.gpu
  const { description: adapter } = await selectBackend('webgpu');
  return { adapter, dawnFlags };
}
