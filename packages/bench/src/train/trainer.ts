/**
 * The paper's training loop: Adam, dice loss, mini-batches of shuffled, randomly sheared images.
 * Every random choice comes from the seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { explainBackendFailure } from '../backend-failure.js';
import type { Sample } from '../data/dataset.js';
import { mulberry32, shuffle } from '../random.js';
import { drawShears, shearBatch } from './augment.js';
import { stackImages, stackMasks } from './batches.js';

/** Options of {@link trainModel}: the paper's protocol, and a progress callback. */
export interface TrainOptions {
  /** Passes over the training images. */
  epochs: number;
  /** Images per Adam step (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Shear range in degrees (0: no augmentation). */
  shearDegrees: number;
  /** Seeds the batch order and the shears. */
  seed: number;
  /** Called after every batch. */
  onBatch?: (progress: TrainProgress) => void;
}

/** Where a training run stands, after a batch. */
export interface TrainProgress {
  /** The current epoch, 1-based. */
  epoch: number;
  /** Epochs in all. */
  epochs: number;
  /** Batches of this epoch done. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** Mean loss of the epoch so far. */
  loss: number;
  /** Training images per second since the start. */
  imagesPerSecond: number;
}

/** The record of a finished training run. */
export interface TrainResult {
  /** Mean training loss (1 - soft Dice) of each epoch. */
  epochLosses: number[];
  /** Wall-clock seconds of each epoch. */
  epochSeconds: number[];
  /** Training images per second over the whole run. */
  imagesPerSecond: number;
  /** Highest resident memory of the process seen after a batch, MiB (all threads together). */
  peakRssMB: number;
}

/** The targets of a batch: the masks once per output (U-Net++'s deep-supervision heads each get them). */
export function trainingTargets(model: tfl.LayersModel, masks: tf.Tensor): tf.Tensor | tf.Tensor[] {
  return model.outputs.length > 1 ? model.outputs.map(() => masks) : masks;
}

/** Trains `model` in place on `samples` (all of size `size`). */
export async function trainModel(model: tfl.LayersModel, samples: readonly Sample[], size: number, options: TrainOptions): Promise<TrainResult> {
  const { epochs, batchSize, learningRate, shearDegrees, seed } = options;
  if (samples.length === 0) throw new Error('training set is empty');
  model.compile({ optimizer: fusedAdam(learningRate), loss: diceLoss }); // tfjs-core's Adam; fused on webgpu and wasm
  const rand = mulberry32(seed);
  const batches = Math.ceil(samples.length / batchSize);
  const epochLosses: number[] = [];
  const epochSeconds: number[] = [];
  const start = performance.now();
  let seen = 0;
  let peakRss = process.memoryUsage.rss();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const epochStart = performance.now();
    const order = shuffle(samples.map((_, i) => i), rand);
    let lossSum = 0;
    let count = 0;
    for (let b = 0; b < batches; b++) {
      const batch = order.slice(b * batchSize, (b + 1) * batchSize).map((i) => samples[i]);
      const images = stackImages(batch, size);
      const masks = stackMasks(batch, size);
      const augmented = shearDegrees > 0 ? shearBatch(images, masks, drawShears(batch.length, shearDegrees, rand)) : { images, masks };
      const result = await model.trainOnBatch(augmented.images, trainingTargets(model, augmented.masks)).catch((err: unknown) => {
        throw explainBackendFailure(err, { activity: 'training', model: model.name, size, batchSize: batch.length });
      });
      const loss = Array.isArray(result) ? result[0] / model.outputs.length : result;
      tf.dispose([images, masks, augmented.images, augmented.masks]);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch + 1}, batch ${b + 1}`);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      lossSum += loss * batch.length;
      count += batch.length;
      seen += batch.length;
      // On wasm every await above resolves as a microtask: without a macrotask turn, timers (the
      // progress bars' redraws) and signals would wait for the end of training.
      await new Promise((resolve) => setImmediate(resolve));
      options.onBatch?.({
        epoch: epoch + 1, epochs, batch: b + 1, batches, loss: lossSum / count,
        imagesPerSecond: seen / ((performance.now() - start) / 1000),
      });
    }
    epochLosses.push(lossSum / count);
    epochSeconds.push((performance.now() - epochStart) / 1000);
  }
  return { epochLosses, epochSeconds, imagesPerSecond: seen / ((performance.now() - start) / 1000), peakRssMB: peakRss / 2 ** 20 };
}

