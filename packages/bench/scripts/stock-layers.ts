/**
 * A zoo model rebuilt from its saved form: the same architecture and weights, with tfjs-layers'
 * own BatchNormalization instead of the zoo's (which saves as it, but has a closed-form training
 * gradient). For the stock baselines of the GPU scripts: stock kernels, stock layers, stock Adam.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveToMemory } from '../../../test-utils/models.js';

export async function withStockLayers(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const stock = await tfl.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
  model.dispose();
  return stock;
}
