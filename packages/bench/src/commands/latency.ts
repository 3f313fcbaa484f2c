/**
 * `latency`: per model and backend, the parameter count, the inference time of one image at
 * batch 1 (first call, then median and p90 after warm-up; with `--fold-batch-norm` also that of
 * the model with its batch norms folded, as deployed; with `--replay` also replayed, as
 * `replayPredict` of @sa-unet/tfjs-kernels runs it on webgpu) and the time of one Adam step at
 * batch 4 (with `--replay` also replayed, as `replayTrainStep` runs it).
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { foldBatchNorm, multiplyAdds, type ModelName } from '@sa-unet/unet-zoo';
import { BACKEND_NAMES, backendLogLine, isCpuBackend, selectBackend, type BackendChoice } from '../backend.js';
import { inferenceLatency } from '../eval/predict.js';
import { timeCalls, type Latency } from '../eval/timing.js';
import { writeJson } from '../output.js';
import { log } from '../progress.js';
import { checkInteger, checkModelBaseFilters, checkSize, parseModels } from './options.js';
import { baseFiltersOf } from '../train/presets.js';
import { explainBackendFailure } from '../backend-failure.js';
import { replayedStep, trainingTargets } from '../train/trainer.js';
import { workerUrl } from './jobs.js';
import { buildModel, disposeModel } from './run-model.js';
import { errorMessage } from '../errors.js';

/** Options of {@link runLatency} (`sa-unet-bench latency`). */
export interface LatencyOptions {
  /** Models, as a list or comma-separated (default: all five). */
  models?: string | string[];
  /** Input side (default 256). */
  size?: number;
  /** Filters of the first level (default 32: the paper's networks). */
  baseFilters?: number;
  /** Base widths of single models, by model name (`--base-filters unet=4`); the others get `baseFilters`. */
  modelBaseFilters?: Record<string, number>;
  /** Backends of {@link BACKEND_NAMES} to measure (default: every one available, a software WebGPU adapter left out). */
  backends?: string | string[];
  /** Timed inference calls per model (default 20). */
  runs?: number;
  /** Timed Adam steps per model (default 5). */
  steps?: number;
  /** Also time inference with the batch norms folded into the convolutions before them (`foldBatchNorm` of @sa-unet/unet-zoo). Default false. */
  foldBatchNorm?: boolean;
  /**
   * Also time inference replayed (`replayPredict` of @sa-unet/tfjs-kernels: on webgpu the recorded
   * commands without tfjs's work per layer; elsewhere the model itself), with `foldBatchNorm` the
   * folded model replayed, and Adam steps replayed (`replayTrainStep`). Default false.
   */
  replay?: boolean;
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
  /** Multiply-adds of its forward pass per image (unet-zoo's `multiplyAdds`; absent in rows written before it was counted, NaN where the model was not built). */
  multiplyAdds?: number;
  /** Inference of one image at batch 1; null where it could not be measured (see `error`). */
  inference: Latency | null;
  /** The same with the batch norms folded (`foldBatchNorm`), where asked for; null where it could not be measured. */
  foldedInference?: Latency | null;
  /** Inference replayed (`replayPredict`), where asked for; null where it could not be measured. */
  replayedInference?: Latency | null;
  /** The folded model's inference replayed, where both were asked for; null where it could not be measured. */
  foldedReplayedInference?: Latency | null;
  /** Median ms of an Adam step at batch 4 (after two warm-up steps); null where it could not be measured. */
  stepMedianMs: number | null;
  /** 90th percentile ms of those steps; null where they could not be measured. */
  stepP90Ms: number | null;
  /** Ms of the first step (graph set-up, shader compilation, optimizer state); null where it could not be measured. */
  stepFirstMs: number | null;
  /** Median and p90 ms of Adam steps replayed (`replayTrainStep`, after four calls: run, recorded twice, replayed), where asked for; null where they could not be measured. */
  replayedStep?: {
    /** Median ms. */
    medianMs: number;
    /** 90th percentile ms. */
    p90Ms: number;
  } | null;
  /** Why a measurement is missing (e.g. the backend ran out of memory); absent when both were measured. */
  error?: string;
}

/** One model's measurement: what a worker thread needs to make it. */
export interface LatencyJob {
  /** Backend to measure on (a worker selects it; {@link measureModel} measures on the active one). */
  backend: BackendChoice;
  /** Model to measure. */
  model: ModelName;
  /** Input side. */
  size: number;
  /** Filters of the first level. */
  baseFilters: number;
  /** Timed inference calls. */
  runs: number;
  /** Timed Adam steps. */
  steps: number;
  /** Also time inference of the model with its batch norms folded. */
  foldBatchNorm?: boolean;
  /** Also time inference replayed (of the folded model too, with `foldBatchNorm`). */
  replay?: boolean;
}

/**
 * Median and p90 of `steps` Adam steps (batch 4) after two warm-up steps; the first step separately.
 * The optimizer is the bench's (`fusedAdam`, tfjs-core's Adam with a fused update on webgpu) unless
 * `optimizer` says otherwise (e.g. `tf.train.adam` for a stock baseline). With `replay`, the steps
 * run through `replayTrainStep` (fusedAdam only) after four warm-up steps: a first call, two
 * recordings, a first replay.
 */
export async function stepTimes(model: ReturnType<typeof buildModel>, size: number, steps: number,
  optimizer: tf.Optimizer = fusedAdam(5e-4), { replay = false } = {}): Promise<Latency> {
  model.compile({ optimizer, loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 4), 0.8), 'float32'));
  const targets = trainingTargets(model, y);
  const replayed = replay ? replayTrainStep(model) : null;
  // Each reads the losses back, so the step is complete.
  const train = () => (replayed === null ? model.trainOnBatch(x, targets) : replayedStep(replayed, x, targets));
  const step = async () => {
    const t0 = performance.now();
    await train().catch((err: unknown) => {
      throw explainBackendFailure(err, { activity: 'training', model: model.name, size, batchSize: 4, fixedBatch: true });
    });
    return performance.now() - t0;
  };
  try {
    return await timeCalls(step, replay ? 4 : 2, steps);
  } finally {
    replayed?.dispose();
    tf.dispose([x, y]);
  }
}

/**
 * Measures one model on the active backend: inference, then Adam steps. A failure (typically the
 * backend running out of memory at a large size) is recorded in the row's `error`, with what was
 * measured before it, instead of thrown.
 */
export async function measureModel(job: LatencyJob, build: typeof buildModel = buildModel): Promise<LatencyRow> {
  const model = build(job.model, { size: job.size, baseFilters: job.baseFilters }, 1);
  const row = unmeasured(tf.getBackend(), job.model, model.countParams(), multiplyAdds(model));
  const fold = job.foldBatchNorm === true;
  const replay = job.replay === true;
  if (fold) row.foldedInference = null;
  if (replay) row.replayedInference = null;
  if (fold && replay) row.foldedReplayedInference = null;
  if (replay) row.replayedStep = null;
  try {
    row.inference = await inferenceLatency(model, job.size, 1, 3, job.runs);
    if (replay) row.replayedInference = await inferenceLatency(model, job.size, 1, 3, job.runs, { replay });
    if (fold) {
      const folded = foldBatchNorm(model).model;
      try {
        row.foldedInference = await inferenceLatency(folded, job.size, 1, 3, job.runs);
        if (replay) row.foldedReplayedInference = await inferenceLatency(folded, job.size, 1, 3, job.runs, { replay });
      } finally {
        disposeModel(folded);
      }
    }
    const step = await stepTimes(model, job.size, job.steps);
    Object.assign(row, { stepMedianMs: step.medianMs, stepP90Ms: step.p90Ms, stepFirstMs: step.firstMs });
    if (replay) {
      model.optimizer.dispose(); // (compile does not dispose an optimizer it was given: its moments would stay)
      const replayed = await stepTimes(model, job.size, job.steps, fusedAdam(5e-4), { replay });
      row.replayedStep = { medianMs: replayed.medianMs, p90Ms: replayed.p90Ms };
    }
  } catch (err) {
    row.error = errorMessage(err);
  }
  try {
    disposeModel(model);
  } catch {
    // After a wasm abort the backend is gone, disposing included; the worker holding it ends anyway.
  }
  return row;
}

/** A row with nothing measured (yet). */
function unmeasured(backend: string, model: ModelName, params: number, macs: number, error?: string): LatencyRow {
  return { backend, model, params, multiplyAdds: macs, inference: null, stepMedianMs: null, stepP90Ms: null, stepFirstMs: null, ...(error !== undefined && { error }) };
}

/** Messages of a latency worker. */
type LatencyWorkerMessage = { type: 'latency'; row: LatencyRow } | { type: 'error'; message: string };

/** Input of a worker thread that measures one model ({@link measureInWorker}). */
export interface LatencyWorkerInput {
  /** The measurement to make. */
  latency: LatencyJob;
}

/** The body of a latency worker thread: one measurement, posted back. */
export async function latencyWorker(port: MessagePort, input: LatencyWorkerInput): Promise<void> {
  try {
    await selectBackend(input.latency.backend);
    port.postMessage({ type: 'latency', row: await measureModel(input.latency) } satisfies LatencyWorkerMessage);
  } catch (err) {
    port.postMessage({ type: 'error', message: errorMessage(err) } satisfies LatencyWorkerMessage);
  }
}

/**
 * Measures one model in a worker thread of its own. On wasm a model that runs out of the 4 GB heap
 * aborts the WebAssembly instance for good, and with it every later measurement: in a worker
 * only that model's row is lost (and each model starts with an empty heap).
 */
async function measureInWorker(job: LatencyJob): Promise<LatencyRow> {
  const worker = new Worker(workerUrl(), { workerData: { latency: job } satisfies LatencyWorkerInput });
  try {
    return await new Promise<LatencyRow>((resolve, reject) => {
      worker.on('message', (msg: LatencyWorkerMessage) => (msg.type === 'latency' ? resolve(msg.row) : reject(new Error(msg.message))));
      worker.on('error', reject);
      worker.on('exit', (code) => resolve(unmeasured(job.backend, job.model, NaN, NaN, `the worker thread measuring it stopped (exit code ${code})`)));
    });
  } finally {
    await worker.terminate();
  }
}

const cell = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));

/** "median / p90" of an inference latency, or a dash. */
const medianAndP90 = (l: Latency | null | undefined) => (l == null ? '-' : `${l.medianMs.toFixed(2)} / ${l.p90Ms.toFixed(2)}`);

/** The optional inference columns of the latency table: the row's field, its label (the header is "<label> ms (median / p90)"), what the caption says of it. */
const EXTRA_COLUMNS = [
  { field: 'foldedInference', label: 'folded', note: 'inference with the batch norms folded into the convolutions before them (foldBatchNorm)' },
  { field: 'replayedInference', label: 'replayed', note: 'inference through replayPredict (on webgpu its recorded commands, without tfjs\'s work per layer)' },
  { field: 'foldedReplayedInference', label: 'folded + replayed', note: 'both' },
] as const;

/** The Markdown table of {@link runLatency}, with a line per failed measurement under it (and columns of folded and replayed inference where measured). */
export function renderLatencyTable(rows: LatencyRow[], setup: {
  size: number; baseFilters: number; modelBaseFilters?: Partial<Record<ModelName, number>>; runs: number; steps: number;
}): string {
  const { size, runs, steps } = setup;
  const own = Object.entries(setup.modelBaseFilters ?? {});
  const baseFilters = `${setup.baseFilters}${own.length > 0 ? ` (${own.map(([model, width]) => `${model} ${width}`).join(', ')})` : ''}`;
  const failed = rows.filter((r) => r.error !== undefined);
  const extra = EXTRA_COLUMNS.filter((c) => rows.some((r) => r[c.field] !== undefined));
  const replayedSteps = rows.some((r) => r.replayedStep !== undefined);
  const counted = rows.some((r) => r.multiplyAdds !== undefined);
  const gmacs = (r: LatencyRow) => (counted ? ` ${r.multiplyAdds === undefined || Number.isNaN(r.multiplyAdds) ? '-' : (r.multiplyAdds / 1e9).toPrecision(3)} |` : '');
  const stepCell = (median: number | null | undefined, p90: number | null | undefined) => (median == null ? '-' : `${median.toFixed(1)} / ${cell(p90 ?? null, 1)}`);
  return [
    `Latency at ${size}x${size}x1, base ${baseFilters}: inference at batch 1 (median / p90 of ${runs} after warm-up; first call), Adam step at batch 4 (median / p90 of ${steps}; first step)` +
      extra.map((c) => `; ${c.label}: ${c.note}`).join('') +
      (replayedSteps ? '; replayed Adam step: through replayTrainStep (on webgpu its recorded commands), after four warm-up steps' : ''),
    '',
    `| backend | model | parameters |${counted ? ' GMACs per image |' : ''} inference ms (median / p90) | first call ms |${extra.map((c) => ` ${c.label} ms (median / p90) |`).join('')} Adam step ms (median / p90) | first step ms |` +
      (replayedSteps ? ' replayed Adam step ms (median / p90) |' : ''),
    `|---|---|---:|${counted ? '---:|' : ''}---:|---:|${extra.map(() => '---:|').join('')}---:|---:|${replayedSteps ? '---:|' : ''}`,
    ...rows.map((r) => `| ${r.backend} | ${r.model} | ${Number.isNaN(r.params) ? '-' : r.params.toLocaleString('en-US')} |${gmacs(r)} ` +
      `${medianAndP90(r.inference)} | ${cell(r.inference?.firstMs ?? null, 0)} | ${extra.map((c) => `${medianAndP90(r[c.field])} | `).join('')}` +
      `${stepCell(r.stepMedianMs, r.stepP90Ms)} | ${cell(r.stepFirstMs, 0)} |${replayedSteps ? ` ${stepCell(r.replayedStep?.medianMs, r.replayedStep?.p90Ms)} |` : ''}`),
    '',
    ...(failed.length > 0 ? [...failed.map((r) => `- ${r.backend}, ${r.model}: ${r.inference === null ? 'not measured' : 'Adam step not measured'}: ${r.error}`), ''] : []),
  ].join('\n');
}

/** Measures every model on every backend asked for (or available), prints the table and returns its rows. */
export async function runLatency(opts: LatencyOptions): Promise<LatencyRow[]> {
  const show = !opts.quiet;
  const models = parseModels(opts.models);
  const size = checkSize(opts.size ?? 256);
  const baseFilters = checkInteger(opts.baseFilters ?? 32, '--base-filters', 4);
  const modelBaseFilters = checkModelBaseFilters(opts.modelBaseFilters, baseFilters, models);
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
      log(show, `skipping ${choice}: ${errorMessage(err)}`);
      continue;
    }
    log(show, backendLogLine(backend));
    // The CPU backends measure each model in a worker thread (see measureInWorker); GPU backends in
    // this thread, where a failed model leaves the backend usable.
    for (const model of models) {
      const job: LatencyJob = {
        backend: backend.name as BackendChoice, model, size, baseFilters: baseFiltersOf({ baseFilters, modelBaseFilters }, model), runs, steps, foldBatchNorm: opts.foldBatchNorm === true, replay: opts.replay === true,
      };
      const row = isCpuBackend(backend.name) ? await measureInWorker(job) : await measureModel(job);
      rows.push(row);
      const inference = (row.inference === null ? 'inference not measured' : `${row.inference.medianMs.toFixed(2)} ms/image`) +
        EXTRA_COLUMNS.map((c) => (row[c.field] == null ? '' : ` (${row[c.field]!.medianMs.toFixed(2)} ${c.label})`)).join('');
      const step = (row.stepMedianMs === null ? 'Adam step not measured' : `Adam step ${row.stepMedianMs.toFixed(1)} ms`) +
        (row.replayedStep == null ? '' : ` (${row.replayedStep.medianMs.toFixed(1)} replayed)`);
      log(show, `  ${model}: ${inference}, ${step}${row.error === undefined ? '' : ` (${row.error})`}`);
    }
  }
  process.stdout.write(renderLatencyTable(rows, { size, baseFilters, modelBaseFilters, runs, steps }));
  if (opts.out !== undefined) await writeJson(opts.out, { size, baseFilters, modelBaseFilters, runs, steps, node: process.version, date: new Date().toISOString(), rows });
  return rows;
}
