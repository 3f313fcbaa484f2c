import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { createModel } from '@sa-unet/unet-zoo';
import { diceLoss } from '@sa-unet/seg-metrics';

/** Builds the SA-U-Net and trains it with the paper's optimiser and loss on images and masks [n, h, w, 1]. */
export async function trainSaUnet(images: tf.Tensor4D, masks: tf.Tensor4D, epochs = 1): Promise<tfl.LayersModel> {
  await tf.setBackend('wasm');
  registerTrainingKernels(); // gradients of convolutions for the wasm backend
  const [, height, width] = images.shape;
  const model = createModel('sa-unet', { inputShape: [height, width, 1] }); // 456,459 parameters at 256x256
  model.compile({ optimizer: tf.train.adam(5e-4), loss: diceLoss });
  await model.fit(images, masks, { batchSize: 4, epochs, shuffle: true });
  return model;
}
