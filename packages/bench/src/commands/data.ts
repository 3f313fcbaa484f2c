/** The data of a run: a folder (or the phantom), split into training and test sets. */
import { loadFolder, type Dataset } from '../data/dataset.js';
import { foregroundFraction } from '../data/foreground.js';
import { phantomDataset } from '../data/phantom.js';
import { sampleTraining, splitDataset, type Split } from '../data/split.js';
import { progressBar } from '../progress.js';
import type { DataOptions } from './options.js';

export interface RunData {
  source: string;
  split: Split;
  /** Training images before `--train-images` took its subset (all of them: `split.train.length`). */
  trainAvailable: number;
  /** Fraction of the training masks' pixels that are foreground (above 0: a run without any is refused). */
  trainForegroundFraction: number;
}

async function loadWithProgress(dir: string, size: number, label: number | undefined, show: boolean): Promise<Dataset> {
  const bar = progressBar(`loading ${dir} |{bar}| {value}/{total} image/mask pairs`, show);
  let started = false;
  try {
    return await loadFolder(dir, {
      size, label, onProgress: (done, total) => {
        if (!started) {
          bar.start(total);
          started = true;
        }
        bar.update(done);
      },
    });
  } finally {
    bar.stop();
  }
}

export async function loadRunData(options: DataOptions & { size: number; phantomCount: number; quiet: boolean }): Promise<RunData> {
  const show = !options.quiet;
  const dataset = options.data !== undefined
    ? await loadWithProgress(options.data, options.size, options.label, show)
    : phantomDataset(options.phantomCount, options.size, options.seed);
  const test = options.testData === undefined ? undefined : await loadWithProgress(options.testData, options.size, options.label, show);
  const source = test === undefined ? dataset.source : `${dataset.source} (train), ${test.source} (test)`;
  const split = test === undefined ? splitDataset(dataset, options.testFraction, options.seed) : { train: dataset.samples, test: test.samples };
  const train = options.trainImages === undefined ? split.train : sampleTraining(split.train, options.trainImages, options.seed, dataset.source);
  return withForeground({ source, split: { ...split, train }, trainAvailable: split.train.length }, dataset.source, options);
}

/** `data` with its training masks' foreground fraction, if they have a foreground pixel: otherwise there is nothing to learn. */
function withForeground(data: Omit<RunData, 'trainForegroundFraction'>, trainSource: string, options: Pick<DataOptions, 'label'> & { size: number }): RunData {
  const { train } = data.split;
  const trainForegroundFraction = foregroundFraction(train);
  if (trainForegroundFraction === 0) {
    const what = options.label === undefined ? 'a non-zero pixel' : `a pixel of label ${options.label}`;
    throw new Error(`nothing to learn: none of the ${train.length} training masks of ${trainSource} has ${what} at ${options.size}x${options.size}`);
  }
  return { ...data, trainForegroundFraction };
}
