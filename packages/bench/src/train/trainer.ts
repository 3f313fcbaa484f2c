/**
 * The paper's training loop: Adam, dice loss, mini-batches of shuffled, randomly sheared images.
 * Every random choice comes from the seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam, replayTrainStep, type WebGPUReplay } from '@sa-unet/tfjs-kernels';
import { explainBackendFailure } from '../backend-failure.js';
import type { Sample } from '../data/dataset.js';
import { mulberry32, shuffle } from '../random.js';
import { drawShears, shearBatch } from './augment.js';
import { stackImages, stackMasks } from './batches.js';
import { loadTrainingState, saveTrainingState } from './training-state.js';

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
  /**
   * Where the run keeps its state between epochs (weights, Adam's state, the epochs' record), so
   * that an interrupted run can continue; none: nothing is kept.
   */
  stateDir?: string;
  /** Continue from the state in `stateDir`, where one was saved. Default false. */
  resume?: boolean;
  /** Least seconds between two saves of the state, each after an epoch (the last epoch's is never saved). Default 60. */
  stateEverySeconds?: number;
  /**
   * On webgpu, run the Adam steps through `replayTrainStep` of @sa-unet/tfjs-kernels: from the
   * fourth step of each batch shape on, the step's recorded GPU commands without tfjs's CPU work
   * per dispatch; the same weights bit for bit.
   * Default true (other backends always train through trainOnBatch).
   */
  replaySteps?: boolean;
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
  /** Adam steps of this run that were replayed (webgpu with `replaySteps`; 0 elsewhere). */
  replayedSteps: number;
}

/** The targets of a batch: the masks once per output (U-Net++'s deep-supervision heads each get them). */
export function trainingTargets(model: tfl.LayersModel, masks: tf.Tensor): tf.Tensor | tf.Tensor[] {
  return model.outputs.length > 1 ? model.outputs.map(() => masks) : masks;
}

/** One batch of an epoch: the indices of its samples and their shears (null: no augmentation). */
interface PlannedBatch {
  indices: number[];
  shears: Array<[number, number]> | null;
}

/**
 * An epoch's batches: the samples shuffled, cut into batches, and each batch's shears, drawn from
 * `rand` in the order training always drew them (the order, then the shears batch by batch), so
 * that a resumed run replays the epochs it has done without training them.
 */
function planEpoch(sampleCount: number, batchSize: number, shearDegrees: number, rand: () => number): PlannedBatch[] {
  const order = shuffle(Array.from({ length: sampleCount }, (_, i) => i), rand);
  const plan: PlannedBatch[] = [];
  for (let begin = 0; begin < sampleCount; begin += batchSize) {
    const indices = order.slice(begin, begin + batchSize);
    plan.push({ indices, shears: shearDegrees > 0 ? drawShears(indices.length, shearDegrees, rand) : null });
  }
  return plan;
}

/**
 * Trains `model` in place on `samples` (all of size `size`). With `stateDir` it saves its state
 * between epochs, and with `resume` it continues from the state saved there: the same weights, as
 * bit for bit as the uninterrupted run.
 */
export async function trainModel(model: tfl.LayersModel, samples: readonly Sample[], size: number, options: TrainOptions): Promise<TrainResult> {
  const { epochs, batchSize, learningRate, shearDegrees, seed, stateDir } = options;
  if (samples.length === 0) throw new Error('training set is empty');
  model.compile({ optimizer: fusedAdam(learningRate), loss: diceLoss }); // tfjs-core's Adam; fused on webgpu and wasm
  const rand = mulberry32(seed);
  const restored = stateDir !== undefined && options.resume === true ? await loadTrainingState(stateDir, model) : null;
  if (restored !== null && restored.epochLosses.length >= epochs) {
    throw new Error(`the training state in ${stateDir} has ${restored.epochLosses.length} epochs done, not fewer than the run's ${epochs}`);
  }
  const epochLosses: number[] = restored?.epochLosses ?? [];
  const epochSeconds: number[] = restored?.epochSeconds ?? [];
  for (let epoch = 0; epoch < epochLosses.length; epoch++) planEpoch(samples.length, batchSize, shearDegrees, rand);
  const start = performance.now();
  const secondsBefore = epochSeconds.reduce((a, b) => a + b, 0);
  const seenBefore = epochLosses.length * samples.length;
  let seen = 0;
  let peakRss = Math.max(process.memoryUsage.rss(), (restored?.peakRssMB ?? 0) * 2 ** 20);
  let lastSave = performance.now();
  const replay = options.replaySteps !== false && tf.getBackend() === 'webgpu' ? replayTrainStep(model) : null;
  // A replayed step's loss is read back after the next step has been sent to the GPU, so that the
  // GPU does not wait for the CPU to prepare and encode that one: the step sent and not yet
  // accounted for, whose loss may still be on its way back.
  let inFlight: StepInFlight | null = null;
  try {
    for (let epoch = epochLosses.length; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      const plan = planEpoch(samples.length, batchSize, shearDegrees, rand);
      let lossSum = 0;
      let count = 0;
      const failure = (err: unknown, images: number) => explainBackendFailure(err, { activity: 'training', model: model.name, size, batchSize: images });
      /** A step's loss values as trainOnBatch returns them, then what the epoch counts of it. */
      const account = async (step: StepInFlight) => {
        const result = await step.values.catch((err: unknown) => {
          throw failure(err, step.images);
        });
        const loss = Array.isArray(result) ? result[0]! / model.outputs.length : result;
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch + 1}, batch ${step.batch + 1}`);
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        lossSum += loss * step.images;
        count += step.images;
        seen += step.images;
        // On wasm every await above resolves as a microtask: without a macrotask turn, timers (the
        // progress bars' redraws) and signals would wait for the end of training.
        await new Promise((resolve) => setImmediate(resolve));
        options.onBatch?.({
          epoch: epoch + 1, epochs, batch: step.batch + 1, batches: plan.length, loss: lossSum / count,
          imagesPerSecond: seen / ((performance.now() - start) / 1000),
        });
      };
      for (const [b, { indices, shears }] of plan.entries()) {
        const batch = indices.map((i) => samples[i]);
        const inputs: tf.Tensor[] = [];
        let step: StepInFlight;
        try {
          // Stacking and shearing too: where the heap runs out, it may be here. Each tensor is
          // kept for disposal as soon as it exists, so that a failure on the next frees it too.
          const images = stackImages(batch, size);
          inputs.push(images);
          const masks = stackMasks(batch, size);
          inputs.push(masks);
          let augmented = { images, masks };
          if (shears !== null) {
            augmented = shearBatch(images, masks, shears);
            inputs.push(augmented.images, augmented.masks);
          }
          const targets = trainingTargets(model, augmented.masks);
          step = { batch: b, images: batch.length, values: replay === null ? Promise.resolve(await model.trainOnBatch(augmented.images, targets)) : replayedStep(replay, augmented.images, targets) };
        } catch (err) {
          throw failure(err, batch.length);
        } finally {
          tf.dispose(inputs);
        }
        step.values.catch(() => {}); // (a failure is reported where the step is accounted for; meanwhile it is not unhandled)
        const previous = inFlight;
        inFlight = step;
        if (previous !== null) await account(previous);
        if (replay === null) {
          inFlight = null;
          await account(step);
        }
      }
      const last = inFlight;
      inFlight = null;
      if (last !== null) await account(last);
      epochLosses.push(lossSum / count);
      epochSeconds.push((performance.now() - epochStart) / 1000);
      if (stateDir !== undefined && epoch + 1 < epochs && performance.now() - lastSave >= (options.stateEverySeconds ?? 60) * 1000) {
        await saveTrainingState(stateDir, model, { epochLosses, epochSeconds, peakRssMB: peakRss / 2 ** 20 });
        lastSave = performance.now();
      }
    }
  } finally {
    // Where an error (or onBatch) stops training while a replayed step is still being read back,
    // that step finishes first, disposing its loss tensors: nothing is left behind on return.
    await inFlight?.values.catch(() => {});
    replay?.dispose();
  }
  const seconds = secondsBefore + (performance.now() - start) / 1000;
  return {
    epochLosses, epochSeconds, imagesPerSecond: (seenBefore + seen) / seconds, peakRssMB: peakRss / 2 ** 20,
    replayedSteps: replay?.counts.replays ?? 0,
  };
}

/** An Adam step sent to the backend: its batch's index and size, and its loss values to come. */
interface StepInFlight {
  batch: number;
  images: number;
  values: Promise<number | number[]>;
}

/**
 * One step through the replay, sent to the GPU now (its inputs may be disposed on return); its
 * loss values, read back, as trainOnBatch returns them (one number, or the total first).
 */
export function replayedStep(replay: WebGPUReplay, images: tf.Tensor, targets: tf.Tensor | tf.Tensor[]): Promise<number | number[]> {
  const losses = replay.run(images, ...(Array.isArray(targets) ? targets : [targets])) as tf.Tensor[];
  return (async () => {
    try {
      const values = await Promise.all(losses.map(async (t) => (await t.data())[0]!));
      return values.length === 1 ? values[0]! : values;
    } finally {
      tf.dispose(losses);
    }
  })();
}

