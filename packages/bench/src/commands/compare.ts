/**
 * `compare`: every model, R repeats each, on one dataset with the paper's protocol; writes
 * results.json, table.md, table.csv, images.csv, roc.svg, loss.svg, overlays/*.png, config.json and the checkpoints.
 */
import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { percentile, summarize, type Summary } from '@sa-unet/seg-metrics';
import { trainableParamCount } from '@sa-unet/unet-zoo';
import { backendLogLine, selectBackend, type BackendChoice } from '../backend.js';
import { pairedComparisons } from '../eval/paired.js';
import { imagesCsv } from '../eval/per-image.js';
import { inferenceLatency } from '../eval/predict.js';
import { checkOutFree, defaultOut, exists, isFolder, prepareWorkFolder, publish, readJson, writeJson } from '../output.js';
import { log } from '../progress.js';
import { counted } from '../plural.js';
import { AGGREGATED, AREA_AGGREGATED, type AggregatedMetric, type AreaMetric, type CompareResults, type ModelResult, type RepeatResult, type RunConfig } from '../report/results.js';
import { renderLossSvg } from '../report/loss-svg.js';
import { renderRocSvg } from '../report/roc-svg.js';
import { renderCsv, renderMarkdown } from '../report/tables.js';
import { loadRunData } from './data.js';
import { resolveRunOptions, type RawRunOptions } from './options.js';
import { baseFiltersOf } from '../train/presets.js';
import { defaultWorkers, jobKey, recordPath, runJobs, type Job } from './jobs.js';
import { checkResumable, checkSameRun, runConfig } from './resume.js';
import { buildModel, removeTrainingStates, resolveForegroundPrior, trainingStateDir } from './run-model.js';
import { errorMessage } from '../errors.js';
import { savedEpochs } from '../train/training-state.js';

/** The jobs that saved a training state in `work`, and the epochs each has done. */
async function unfinishedWithState(work: string, jobs: readonly Job[]): Promise<Array<{ job: Job; epochs: number }>> {
  const found = await Promise.all(jobs.map(async (job) => ({ job, epochs: await savedEpochs(trainingStateDir(work, job.model, job.repeat)) })));
  return found.filter((f) => f.epochs > 0);
}

/** Options of {@link runCompare}: the run's options, and a finished comparison to extend. */
export type RawCompareOptions = RawRunOptions & {
  /**
   * A finished results folder of `compare` whose (model, repeat) runs this run keeps instead of
   * training them again, so that more repeats or models can be added to it; written to the new
   * `out`, the folder itself is left as it is. Its run-defining options must be this run's (all but
   * the models, the repeats and the backend).
   */
  extend?: string;
};

/** What `compare --extend` takes from the folder it extends (the tables and figures are made anew). */
const EXTENDED_ENTRIES = ['config.json', 'runs', 'checkpoints', 'overlays'];

/** Checks that `from` is a finished comparison that a run with `config` can extend. */
async function checkExtendable(from: string, config: RunConfig): Promise<void> {
  if (!(await isFolder(from))) throw new Error(`--extend: ${from} is not a folder; give a finished results folder of compare`);
  for (const name of ['config.json', 'results.json']) {
    if (!(await exists(join(from, name)))) throw new Error(`--extend: ${from} has no ${name}; give a finished results folder of compare (to continue an interrupted one, use --resume with its --out)`);
  }
  const saved = await readJson<Partial<RunConfig>>(join(from, 'config.json'));
  if (saved.command !== 'compare') throw new Error(`--extend: ${from} holds the results of ${JSON.stringify(saved.command)}, not of compare`);
  await checkSameRun(join(from, 'config.json'), config, '--extend', ' (--models and --repeats may differ)', saved);
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
  await checkOutFree(out);
  if (raw.extend !== undefined) await checkExtendable(raw.extend, config);
  const data = await loadRunData(options);
  const subset = options.trainImages === undefined ? '' : ` (--train-images: a seeded subset of ${data.trainAvailable})`;
  log(show, `data: ${data.source}: ${data.split.train.length} training${subset}, ${data.split.test.length} test images at ${options.size}x${options.size}`);
  // Resolved once, before any training: the runs get the probability ('auto' needs no rescan there).
  const foregroundPrior = resolveForegroundPrior(options.foregroundPrior, data.split.train);

  const work = await prepareWorkFolder(out, options.resume);
  if (raw.extend !== undefined) {
    // Files a resumed extension already has stay as they are.
    for (const name of EXTENDED_ENTRIES) {
      if (await exists(join(raw.extend, name))) await cp(join(raw.extend, name), join(work, name), { recursive: true, force: false });
    }
  }
  const resume = options.resume || raw.extend !== undefined;
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
  if (resumed.size > 0) log(show, `${raw.extend !== undefined ? 'extending' : 'resuming'}: ${counted(resumed.size, '(model, repeat) run')} done in an earlier session`);
  if (resume) {
    for (const { job, epochs } of await unfinishedWithState(work, jobs)) {
      log(show, `resuming: ${job.model} repeat ${job.repeat} continues after epoch ${epochs} of ${options.epochs}`);
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
