import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fusedAdam, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { createModel } from '@sa-unet/unet-zoo';
import { diceLoss } from '@sa-unet/seg-metrics';

/**
 * In a web page: trains an SA-U-Net on the GPU through WebGPU where the browser has it, else on the
 * CPU through WebAssembly (whose .wasm files the page serves from `wasmFolder`).
 */
export async function trainInBrowser(images: tf.Tensor4D, masks: tf.Tensor4D, wasmFolder: string, epochs = 1) {
  setWasmPaths(wasmFolder); // e.g. new URL('./wasm/', location.href).href
  registerTrainingKernels(); // after importing the backends: convolution gradients for webgpu and wasm
  if (!(await tf.setBackend('webgpu'))) await tf.setBackend('wasm');
  const [, height, width] = images.shape;
  const model: tfl.LayersModel = createModel('sa-unet', { inputShape: [height, width, 1] });
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss }); // Adam; on webgpu one in-place update per variable
  const history = await model.fit(images, masks, { batchSize: 4, epochs });
  return { model, backend: tf.getBackend(), losses: history.history.loss as number[] };
}
