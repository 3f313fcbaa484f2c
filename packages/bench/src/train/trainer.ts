/**
 * The paper's training loop: Adam, dice loss, mini-batches of shuffled, randomly sheared images.
 * Every random choice comes from the seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import type { Sample } from '../data/dataset.js';
import { mulberry32, shuffle } from '../random.js';
import { drawShears, shearBatch } from './augment.js';
import { stackImages, stackMasks } from './batches.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Shear range in degrees (0: no augmentation). */
  shearDegrees: number;
  /** Seeds the batch order and the shears. */
  seed: number;
  /** Called after every batch. */
  onBatch?: (progress: TrainProgress) => void;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean loss of the epoch so far. */
  loss: number;
  /** Training images per second since the start. */
  imagesPerSecond: number;
}

export interface TrainResult {
  /** Mean training loss (1 - soft Dice) of each epoch. */
  epochLosses: number[];
  /** Wall-clock seconds of each epoch. */
  epochSeconds: number[];
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
        throw explainBackendFailure(err, model.name, size, batch.length);
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

/** The wasm backend's heap, in bytes (0 on other backends). */
function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  return (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length ?? 0;
}

/** The wasm heap's limit: 4 GB (a 32-bit address space). */
const WASM_HEAP_LIMIT = 2 ** 32;

/**
 * The wasm backend has a 32-bit heap (4 GB): a step that needs more fails deep inside with
 * "memory access out of bounds" or "Aborted()", or with whatever trap a failed allocation leads to
 * ("divide by zero" was seen) once the heap has grown to its limit. Say what happened and what to
 * change. `heapBytes`: the wasm heap's size at the failure (measured unless given).
 */
export function explainBackendFailure(err: unknown, model: string, size: number, batchSize: number, heapBytes = wasmHeapBytes()): Error {
  const message = err instanceof Error ? err.message : String(err);
  const trapAtFullHeap = err instanceof WebAssembly.RuntimeError && heapBytes >= WASM_HEAP_LIMIT - 2 ** 26;
  if (trapAtFullHeap || /memory access out of bounds|Aborted\(|out of memory|Cannot enlarge memory/i.test(message)) {
    return new Error(
      `training ${model} at ${size}x${size}, batch ${batchSize}, ran out of the backend's memory (${message}); ` +
        'the wasm backend is limited to 4 GB: use a smaller --size or --batch-size, or --backend webgpu or tensorflow',
    );
  }
  return err instanceof Error ? err : new Error(message);
}
