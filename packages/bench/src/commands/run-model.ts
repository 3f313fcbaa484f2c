/** Training and testing one model for one repeat: the unit of work of `compare` and `train`. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { createModel, recalibrateBatchNorm, type ModelName } from '@sa-unet/unet-zoo';
import type { Sample } from '../data/dataset.js';
import { foregroundFraction } from '../data/foreground.js';
import type { Split } from '../data/split.js';
import { summarize } from '@sa-unet/seg-metrics';
import { areaAgreementOfCounts, type AreaAgreement } from '../eval/areas.js';
import { perImageScores } from '../eval/per-image.js';
import { predictSamples } from '../eval/predict.js';
import { scorePredictions, type TestScores } from '../eval/score.js';
import { progressBar, stepsDone, trainingStatus } from '../progress.js';
import { withSeededMathRandom } from '../random.js';
import { overlayScale, renderOverlay } from '../report/overlay.js';
import type { AreaMetric, RepeatMetrics, RepeatResult } from '../report/results.js';
import { stackImages } from '../train/batches.js';
import { copyWeights } from '../train/initial-weights.js';
import { trainModel, type TrainProgress } from '../train/trainer.js';
import { removeTrainingState } from '../train/training-state.js';
import type { RunOptions } from './options.js';
import { baseFiltersOf } from '../train/presets.js';

/** The seed of repeat r (1-based): the same for every model, so repeats are paired across models. */
export function repeatSeed(options: RunOptions, repeat: number): number {
  return options.seed + repeat;
}

/**
 * Builds a model of the run's architecture with its initial weights drawn from `seed`, at its base
 * width ({@link baseFiltersOf}; `channelAttention`, default true, applies to SA-U-Net only;
 * `foregroundPrior`, a probability or null for a zero bias, to every model's head).
 */
export function buildModel(name: ModelName,
  options: Pick<RunOptions, 'size' | 'baseFilters'> & Partial<Pick<RunOptions, 'channelAttention' | 'modelBaseFilters'>> & { foregroundPrior?: number | null },
  seed: number): tfl.LayersModel {
  const config = {
    inputShape: [options.size, options.size, 1] as [number, number, number], baseFilters: baseFiltersOf(options, name),
    foregroundPrior: options.foregroundPrior ?? undefined,
  };
  return withSeededMathRandom(seed, () => (name === 'sa-unet'
    ? createModel(name, { ...config, useAttention: options.channelAttention ?? true })
    : createModel(name, config)));
}

/** A repeat's metrics: the test scores' means, and the areas' agreement where it was measured. */
export function repeatMetrics(scores: TestScores, areas?: AreaAgreement): RepeatMetrics {
  const s = scores.evaluation.summary;
  return {
    ...(areas === undefined ? {} : areaMetrics(areas)),
    precision: s.precision.mean,
    recall: s.recall.mean,
    specificity: s.specificity.mean,
    dice: s.dice.mean,
    iou: s.iou.mean,
    hausdorff: s.hausdorff.mean,
    hausdorff95: s.hausdorffPercentile.mean,
    assd: s.assd.mean,
    surfaceDice: s.surfaceDice.mean,
    pixelAucMicro: scores.evaluation.pixelAuc.micro,
    pixelAucMacro: scores.evaluation.pixelAuc.macro.mean,
    zeroOverlapRate: scores.evaluation.zeroOverlapRate,
    skipped: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.nanCount])),
  };
}

/** The area metrics of {@link RepeatMetrics}: means over the test images. */
function areaMetrics(a: AreaAgreement): Pick<RepeatMetrics, AreaMetric> {
  return {
    areaMaskMm2: summarize(a.truthMm2).mean,
    areaPredictedMm2: summarize(a.predictedMm2).mean,
    areaBiasMm2: a.differenceMm2.mean,
    areaLowerLimitMm2: a.limitsOfAgreementMm2[0],
    areaUpperLimitMm2: a.limitsOfAgreementMm2[1],
    areaAbsoluteErrorMm2: a.absoluteErrorMm2.mean,
    areaRelativeError: a.relativeError.mean,
  };
}

export interface RepeatOutcome {
  result: RepeatResult;
  model: tfl.LayersModel;
  predictions: Float32Array[];
}

export interface RepeatCallbacks {
  /** After every training batch. */
  onTrain?: (progress: TrainProgress) => void;
  /** After every test batch. */
  onTest?: (done: number, total: number) => void;
}

/** Where a repeat saves its model and what it starts from. */
export interface RepeatPlacement {
  /** Checkpoint folder, relative to the work folder (default: checkpoints/<model>/repeat-<r>). */
  checkpoint?: string;
  /** A saved model whose weights replace the seeded initialisation (`train --init`), and its folder. */
  init?: { model: tfl.LayersModel; dir: string };
}

/** The folder of the work folder that holds the runs' training states while they run. */
function trainingStatesDir(work: string): string {
  return join(work, 'training');
}

/**
 * The folder of a run's training state inside the work folder, which `--resume` continues from;
 * removed once the run is finished.
 */
export function trainingStateDir(work: string, name: ModelName, repeat: number): string {
  return join(trainingStatesDir(work), `${name}-repeat-${repeat}`);
}

/** Removes the folder of the training states, once every run in `work` is finished (before publishing it). */
export async function removeTrainingStates(work: string): Promise<void> {
  await rm(trainingStatesDir(work), { recursive: true, force: true });
}

/** A run's `--foreground-prior` as a probability (or null): 'auto' is the foreground fraction of the training masks. */
export function resolveForegroundPrior(prior: RunOptions['foregroundPrior'], train: readonly Pick<Sample, 'mask'>[]): number | null {
  if (prior !== 'auto') return prior;
  const fraction = foregroundFraction(train);
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`--foreground-prior auto: the ${train.length} training masks are ${fraction === 0 ? 'all background' : 'all foreground'}; give a probability in (0, 1)`);
  }
  return fraction;
}

/** Trains model `name` on the split's training set, saves its checkpoint, and scores it on the test set. */
export async function runRepeat(name: ModelName, options: RunOptions, split: Split, repeat: number, work: string,
  callbacks: RepeatCallbacks = {}, placement: RepeatPlacement = {}): Promise<RepeatOutcome> {
  const seed = repeatSeed(options, repeat);
  const checkpoint = placement.checkpoint ?? join('checkpoints', name, `repeat-${repeat}`);
  const model = buildModel(name, { ...options, foregroundPrior: resolveForegroundPrior(options.foregroundPrior, split.train) }, seed);
  try {
    if (placement.init !== undefined) copyWeights(placement.init.model, model, `--init ${placement.init.dir}`);
    const stateDir = trainingStateDir(work, name, repeat);
    const training = await trainModel(model, split.train, options.size, {
      epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate,
      shearDegrees: options.shearDegrees, seed, onBatch: callbacks.onTrain,
      stateDir, resume: options.resume, stateEverySeconds: options.stateEverySeconds, replaySteps: options.replaySteps,
    });
    if (options.recalibrateBatchNorm) {
      const images = stackImages(split.train, options.size);
      try {
        recalibrateBatchNorm(model, images, { batchSize: options.batchSize });
      } finally {
        images.dispose();
      }
    }
    await model.save(fileSystem(join(work, checkpoint)));
    await removeTrainingState(stateDir);
    const predictions = await predictSamples(model, split.test, options.size, options.batchSize,
      (done) => callbacks.onTest?.(done, split.test.length));
    const scores = scorePredictions(predictions, split.test, options.size);
    const areas = options.pixelSize === undefined ? undefined : areaAgreementOfCounts(scores.evaluation.records, split.test, options.size, options.pixelSize);
    return {
      model,
      predictions,
      result: {
        repeat,
        seed,
        epochLosses: training.epochLosses,
        epochSeconds: training.epochSeconds,
        trainImagesPerSecond: training.imagesPerSecond,
        peakRssMB: training.peakRssMB,
        metrics: repeatMetrics(scores, areas),
        roc: scores.roc,
        images: perImageScores(scores.evaluation, split.test.map((sample) => sample.name), areas),
        checkpoint,
      },
    };
  } catch (err) {
    // A failed repeat (a bad --init, out of memory, a full disk) frees its weights and optimizer state.
    disposeModel(model);
    throw err;
  }
}

/** The progress-bar label of a (model, repeat) run. */
export function repeatLabel(name: ModelName, repeat: number, repeats: number): string {
  return `${name.padEnd(14)} r${repeat}/${repeats}`;
}

/** runRepeat with progress bars on stderr (unless quiet). */
export async function runRepeatWithBars(name: ModelName, options: RunOptions, split: Split, repeat: number, work: string,
  placement: RepeatPlacement = {}): Promise<RepeatOutcome> {
  const show = !options.quiet;
  const label = repeatLabel(name, repeat, options.repeats);
  const trainBar = progressBar(`${label} |{bar}| {status}`, show);
  const testBar = progressBar(`${label} |{bar}| testing {value}/{total} images`, show);
  trainBar.start(options.epochs * Math.ceil(split.train.length / options.batchSize), { status: 'starting' });
  let testing = false;
  try {
    return await runRepeat(name, options, split, repeat, work, {
      onTrain: (p) => trainBar.update(stepsDone(p), { status: trainingStatus(p, options.batchSize) }),
      onTest: (done, total) => {
        if (!testing) {
          trainBar.stop();
          testBar.start(total);
          testing = true;
        }
        testBar.update(done);
      },
    }, placement);
  } finally {
    trainBar.stop();
    testBar.stop();
  }
}

/** Overlay PNGs of the first `count` test images: overlays/<prefix>-<image>.png (overlays/<image>.png without a prefix). */
export async function writeOverlays(folder: string, prefix: string | null, test: readonly Sample[], predictions: readonly Float32Array[], size: number, count = 4): Promise<string[]> {
  await mkdir(join(folder, 'overlays'), { recursive: true });
  const written: string[] = [];
  for (let i = 0; i < Math.min(count, test.length); i++) {
    const file = join('overlays', `${prefix === null ? '' : `${prefix}-`}${test[i].name}.png`);
    await writeFile(join(folder, file), renderOverlay(test[i].image, test[i].mask, predictions[i], size, overlayScale(size)));
    written.push(file);
  }
  return written;
}

/** Frees a model's weights and its optimizer's state (Adam's moments are variables of their own). */
export function disposeModel(model: tfl.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}
