/**
 * `compare`: every model, R repeats each, on one dataset with the paper's protocol; writes
 * results.json, table.md, table.csv, images.csv, roc.svg, loss.svg, overlays/*.png, config.json and the checkpoints.
 */
import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { percentile, summarize, type Summary } from '@sa-unet/seg-metrics';
import { trainableParamCount, type ModelName } from '@sa-unet/unet-zoo';
import { backendLogLine, selectBackend, type BackendChoice } from '../backend.js';
import { pairedComparisons } from '../eval/paired.js';
import { imagesCsv } from '../eval/per-image.js';
import { inferenceLatency } from '../eval/predict.js';
import { checkOutFree, defaultOut, exists, prepareWorkFolder, publish, readJson, writeJson } from '../output.js';
import { log } from '../progress.js';
import { counted } from '../plural.js';
import { AGGREGATED, AREA_AGGREGATED, type AggregatedMetric, type AreaMetric, type CompareResults, type ModelResult, type RepeatResult, type RunConfig } from '../report/results.js';
import { renderLossSvg } from '../report/loss-svg.js';
import { renderRocSvg } from '../report/roc-svg.js';
import { renderCsv, renderMarkdown } from '../report/tables.js';
import { loadRunData } from './data.js';
import { resolveRunOptions, type RawRunOptions } from './options.js';
import { baseFiltersOf } from '../train/presets.js';
import { defaultWorkers, jobKey, jobName, recordFile, recordPath, runJobs, type Job } from './jobs.js';
import { checkResumable, checkSameRun, runConfig } from './resume.js';
import { readFinishedComparison } from './finished.js';
import { buildModel, removeTrainingStates, resolveForegroundPrior, trainingStateDir } from './run-model.js';
import { errorMessage } from '../errors.js';
import { savedEpochs } from '../train/training-state.js';

/** The jobs that saved a training state in `work`, and the epochs each has done. */
async function unfinishedWithState(work: string, jobs: readonly Job[]): Promise<Array<{ job: Job; epochs: number }>> {
  const found = await Promise.all(jobs.map(async (job) => ({ job, epochs: await savedEpochs(trainingStateDir(work, job.model, job.repeat)) })));
  return found.filter((f) => f.epochs > 0);
}

/** Options of {@link runCompare}: the run's options, and finished comparisons to extend. */
export type RawCompareOptions = RawRunOptions & {
  /**
   * Finished results folders of `compare` (one, or several: `--extend A --extend B`) whose (model,
   * repeat) runs this run keeps instead of training them again, so that more repeats or models can
   * be added; written to the new `out`, the folders themselves are left as they are. Their
   * run-defining options must be this run's (all but the models, the repeats, the backend and the
   * base widths); a model's runs are taken from the folder that built it at this run's base width,
   * and trained anew where none did. Two folders may not both lend runs of one model.
   */
  extend?: string | string[];
};

/** The runs that a finished comparison lends an extension: per model it holds at this run's base width, its repeats and their checkpoints. */
interface LentRuns {
  /** The results folder. */
  from: string;
  /** The models taken, each with its recorded runs. */
  models: Array<{ model: ModelName; repeats: Array<Pick<RepeatResult, 'repeat' | 'checkpoint'>> }>;
  /** The test images' names, whose overlays come along. */
  testNames: string[];
}

/**
 * Checks that `from` is a finished comparison that a run with `config` can extend, and finds the
 * runs it lends: those of the models this run trains, where `from` built them at this run's base
 * width (`skipped` gets a line for each model that it built at another).
 */
async function lentRuns(from: string, config: RunConfig, skipped: string[]): Promise<LentRuns> {
  const { config: saved, results } = await readFinishedComparison(from, '--extend');
  await checkSameRun(join(from, 'config.json'), config, '--extend', ' (--models, --repeats and the base widths of models may differ)', saved, { exceptWidths: true });
  const models: LentRuns['models'] = [];
  for (const m of results.models) {
    if (!config.models.includes(m.model)) continue;
    // Results written before widths per model: every model had the run's width.
    const [width, wanted] = [m.baseFilters ?? saved.baseFilters, baseFiltersOf(config, m.model)];
    if (width === wanted) models.push({ model: m.model, repeats: m.repeats });
    else skipped.push(`${m.model}'s runs in ${from} are at base width ${width}, not ${wanted}: not taken`);
  }
  return { from, models, testNames: results.dataset.testNames };
}

/** The runs of several finished comparisons, checked: no model's runs from two of them. */
async function lentRunsOfAll(folders: readonly string[], config: RunConfig, skipped: string[]): Promise<LentRuns[]> {
  const lent: LentRuns[] = [];
  for (const from of folders) lent.push(await lentRuns(from, config, skipped));
  for (const [i, a] of lent.entries()) {
    for (const b of lent.slice(i + 1)) {
      const both = a.models.filter((m) => b.models.some((n) => n.model === m.model)).map((m) => m.model);
      if (both.length > 0) throw new Error(`--extend: ${a.from} and ${b.from} both hold runs of ${both.join(', ')}; give that model's runs from one folder`);
    }
  }
  return lent;
}

/** Copies the lent runs' records, checkpoints and overlays into `work` (files a resumed extension already has stay as they are). */
async function copyLentRuns(lent: readonly LentRuns[], work: string): Promise<void> {
  const copy = async (from: string, path: string) => {
    if (await exists(join(from, path))) await cp(join(from, path), join(work, path), { recursive: true, force: false });
  };
  for (const { from, models, testNames } of lent) {
    for (const { model, repeats } of models) {
      for (const { repeat, checkpoint } of repeats) {
        await copy(from, recordFile({ model, repeat }));
        await copy(from, checkpoint);
      }
      for (const name of testNames) await copy(from, join('overlays', `${model}-${name}.png`));
    }
  }
}

/** Runs the comparison; returns the published results folder and the results. */
export async function runCompare(raw: RawCompareOptions): Promise<{
  /** The results folder. */
  out: string;
  /** What results.json holds. */
  results: CompareResults;
}> {
  const started = performance.now();
  const options = resolveRunOptions(raw);
  const show = !options.quiet;
  const backend = await selectBackend(options.backend);
  log(show, backendLogLine(backend));
  const out = options.out ?? defaultOut();
  const config = runConfig(options, 'compare', backend.name);
  // Before the data are read: a wrong --out or --extend fails at once.
  await checkOutFree(out, options.resume ? `To add repeats or models to it, give --extend ${out} and a new --out.` : undefined);
  const extendFrom = raw.extend === undefined ? [] : Array.isArray(raw.extend) ? raw.extend : [raw.extend];
  const skipped: string[] = [];
  const lent = await lentRunsOfAll(extendFrom, config, skipped);
  for (const line of skipped) log(show, `extending: ${line}`);
  const data = await loadRunData(options);
  const subset = options.trainImages === undefined ? '' : ` (--train-images: a seeded subset of ${data.trainAvailable})`;
  log(show, `data: ${data.source}: ${data.split.train.length} training${subset}, ${data.split.test.length} test images at ${options.size}x${options.size}`);
  // Resolved once, before any training: the runs get the probability ('auto' needs no rescan there).
  const foregroundPrior = resolveForegroundPrior(options.foregroundPrior, data.split.train);

  const work = await prepareWorkFolder(out, options.resume);
  await copyLentRuns(lent, work);
  const resume = options.resume || extendFrom.length > 0;
  await checkResumable(work, config, resume, 'config.json', ' (--models and --repeats may differ)');

  const jobs: Job[] = [];
  const resumed = new Map<string, RepeatResult>();
  for (const model of options.models) {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      const path = recordPath(work, { model, repeat });
      if (resume && (await exists(path))) resumed.set(jobKey({ model, repeat }), await readJson<RepeatResult>(path));
      else jobs.push({ model, repeat });
    }
  }
  if (resumed.size > 0) log(show, `${extendFrom.length > 0 ? 'extending' : 'resuming'}: ${counted(resumed.size, '(model, repeat) run')} done in an earlier session`);
  if (resume) {
    for (const { job, epochs } of await unfinishedWithState(work, jobs)) {
      log(show, `resuming: ${jobName(job)} continues after epoch ${epochs} of ${options.epochs}`);
    }
  }
  const workers = options.workers ?? defaultWorkers(backend.name, jobs.length);
  log(show, `${counted(jobs.length, 'training run')} on ${counted(workers, 'thread')}`);
  // Workers use the backend chosen here rather than probing again ('auto' would redo the search).
  let finished: Map<string, RepeatResult>;
  try {
    finished = await runJobs(jobs, { ...options, backend: backend.name as BackendChoice, foregroundPrior }, data.split, work, workers);
  } catch (err) {
    const kept = (await readdir(join(work, 'runs')).catch(() => [])).filter((f) => f.endsWith('.json')).length;
    const states = (await unfinishedWithState(work, jobs)).length;
    const unfinished = states > 0 ? `, and the training state of ${counted(states, 'unfinished one')} as of ${states === 1 ? 'its' : 'their'} last saved epoch` : '';
    throw new Error(`${errorMessage(err)}\n${counted(kept, 'finished (model, repeat) run')} ${kept === 1 ? 'is' : 'are'} kept in ${work}${unfinished}: `
      + 'the same command with --resume continues from them (--models and --repeats may differ)');
  }

  // Every run is finished: the folder of their training states (each removed at its end) goes too.
  await removeTrainingStates(work);

  // Latency afterwards, one model at a time, with nothing else running.
  const models: ModelResult[] = [];
  for (const name of options.models) {
    const repeats = Array.from({ length: options.repeats }, (_, i) => {
      const key = jobKey({ model: name, repeat: i + 1 });
      return (finished.get(key) ?? resumed.get(key))!;
    });
    const timed = buildModel(name, { ...options, foregroundPrior }, options.seed);
    const latency = await inferenceLatency(timed, options.size);
    const params = timed.countParams();
    const trainableParams = trainableParamCount(timed);
    timed.dispose();
    // `?? NaN`: a run recorded before a metric existed (--resume across versions) counts as skipped for it.
    const aggregateOf = <K extends AggregatedMetric | AreaMetric>(keys: readonly K[]) =>
      Object.fromEntries(keys.map((k) => [k, summarize(repeats.map((rep) => rep.metrics[k] ?? NaN))])) as Record<K, Summary>;
    models.push({
      model: name, baseFilters: baseFiltersOf(options, name), params, trainableParams, inference: { ...latency, backend: backend.name }, repeats, aggregate: aggregateOf(AGGREGATED),
      ...(options.pixelSize === undefined ? {} : { areaAggregate: aggregateOf(AREA_AGGREGATED) }),
      secondsPerEpoch: percentile(Float64Array.from(repeats.flatMap((rep) => rep.epochSeconds)), 50),
    });
  }

  const results: CompareResults = {
    tool: '@sa-unet/bench compare',
    date: new Date().toISOString(),
    node: process.version,
    backend,
    config,
    dataset: {
      source: data.source, size: options.size, train: data.split.train.length, trainAvailable: data.trainAvailable, test: data.split.test.length,
      trainForegroundFraction: data.trainForegroundFraction, testNames: data.split.test.map((s) => s.name),
    },
    models,
    paired: pairedComparisons(models),
    wallSeconds: (performance.now() - started) / 1000,
  };
  await writeJson(join(work, 'results.json'), results);
  await writeFile(join(work, 'table.md'), renderMarkdown(results));
  await writeFile(join(work, 'table.csv'), renderCsv(results));
  await writeFile(join(work, 'images.csv'), imagesCsv(['model', 'repeat'] as const,
    models.flatMap((m) => m.repeats.flatMap((rep) => (rep.images ?? []).map((scores) => ({ model: m.model, repeat: rep.repeat, ...scores }))))));
  await writeFile(join(work, 'roc.svg'), await renderRocSvg(results));
  await writeFile(join(work, 'loss.svg'), await renderLossSvg(results));
  await publish(work, out);
  log(show, `\n${renderMarkdown(results)}\nresults in ${out}/ (results.json, table.md, table.csv, images.csv, roc.svg, loss.svg, overlays/, checkpoints/)`);
  if (tf.memory().numTensors > 1000) log(show, `warning: ${tf.memory().numTensors} tensors still allocated`);
  return { out, results };
}
