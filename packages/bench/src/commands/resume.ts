/**
 * What a resumed run must share with the interrupted one: the run's config, written into its work
 * folder and checked against the options of the run that continues it.
 */
import { join } from 'node:path';
import { exists, readJson, writeJson } from '../output.js';
import type { RunConfig } from '../report/results.js';
import { PRESETS, isPresetName } from '../train/presets.js';
import type { DataOptions, RunOptions } from './options.js';

/** The file `train` keeps its config in while it runs (removed before its folder is published). */
export const RESUME_CONFIG = 'resume-config.json';

/** JSON with the keys in sorted order, so that two configs compare whatever order their keys were written in. */
function canonicalJson(o: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * The values that run-defining options outside the presets had before they existed, for configs
 * written before them: `--train-images` trained on every training image, no run measured areas
 * before `--dpi` and `--mm-per-pixel`, and every model had the run's base width before
 * `--base-filters model=n`.
 */
const BEFORE_ADDED_OPTIONS: Partial<RunConfig> = { trainImages: null, pixelSize: null, modelBaseFilters: {} };

/**
 * A config.json as read, with the options added since it was written at the values the bench had
 * before they existed: its preset's (`fallbackPreset`'s where it names none), or those of
 * {@link BEFORE_ADDED_OPTIONS}.
 */
export function completedConfig(saved: Partial<RunConfig>, fallbackPreset: string): Partial<RunConfig> {
  const preset = isPresetName(saved.preset) ? saved.preset : isPresetName(fallbackPreset) ? fallbackPreset : 'quick';
  return { ...BEFORE_ADDED_OPTIONS, ...PRESETS[preset], ...saved };
}

/** The config of a run, as config.json records it. */
export function runConfig(options: RunOptions, command: string, backend: string): RunConfig {
  const {
    preset, size, epochs, repeats, batchSize, learningRate, shearDegrees, baseFilters, modelBaseFilters, phantomCount, recalibrateBatchNorm, channelAttention,
    foregroundPrior, models, testFraction, seed, trainImages,
  } = options;
  return {
    command, preset, size, epochs, repeats, batchSize, learningRate, shearDegrees, baseFilters, modelBaseFilters, phantomCount, recalibrateBatchNorm, channelAttention,
    foregroundPrior, models, testFraction, trainImages: trainImages ?? null, seed,
    data: options.data ?? null, testData: options.testData ?? null, label: options.label ?? null, pixelSize: options.pixelSize ?? null, backend,
  };
}

/**
 * The data options a run's config records, as {@link runConfig} took them: its nulls (an option
 * left unset) absent again. What a script needs to load a finished run's images as it did.
 */
export function runDataOptions(config: RunConfig): DataOptions & { size: number; phantomCount: number } {
  const { size, phantomCount, testFraction, seed } = config;
  return {
    size, phantomCount, testFraction, seed,
    data: config.data ?? undefined, testData: config.testData ?? undefined, label: config.label ?? undefined,
    trainImages: config.trainImages ?? undefined,
  };
}

/**
 * The options that decide what a (model, repeat) run gives, which a resumed run must share with the
 * interrupted one: all but the models and the number of repeats (a run's seed is `--seed` + its
 * repeat, whatever else runs) and the backend (which changes results by float rounding only). The
 * pixel size is one: each run's record holds the areas measured with it.
 */
function runDefining(config: Partial<RunConfig>, exceptWidths: boolean): Partial<RunConfig> {
  const { backend: _b, models: _m, repeats: _r, ...defining } = config;
  if (!exceptWidths) return defining;
  const { baseFilters: _w, modelBaseFilters: _mw, ...rest } = defining;
  return rest;
}

/**
 * Throws unless the config in `path` was written with the same run-defining options as `config`.
 * An option added since it was written (e.g. --recalibrate-bn) counts as its preset's value, which
 * is what the bench did before the option existed (outside the presets: {@link BEFORE_ADDED_OPTIONS}).
 * `flag` and `mayDiffer` are for the error; `saved` is the config in `path`, where the caller has
 * read it already; `exceptWidths` leaves the base widths out (`--extend` checks them per model).
 */
export async function checkSameRun(
  path: string, config: RunConfig, flag: string, mayDiffer = '', saved?: Partial<RunConfig>, options: { exceptWidths?: boolean } = {},
): Promise<void> {
  saved ??= await readJson<Partial<RunConfig>>(path);
  const previous = completedConfig(saved, config.preset);
  const exceptWidths = options.exceptWidths === true;
  if (canonicalJson(runDefining(config, exceptWidths)) !== canonicalJson(runDefining(previous, exceptWidths))) {
    throw new Error(`${flag}: ${path} was written with other options; rerun with the same options${mayDiffer}, or without ${flag} to start over`);
  }
}

/**
 * Writes `config` into `work`/`file`; with `resume`, first checks that a config already there was
 * written with the same run-defining options ({@link checkSameRun}). `mayDiffer` names what may
 * change, for the error.
 */
export async function checkResumable<C extends RunConfig>(work: string, config: C, resume: boolean, file: string, mayDiffer = ''): Promise<void> {
  const path = join(work, file);
  if (resume && (await exists(path))) await checkSameRun(path, config, '--resume', mayDiffer);
  await writeJson(path, config);
}
