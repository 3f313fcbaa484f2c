import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';

/** Builds a small segmenter around the layer and saves it as model.json + weights.bin. */
export async function saveExampleModel(folder = 'my-model'): Promise<tfl.LayersModel> {
  await tf.setBackend('wasm');
  const input = tfl.input({ shape: [128, 128, 1] });
  // Sees 1x1, 3x3, 5x5 and 7x7 at once; no BN or ReLU inside the layer, so add them after it.
  let x = scaleAttentionalConv2d({ filters: 32, scales: 4 }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output });
  await model.save(fileSystem(folder)); // writes my-model/model.json and my-model/weights.bin
  return model;
}
