/**
 * A zoo model rebuilt from its saved form: the same architecture and weights, with tfjs-layers'
 * own BatchNormalization instead of the zoo's (which saves as it, but has a closed-form training
 * gradient). For the stock baselines of the GPU scripts: stock kernels, stock layers, stock Adam.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export async function withStockLayers(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const stock = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  model.dispose();
  return stock;
}
