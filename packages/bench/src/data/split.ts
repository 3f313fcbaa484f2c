/** Seeded train/test split. */
import { mulberry32, shuffle } from '../random.js';
import { counted } from '../plural.js';
import type { Dataset, Sample } from './dataset.js';

/** A dataset split in two, each part in the dataset's order. */
export interface Split {
  /** The samples to train on. */
  train: Sample[];
  /** The held-out samples to test on. */
  test: Sample[];
}

/**
 * Shuffles the samples with `seed` and puts round(testFraction * n) of them (at least one, and at
 * least one fewer than all) in the test set.
 */
export function splitDataset(dataset: Dataset, testFraction: number, seed: number): Split {
  const n = dataset.samples.length;
  if (n < 2) throw new Error(`dataset ${dataset.source} has ${counted(n, 'sample')}: a train/test split needs at least 2 (or pass --test-data)`);
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`--test-fraction must be between 0 and 1 (exclusive), got ${testFraction}`);
  const order = shuffle(dataset.samples.map((_, i) => i), mulberry32(seed));
  const testCount = Math.min(n - 1, Math.max(1, Math.round(testFraction * n)));
  const test = order.slice(0, testCount).sort((a, b) => a - b).map((i) => dataset.samples[i]);
  const train = order.slice(testCount).sort((a, b) => a - b).map((i) => dataset.samples[i]);
  return { train, test };
}

/** Offsets the seed of {@link sampleTraining}'s draw from that of the split, so the two shuffles are not the same sequence. */
const SUBSET_SEED_OFFSET = 0x5eed;

/**
 * `count` of the training samples, drawn with `seed` and kept in their order (`--train-images`, for
 * learning curves): the draw does not depend on `count`, so the subsets of one seed are nested, each
 * holding every smaller one, and the test set is left as it is. `source` names the data for the error.
 */
export function sampleTraining(train: readonly Sample[], count: number, seed: number, source: string): Sample[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`--train-images must be an integer >= 1, got ${JSON.stringify(count)}`);
  if (count > train.length) {
    throw new Error(`--train-images ${count}: there ${train.length === 1 ? 'is' : 'are'} only ${counted(train.length, 'training image')} (of ${source}); give at most ${train.length}`);
  }
  const order = shuffle(train.map((_, i) => i), mulberry32(seed + SUBSET_SEED_OFFSET));
  return order.slice(0, count).sort((a, b) => a - b).map((i) => train[i]);
}
