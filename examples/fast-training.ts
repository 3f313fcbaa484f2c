import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fusedAdam, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { diceLoss } from '@sa-unet/seg-metrics';

/**
 * Trains `model` on batches of images and masks [n, h, w, 1], one Adam step per batch, and returns
 * each epoch's mean loss. On WebGPU each step replays its recorded GPU commands from the fourth
 * step of a batch shape on: what trainOnBatch computes, bit for bit.
 */
export async function trainFast(model: tfl.LayersModel, batches: Array<[tf.Tensor4D, tf.Tensor4D]>, epochs: number): Promise<number[]> {
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss }); // fusedAdam: the optimizer a replay knows
  const step = replayTrainStep(model);
  const epochLosses: number[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      let sum = 0;
      for (const [images, masks] of batches) {
        const [loss] = step.run(images, masks) as tf.Tensor[]; // = model.trainOnBatch(images, masks)
        sum += (await loss!.data())[0]!;
        loss!.dispose();
      }
      epochLosses.push(sum / batches.length);
    }
  } finally {
    step.dispose();
  }
  return epochLosses;
}
