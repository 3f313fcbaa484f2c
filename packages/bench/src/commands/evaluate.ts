/** `evaluate`: the metrics of a saved model on any images/masks folder. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SUMMARIZED_METRICS, type EvaluationResult } from '@sa-unet/seg-metrics';
import { loadPairs, pairFiles } from '../data/dataset.js';
import { imagesCsv, perImageScores } from '../eval/per-image.js';
import { predictSamples } from '../eval/predict.js';
import { scorePredictions } from '../eval/score.js';
import { checkOutFree, writeJson, writeResultFolder } from '../output.js';
import { log, progressBar } from '../progress.js';
import { meanSd } from '../report/format.js';
import { checkBackend, checkInteger, checkPixelSize } from './options.js';
import { areaAgreementOfCounts, renderAreaAgreement, type AreaAgreement } from '../eval/areas.js';
import { writeOverlays } from './run-model.js';
import { readSavedModel, withSavedModel } from './saved-model.js';

/** Options of {@link runEvaluate} (`sa-unet-bench evaluate`). */
export interface EvaluateCommandOptions {
  /** Folder of the saved model (model.json + weights). */
  model: string;
  /** Folder with images/ and masks/ sharing file names. */
  data: string;
  /** The masks' foreground value (default: any non-zero value). */
  label?: number;
  /** Dots per inch of the original images: also compare the predicted cross-sectional areas with the masks' (or give `mmPerPixel`). */
  dpi?: number;
  /** mm per pixel of the original images, square pixels: also compare the areas (or give `dpi`). */
  mmPerPixel?: number;
  /** Also write results.json, table.md, images.csv and overlays/ there (a folder that does not exist yet). */
  out?: string;
  /** tfjs backend, one of {@link BACKEND_CHOICES} (default 'auto'). */
  backend?: string;
  /** No progress bar or log; the report, the command's output, is still printed (as `--quiet` does). */
  quiet?: boolean;
}

/** What {@link runEvaluate} returns: the metrics, and the areas' agreement where a pixel size was given. */
export interface EvaluateResult extends EvaluationResult {
  /** Predicted against mask cross-sectional areas (with `dpi` or `mmPerPixel` only). */
  areas?: AreaAgreement;
}

/** The Markdown report of an evaluation: every summarized metric, the pixel AUCs and the zero-overlap rate; the areas where measured. */
export function renderEvaluation(result: EvaluateResult, title: string): string {
  const s = result.summary;
  const rows = SUMMARIZED_METRICS.map((k) => `| ${k} | ${meanSd(s[k], 4)} | ${s[k].count} | ${s[k].nanCount} |`);
  return [
    `# ${title}`, '',
    '| metric | mean ± SD over images | images | skipped (NaN) |', '|---|---|---:|---:|', ...rows, '',
    `Pixel AUC: pooled over all pixels (micro) ${result.pixelAuc.micro.toFixed(4)}; mean of per-image AUCs (macro) ${meanSd(result.pixelAuc.macro, 4)}.`,
    `Zero-overlap rate: ${Number.isNaN(result.zeroOverlapRate) ? 'n/a' : `${(100 * result.zeroOverlapRate).toFixed(2)}%`} of images with a nerve.`,
    'Threshold 0.5; distances in pixels at the model\'s input size; a missed nerve counts as the image diagonal.',
    ...(result.areas === undefined ? [] : ['', ...renderAreaAgreement(result.areas)]), '',
  ].join('\n');
}

/** The metrics of a saved model on an images/masks folder (resized to the model's input size). */
export async function runEvaluate(opts: EvaluateCommandOptions): Promise<EvaluateResult> {
  const show = !opts.quiet;
  const choice = checkBackend(opts.backend);
  const pixelSize = checkPixelSize(opts);
  const label = opts.label === undefined ? undefined : checkInteger(opts.label, '--label', 0);
  if (opts.out !== undefined) await checkOutFree(opts.out);
  const files = await readSavedModel(opts.model);
  const pairs = await pairFiles(opts.data); // its errors too before the backend starts
  return withSavedModel(files, choice, async ({ model, size }, backend) => {
    const dataset = await loadPairs(opts.data, pairs, { size, label });
    const bar = progressBar(`evaluating |{bar}| {value}/{total} images`, show);
    bar.start(dataset.samples.length);
    const predictions = await predictSamples(model, dataset.samples, size, 4, (done) => bar.update(done)).finally(() => bar.stop());
    const { evaluation: scores } = scorePredictions(predictions, dataset.samples, size);
    const evaluation: EvaluateResult = pixelSize === undefined ? scores : { ...scores, areas: areaAgreementOfCounts(scores.records, dataset.samples, size, pixelSize) };
    const names = dataset.samples.map((sample) => sample.name);
    const title = `${opts.model} on ${opts.data} (${dataset.samples.length} images at ${size}x${size}, ${backend.name})`;
    const report = renderEvaluation(evaluation, title);
    process.stdout.write(report);
    if (opts.out !== undefined) {
      await writeResultFolder(opts.out, async (work) => {
        await writeJson(join(work, 'results.json'), {
          model: opts.model, data: opts.data, label: label ?? null, size, backend: backend.description,
          images: names, ...evaluation,
        });
        await writeFile(join(work, 'table.md'), report);
        await writeFile(join(work, 'images.csv'), imagesCsv([], perImageScores(evaluation, names, evaluation.areas)));
        await writeOverlays(work, null, dataset.samples, predictions, size, 8);
      });
      log(show, `results in ${opts.out}/`);
    }
    return evaluation;
  });
}
