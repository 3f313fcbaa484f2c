/**
 * `latency`: per model and backend, the parameter count, the inference time of one image at
 * batch 1 (first call, then median and p90 after warm-up) and the time of one Adam step at batch 4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { BACKEND_NAMES, backendLogLine, selectBackend, type BackendChoice } from '../backend.js';
import { inferenceLatency } from '../eval/predict.js';
import { timeCalls, type Latency } from '../eval/timing.js';
import { writeJson } from '../output.js';
import { log } from '../progress.js';
import { checkInteger, checkSize, parseModels } from './options.js';
import { explainBackendFailure } from '../backend-failure.js';
import { trainingTargets } from '../train/trainer.js';
import { buildModel, disposeModel } from './run-model.js';

/** Options of {@link runLatency} (`sa-unet-bench latency`). */
export interface LatencyOptions {
  /** Models, as a list or comma-separated (default: all five). */
  models?: string | string[];
  /** Input side (default 256). */
  size?: number;
  /** Filters of the first level (default 32: the paper's networks). */
  baseFilters?: number;
  /** Backends of {@link BACKEND_NAMES} to measure (default: every one available, a software WebGPU adapter left out). */
  backends?: string | string[];
  /** Timed inference calls per model (default 20). */
  runs?: number;
  /** Timed Adam steps per model (default 5). */
  steps?: number;
  /** Also write the measurements to this JSON file. */
  out?: string;
  /** No logs (the table is still printed). */
  quiet?: boolean;
}

/** The measurements of one model on one backend. */
export interface LatencyRow {
  /** The backend measured. */
  backend: string;
  /** The model measured. */
  model: string;
  /** Its parameter count. */
  params: number;
  /** Inference of one image at batch 1. */
  inference: Latency;
  /** Median ms of an Adam step at batch 4 (after two warm-up steps). */
  stepMedianMs: number;
  /** 90th percentile ms of those steps. */
  stepP90Ms: number;
  /** Ms of the first step (graph set-up, shader compilation, optimizer state). */
  stepFirstMs: number;
}

/**
 * Median and p90 of `steps` Adam steps (batch 4) after two warm-up steps; the first step separately.
 * The optimizer is the bench's (`fusedAdam`, tfjs-core's Adam with a fused update on webgpu) unless
 * `optimizer` says otherwise (e.g. `tf.train.adam` for a stock baseline).
 */
export async function stepTimes(model: ReturnType<typeof buildModel>, size: number, steps: number,
  optimizer: tf.Optimizer = fusedAdam(5e-4)): Promise<Latency> {
  model.compile({ optimizer, loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 4), 0.8), 'float32'));
  const step = async () => {
    const t0 = performance.now();
    await model.trainOnBatch(x, trainingTargets(model, y)).catch((err: unknown) => { // reads the loss back, so the step is complete
      throw explainBackendFailure(err, { activity: 'training', model: model.name, size, batchSize: 4 });
    });
    return performance.now() - t0;
  };
  try {
    return await timeCalls(step, 2, steps);
  } finally {
    tf.dispose([x, y]);
  }
}

/** Measures every model on every backend asked for (or available), prints the table and returns its rows. */
export async function runLatency(opts: LatencyOptions): Promise<LatencyRow[]> {
  const show = !opts.quiet;
  const models = parseModels(opts.models);
  const size = checkSize(opts.size ?? 256);
  const baseFilters = checkInteger(opts.baseFilters ?? 32, '--base-filters', 4);
  const runs = checkInteger(opts.runs ?? 20, '--runs', 1);
  const steps = checkInteger(opts.steps ?? 5, '--steps', 1);
  const requested = opts.backends === undefined ? null
    : (Array.isArray(opts.backends) ? opts.backends : opts.backends.split(',')).map((b) => b.trim()).filter(Boolean);
  for (const b of requested ?? []) {
    if (!(BACKEND_NAMES as readonly string[]).includes(b)) {
      throw new Error(`--backends: unknown backend ${JSON.stringify(b)}; expected any of ${BACKEND_NAMES.join(', ')}`);
    }
  }
  const rows: LatencyRow[] = [];
  for (const choice of (requested ?? ['tensorflow', 'webgpu', 'wasm']) as BackendChoice[]) {
    let backend;
    try {
      // By default a software WebGPU adapter (lavapipe) is skipped: its timings say nothing of a GPU.
      backend = await selectBackend(choice, { softwareWebGPU: requested !== null });
    } catch (err) {
      if (requested !== null) throw err;
      log(show, `skipping ${choice}: ${(err as Error).message}`);
      continue;
    }
    log(show, backendLogLine(backend));
    for (const name of models) {
      const model = buildModel(name, { size, baseFilters }, 1);
      const inference = await inferenceLatency(model, size, 1, 3, runs);
      const step = await stepTimes(model, size, steps);
      rows.push({ backend: backend.name, model: name, params: model.countParams(), inference, stepMedianMs: step.medianMs, stepP90Ms: step.p90Ms, stepFirstMs: step.firstMs });
      log(show, `  ${name}: ${inference.medianMs.toFixed(2)} ms/image, Adam step ${step.medianMs.toFixed(1)} ms`);
      disposeModel(model);
    }
  }
  const table = [
    `Latency at ${size}x${size}x1, base ${baseFilters}: inference at batch 1 (median / p90 of ${runs} after warm-up; first call), Adam step at batch 4 (median / p90 of ${steps}; first step)`,
    '',
    '| backend | model | parameters | inference ms (median / p90) | first call ms | Adam step ms (median / p90) | first step ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.backend} | ${r.model} | ${r.params.toLocaleString('en-US')} | ${r.inference.medianMs.toFixed(2)} / ${r.inference.p90Ms.toFixed(2)} | ` +
      `${r.inference.firstMs.toFixed(0)} | ${r.stepMedianMs.toFixed(1)} / ${r.stepP90Ms.toFixed(1)} | ${r.stepFirstMs.toFixed(0)} |`),
    '',
  ].join('\n');
  process.stdout.write(table);
  if (opts.out !== undefined) await writeJson(opts.out, { size, baseFilters, runs, steps, node: process.version, date: new Date().toISOString(), rows });
  return rows;
}
