/**
 * `paired`: two finished comparisons against each other, each model's runs paired by seed. What an
 * ablation (`--no-channel-attention`, another learning rate, fewer training images) or a new
 * version of the code changed, with the signed-rank test of the differences, as `compare` does for
 * SA-U-Net against the other models of one run.
 */
import { resolve } from 'node:path';
import { summarize, type Summary } from '@sa-unet/seg-metrics';
import type { ModelName } from '@sa-unet/unet-zoo';
import { PAIRABLE_METRICS, PAIRED_METRICS, comparePairs, seedPairs, type PairedComparison, type PairedMetric } from '../eval/paired.js';
import { writeJson } from '../output.js';
import { renderPairedRuns } from '../report/paired-runs.js';
import type { CompareResults, ModelResult, RunConfig } from '../report/results.js';
import { readFinishedComparison, type FinishedComparison } from './finished.js';
import { parseModels } from './options.js';
import { completedConfig } from './resume.js';

/** Options of {@link runPaired}. */
export interface PairedCommandOptions {
  /** Results folder A of `compare` (the differences are A − B). */
  a: string;
  /** Results folder B of `compare`. */
  b: string;
  /** Comma-separated models to compare (default: every model both folders hold). */
  models?: string;
  /** Comma-separated metrics of results.json's repeats (`dice`, `hausdorff`, `pixelAucMicro`, ...; default `dice,hausdorff`, those of Table 3). */
  metrics?: string;
  /** Also write the comparison as JSON to this file. */
  out?: string;
  /** Print nothing (default false: the table goes to stdout). */
  quiet?: boolean;
}

/** An option in which A's run and B's differ. */
export interface DifferingOption {
  /** The config.json key (a model's base width: `baseFilters of <model>`). */
  option: string;
  /** A's value. */
  a: unknown;
  /** B's value. */
  b: unknown;
}

/** One metric of one model, A against B over their common seeds. */
export interface PairedRunsMetric extends Omit<PairedComparison, 'model' | 'referenceBetter' | 'otherBetter'> {
  /** A's values at the paired seeds. */
  a: Summary;
  /** B's values at the paired seeds. */
  b: Summary;
  /** Seeds at which A did better (higher, or lower for a distance). */
  aBetter: number;
  /** Seeds at which B did better. */
  bBetter: number;
}

/** One model of both folders, A against B. */
export interface PairedRunsModel {
  /** Which model. */
  model: ModelName;
  /** Its parameter count in A and in B. */
  params: {
    /** In A. */
    a: number;
    /** In B. */
    b: number;
  };
  /** The seeds both trained it with, ascending. */
  seeds: number[];
  /** Each metric compared, in the order asked for. */
  metrics: PairedRunsMetric[];
}

/** What {@link runPaired} finds. */
export interface PairedRuns {
  /** The two folders, when their runs ended, and their backends. */
  runs: {
    /** Folder A. */
    a: RunSummary;
    /** Folder B. */
    b: RunSummary;
  };
  /** The options in which they differ (none: a difference is the code's or the machine's: runs with the same options, code and machine give the same numbers). */
  differingOptions: DifferingOption[];
  /** The test set both were scored on. */
  testSet: {
    /** The data folder, or the phantom's description (results.json's `dataset.source`). */
    source: string;
    /** Side of the square images the networks saw. */
    size: number;
    /** How many test images. */
    images: number;
    /** The masks' foreground label; null for any non-zero value. */
    label: number | null;
  };
  /** Each model compared. */
  models: PairedRunsModel[];
}

/** A results folder as {@link PairedRuns} names it. */
export interface RunSummary {
  /** The folder, as given. */
  dir: string;
  /** When its run ended (results.json's date). */
  date: string;
  /** The backend it ran on. */
  backend: string;
}

/** Config keys not compared as options: what ran (models, repeats) is what is paired, and each model's width is compared as its own. */
const NOT_OPTIONS = new Set<string>(['command', 'preset', 'models', 'repeats', 'baseFilters', 'modelBaseFilters']);

/** The options of two configs (completed with the values of options added since) that differ, and the compared models' widths. */
function differingOptions(a: FinishedComparison, b: FinishedComparison, models: readonly ModelName[]): DifferingOption[] {
  const [configA, configB] = [completedConfig(a.config, 'quick'), completedConfig(b.config, 'quick')];
  const keys = [...new Set([...Object.keys(configA), ...Object.keys(configB)])].filter((k) => !NOT_OPTIONS.has(k)).sort();
  const differing: DifferingOption[] = [];
  for (const key of keys) {
    const [va, vb] = [configA[key as keyof RunConfig] ?? null, configB[key as keyof RunConfig] ?? null];
    if (JSON.stringify(va) !== JSON.stringify(vb)) differing.push({ option: key, a: va, b: vb });
  }
  for (const model of models) {
    const [wa, wb] = [modelOf(a, model).baseFilters ?? a.config.baseFilters, modelOf(b, model).baseFilters ?? b.config.baseFilters];
    if (wa !== wb) differing.push({ option: `baseFilters of ${model}`, a: wa, b: wb });
  }
  return differing;
}

function modelOf(run: FinishedComparison, model: ModelName): ModelResult {
  return run.results.models.find((m) => m.model === model)!;
}

/** "41 images at 64x64 of DIR (label 1)": the test set of a run, for errors. */
function describeTestSet(r: CompareResults, label: number | null | undefined): string {
  return `${r.dataset.testNames.length} images at ${r.dataset.size}x${r.dataset.size} of ${r.dataset.source}${label === null || label === undefined ? '' : ` (label ${label})`}`;
}

/** Whether a run's data was the synthetic phantom (whose images' names do not depend on its seed and count). */
const isPhantom = (source: string) => source.startsWith('phantom(');

/**
 * Throws unless both runs scored the same test images at the same size with the same foreground
 * label: the same names, and for the phantom the same phantom. A data folder is not compared by its
 * path, which each run gave relative to where it ran (a path that differs is listed as an option).
 */
function checkSameTestSet(a: FinishedComparison, b: FinishedComparison): void {
  const [sa, sb] = [a.results.dataset.source, b.results.dataset.source];
  const sameSource = isPhantom(sa) || isPhantom(sb) ? sa === sb : true;
  const same = sameSource && a.results.dataset.size === b.results.dataset.size &&
    JSON.stringify(a.results.dataset.testNames) === JSON.stringify(b.results.dataset.testNames) && (a.config.label ?? null) === (b.config.label ?? null);
  if (!same) {
    throw new Error(`paired: ${a.dir} and ${b.dir} were scored on different test sets (${describeTestSet(a.results, a.config.label)}; ` +
      `${describeTestSet(b.results, b.config.label)}); pairing needs the same test images at the same size: the same --data, --test-data, --label, ` +
      '--test-fraction, --seed and --size');
  }
}

/** The models to compare: those asked for (each in both folders), or every model both hold, in A's order. */
function chooseModels(a: FinishedComparison, b: FinishedComparison, models: string | undefined): ModelName[] {
  const holds = (run: FinishedComparison, model: ModelName) => run.results.models.some((m) => m.model === model);
  if (models !== undefined) {
    const chosen = parseModels(models);
    for (const model of chosen) {
      for (const run of [a, b]) if (!holds(run, model)) throw new Error(`paired: ${run.dir} has no runs of ${model} (it holds ${run.results.models.map((m) => m.model).join(', ')})`);
    }
    return chosen;
  }
  const common = a.results.models.map((m) => m.model).filter((model) => holds(b, model));
  if (common.length === 0) {
    throw new Error(`paired: ${a.dir} (${a.results.models.map((m) => m.model).join(', ')}) and ${b.dir} (${b.results.models.map((m) => m.model).join(', ')}) have no model in common`);
  }
  return common;
}

/** The metrics asked for with --metrics (each once, in the order given), or those of Table 3. */
function chooseMetrics(list: string | undefined): PairedMetric[] {
  if (list === undefined) return [...PAIRED_METRICS];
  const names = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  const known = PAIRABLE_METRICS.map((m) => m.metric);
  if (names.length === 0) throw new Error(`paired: --metrics: give at least one of ${known.join(', ')}`);
  return names.map((name) => {
    const found = PAIRABLE_METRICS.find((m) => m.metric === name);
    if (found === undefined) throw new Error(`paired: --metrics: unknown metric ${JSON.stringify(name)}; expected any of: ${known.join(', ')}`);
    return found;
  });
}

/** A's runs of one model against B's, on each of `chosen`. */
function compareModel(a: ModelResult, b: ModelResult, chosen: readonly PairedMetric[]): PairedRunsModel {
  const seeds = a.repeats.map((rep) => rep.seed).filter((seed) => b.repeats.some((rep) => rep.seed === seed)).sort((x, y) => x - y);
  const metrics = chosen.map((metric): PairedRunsMetric => {
    const pairs = seedPairs(a, b, metric.metric);
    const { model: _, referenceBetter, otherBetter, ...comparison } = comparePairs(pairs, metric, a.model);
    return { ...comparison, a: summarize(pairs.map(([x]) => x)), b: summarize(pairs.map(([, y]) => y)), aBetter: referenceBetter, bBetter: otherBetter };
  });
  return { model: a.model, params: { a: a.params, b: b.params }, seeds, metrics };
}

/**
 * Compares two finished results folders of `compare`: for each model both hold, A's runs against
 * B's with the same seed (the same split, and the same test images), on DSC and HD (or the
 * metrics asked for): mean ± SD of
 * each and of the differences A − B, in how many seeds each did better, and the two-sided Wilcoxon
 * signed-rank test; with the options in which the two runs differ. Prints the table (Markdown)
 * and returns the comparison; throws, naming the folder, where they cannot be paired.
 */
export async function runPaired(opts: PairedCommandOptions): Promise<{
  /** The comparison (what `--out` writes). */
  paired: PairedRuns;
  /** Its table, as printed. */
  markdown: string;
}> {
  const chosen = chooseMetrics(opts.metrics);
  if (resolve(opts.a) === resolve(opts.b)) throw new Error(`paired: ${opts.a} and ${opts.b} are the same folder; give two results folders of compare`);
  const [a, b] = [await readFinishedComparison(opts.a, 'paired'), await readFinishedComparison(opts.b, 'paired')];
  checkSameTestSet(a, b);
  const models = chooseModels(a, b, opts.models);
  const compared = models.map((model) => compareModel(modelOf(a, model), modelOf(b, model), chosen));
  if (compared.every((m) => m.seeds.length === 0)) {
    const seeds = (run: FinishedComparison) => [...new Set(run.results.models.flatMap((m) => m.repeats.map((rep) => rep.seed)))].sort((x, y) => x - y).join(', ');
    throw new Error(`paired: ${a.dir} (seeds ${seeds(a)}) and ${b.dir} (seeds ${seeds(b)}) have no run of the same model with the same seed; ` +
      'runs pair by seed (--seed + repeat)');
  }
  const summary = (run: FinishedComparison): RunSummary => ({ dir: run.dir, date: run.results.date, backend: run.results.backend.name });
  const { dataset } = a.results;
  const paired: PairedRuns = {
    runs: { a: summary(a), b: summary(b) },
    differingOptions: differingOptions(a, b, models),
    testSet: { source: dataset.source, size: dataset.size, images: dataset.testNames.length, label: a.config.label ?? null },
    models: compared,
  };
  const markdown = renderPairedRuns(paired);
  if (opts.quiet !== true) process.stdout.write(markdown);
  if (opts.out !== undefined) await writeJson(opts.out, paired);
  return { paired, markdown };
}
