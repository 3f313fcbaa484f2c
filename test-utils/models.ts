/** A layers model's saved form, in memory (topology and weights as `model.save` writes them). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return artifacts!;
}

/** Every weight of a model (batch norms' moving averages included) and of its optimizer (step count, moments), read. */
export async function trainingState(model: tfl.LayersModel): Promise<number[][]> {
  const optimizer = await model.optimizer.getWeights();
  return Promise.all([...model.getWeights(), ...optimizer.map((w) => w.tensor)].map(async (t) => Array.from(await t.data())));
}
