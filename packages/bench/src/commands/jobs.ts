/**
 * Running the (model, repeat) jobs of a comparison: in this thread, or spread over worker threads.
 * The wasm backend uses one core per thread, so on a 2-core machine two workers halve the time.
 * Each job is seeded on its own, so the results do not depend on the schedule.
 */
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import type { ModelName } from '@sa-unet/unet-zoo';
import { isCpuBackend } from '../backend.js';
import { errorMessage } from '../errors.js';
import type { Split } from '../data/split.js';
import { writeJson } from '../output.js';
import { log, stepsDone, trainingStatus } from '../progress.js';
import type { RepeatResult } from '../report/results.js';
import type { TrainProgress } from '../train/trainer.js';
import type { RunOptions } from './options.js';
import { disposeModel, repeatLabel, runRepeatWithBars, writeOverlays, type RepeatOutcome } from './run-model.js';

export interface Job {
  model: ModelName;
  repeat: number;
}

/** Messages a worker posts. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'train'; job: Job; progress: TrainProgress }
  | { type: 'test'; job: Job; done: number; total: number }
  | { type: 'done'; job: Job; result: RepeatResult }
  | { type: 'error'; job: Job | null; message: string };

export interface WorkerInput {
  options: RunOptions;
  split: Split;
  work: string;
}

/** The key of a job's result in the maps of results: `${model}/${repeat}`. */
export function jobKey(job: Job): string {
  return `${job.model}/${job.repeat}`;
}

/** How messages name a job: `<model> repeat <r>`. */
export function jobName(job: Job): string {
  return `${job.model} repeat ${job.repeat}`;
}

/** A job's record, relative to its results folder. */
export function recordFile(job: Job): string {
  return join('runs', `${job.model}-repeat-${job.repeat}.json`);
}

export function recordPath(work: string, job: Job): string {
  return join(work, recordFile(job));
}

/** What every job does once trained and tested: overlays (repeat 1), the record, and freeing the model. */
export async function finishJob(work: string, split: Split, options: RunOptions, job: Job, outcome: RepeatOutcome): Promise<RepeatResult> {
  if (job.repeat === 1) await writeOverlays(work, job.model, split.test, outcome.predictions, options.size);
  await writeJson(recordPath(work, job), outcome.result);
  disposeModel(outcome.model);
  return outcome.result;
}

function summaryLine(job: Job, r: RepeatResult): string {
  const m = r.metrics;
  return `${jobName(job)}: DSC ${m.dice.toFixed(3)}, HD ${m.hausdorff.toFixed(2)} px, pixel AUC ${m.pixelAucMicro.toFixed(4)}`;
}

/**
 * Relative cost of a training step of each model (measured on wasm at 64x64, base 16: U-Net 4.6,
 * U-Net++ 11.2, Attention U-Net 4.9, MultiRes U-Net 8.9, SA-U-Net 3.3 s per epoch). Jobs start
 * longest first, so that the threads finish together.
 */
const RELATIVE_COST: Record<ModelName, number> = { unet: 1, 'unet-plus-plus': 2.4, 'attention-unet': 1.05, 'multires-unet': 1.9, 'sa-unet': 0.7 };

export function longestFirst(jobs: Job[]): Job[] {
  return [...jobs].sort((a, b) => RELATIVE_COST[b.model] - RELATIVE_COST[a.model] || a.repeat - b.repeat);
}

/** Worker threads to use by default: one per core for the CPU backends, else one. */
export function defaultWorkers(backend: string, jobs: number): number {
  return isCpuBackend(backend) ? Math.max(1, Math.min(availableParallelism(), jobs)) : 1;
}

async function runInThread(jobs: Job[], options: RunOptions, split: Split, work: string, results: Map<string, RepeatResult>): Promise<void> {
  for (const job of jobs) {
    // Named as the worker threads name a failed job, so that the message says which run failed.
    const outcome = await runRepeatWithBars(job.model, options, split, job.repeat, work).catch((err: unknown) => {
      throw new Error(`${jobName(job)}: ${errorMessage(err)}`, { cause: err });
    });
    const result = await finishJob(work, split, options, job, outcome);
    results.set(jobKey(job), result);
    log(!options.quiet, summaryLine(job, result));
  }
}

/**
 * The worker entry: from source (this file is src/commands/jobs.ts, run by tsx) a bootstrap that
 * registers tsx in the worker, then src/worker.ts; built (tsup bundles this module into dist/),
 * dist/worker.js.
 */
export function workerUrl(): URL {
  return extname(fileURLToPath(import.meta.url)) === '.ts'
    ? new URL('../worker-source.mjs', import.meta.url)
    : new URL('./worker.js', import.meta.url);
}

/**
 * Runs the jobs on `workers` threads. A job that fails stops the schedule: no new job starts, the
 * jobs in progress finish and are recorded (a paper-preset run can be hours along), and then the
 * failures are thrown together. A failed thread is ended, since an aborted wasm instance (out of
 * memory) runs nothing afterwards.
 */
async function runInWorkers(jobs: Job[], options: RunOptions, split: Split, work: string, workers: number, results: Map<string, RepeatResult>): Promise<void> {
  const show = !options.quiet;
  const bars = show ? new cliProgress.MultiBar({
    format: '{label} |{bar}| {status}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 15000, fps: 5,
  }, cliProgress.Presets.shades_classic) : null;
  const queue = longestFirst(jobs);
  const steps = options.epochs * Math.ceil(split.train.length / options.batchSize);
  const input: WorkerInput = { options, split, work };
  const pool: Worker[] = [];
  const failures: string[] = [];
  const inProgress = new Set<string>();
  let running = 0;
  const fail = (what: string) => {
    failures.push(what);
    const waiting = inProgress.size > 0 ? `; no new runs start, the ${inProgress.size} in progress finish first (Ctrl-C stops them)` : '';
    const line = `failed: ${what}${waiting}`;
    if (bars) bars.log(`${line}\n`);
    else log(show, line);
  };
  try {
    await new Promise<void>((resolve) => {
      const startWorker = (slot: number) => {
        const worker = new Worker(workerUrl(), { workerData: input });
        pool.push(worker);
        running++;
        const bar = bars?.create(steps, 0, { label: `worker ${slot + 1}`.padEnd(24), status: 'starting' });
        let current: Job | null = null;
        let failed = false;
        const stop = (what: string) => {
          if (failed) return;
          failed = true;
          if (current !== null) inProgress.delete(jobKey(current));
          fail(what);
          bar?.update({ status: 'failed' });
          void worker.terminate();
        };
        const next = () => {
          current = failures.length > 0 ? null : queue.shift() ?? null;
          if (current === null) {
            void worker.terminate();
            return;
          }
          inProgress.add(jobKey(current));
          bar?.update(0, { label: repeatLabel(current.model, current.repeat, options.repeats).padEnd(24), status: 'training' });
          worker.postMessage(current);
        };
        worker.on('message', (msg: WorkerMessage) => {
          if (msg.type === 'ready') next();
          else if (msg.type === 'train') {
            // A bar serves one job after another, so the ETA comes from the job's own rate.
            bar?.update(stepsDone(msg.progress), { status: trainingStatus(msg.progress, options.batchSize) });
          } else if (msg.type === 'test') bar?.update(steps, { status: `testing ${msg.done}/${msg.total}` });
          else if (msg.type === 'done') {
            results.set(jobKey(msg.job), msg.result);
            inProgress.delete(jobKey(msg.job));
            bar?.update(steps, { status: 'done' });
            if (bars) bars.log(`${summaryLine(msg.job, msg.result)}\n`);
            next();
          } else if (msg.type === 'error') {
            stop(`${msg.job ? jobName(msg.job) : `worker ${slot + 1}`}: ${msg.message}`);
          }
        });
        worker.on('error', (err) => stop(`${current ? jobName(current) : `worker ${slot + 1}`}: ${err.message}`));
        worker.on('exit', (code) => {
          const job = current as Job | null;
          if (job !== null && !results.has(jobKey(job))) stop(`worker ${slot + 1} stopped (exit code ${code}) during ${jobName(job)}`);
          running--;
          if (running === 0) resolve();
        });
      };
      for (let slot = 0; slot < Math.min(workers, jobs.length); slot++) startWorker(slot);
    });
  } finally {
    // One last redraw writes the lines logged since the previous one (stop() would drop them).
    bars?.update();
    bars?.stop();
    await Promise.all(pool.map((w) => w.terminate()));
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

/** Runs every job; returns results keyed by {@link jobKey} (the records are also written to work/runs/). */
export async function runJobs(jobs: Job[], options: RunOptions, split: Split, work: string, workers: number): Promise<Map<string, RepeatResult>> {
  const results = new Map<string, RepeatResult>();
  if (jobs.length === 0) return results;
  if (workers <= 1) await runInThread(jobs, options, split, work, results);
  else await runInWorkers(jobs, options, split, work, workers, results);
  for (const job of jobs) {
    if (!results.has(jobKey(job))) throw new Error(`${jobName(job)} produced no result`);
  }
  return results;
}
