/**
 * Batch normalization's moving statistics re-estimated with a model's final weights ("precise BN",
 * Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"). During training they are an exponential
 * average (momentum 0.9: mostly the last ten or so batches), each batch seen with the weights of
 * its own step: after a short training they lag behind the weights, and inference with them can
 * score far below what the weights do with matching statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Options of {@link recalibrateBatchNorm}. */
export interface RecalibrateOptions {
  /** Images per batch: the statistics are those of batches this size (use the training batch size). Default 4. */
  batchSize?: number;
}

/** What {@link recalibrateBatchNorm} did. */
export interface Recalibration {
  /** Batch-normalization layers whose moving statistics were replaced. */
  layers: number;
  /** Batches they were averaged over. */
  batches: number;
}

/** The fields of tfjs-layers' BatchNormalization read and set here (private in its typings). */
interface BatchNormalizationLayer {
  momentum: number;
}

/** Every BatchNormalization layer of the model, nested models included, each once. */
function batchNormLayers(model: tfl.LayersModel): BatchNormalizationLayer[] {
  const found = new Set<tfl.layers.Layer>();
  const visit = (layers: readonly tfl.layers.Layer[]) => {
    for (const layer of layers) {
      if (layer instanceof tfl.LayersModel) visit(layer.layers);
      else if (layer.getClassName() === 'BatchNormalization') found.add(layer);
    }
  };
  visit(model.layers);
  return [...found] as unknown as BatchNormalizationLayer[];
}

/**
 * Replaces the moving mean and variance of every batch-normalization layer of `model` by the
 * average of the batch statistics of `images` [n, h, w, c], computed in training mode with the
 * current weights (no weight changes; dropout, if any, active as in training). Batches of
 * `batchSize` in order; a last, partial batch is left out when there is a full one. The variance is
 * the mean of the batch variances, as in PyTorch's and pycls' precise BN.
 *
 * Momentum k / (k + 1) for the k-th batch (from 0) turns each layer's moving average into the plain
 * mean over the batches; the layers' own momentum is restored afterwards, also on failure.
 */
export function recalibrateBatchNorm(model: tfl.LayersModel, images: tf.Tensor4D, options: RecalibrateOptions = {}): Recalibration {
  if (!(model instanceof tfl.LayersModel)) throw new Error('recalibrateBatchNorm: model must be a tfjs-layers LayersModel');
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new Error(`recalibrateBatchNorm: images must be a tensor [n, h, w, c], got ${images instanceof tf.Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}`);
  }
  if (images.isDisposed) throw new Error('recalibrateBatchNorm: images is disposed');
  const expected = model.inputs[0]?.shape ?? [];
  if (model.inputs.length !== 1 || images.shape.slice(1).some((d, i) => expected[i + 1] !== null && expected[i + 1] !== d)) {
    throw new Error(`recalibrateBatchNorm: images of shape [${images.shape.join(', ')}] do not fit the model's input ` +
      `[${model.inputs.map((i) => i.shape.map((d) => d ?? 'null').join(', ')).join('], [')}]`);
  }
  const batchSize = options.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`recalibrateBatchNorm: batchSize must be an integer >= 1, got ${JSON.stringify(batchSize)}`);
  const n = images.shape[0];
  if (n < 1) throw new Error('recalibrateBatchNorm: images holds no image (n = 0)');
  const layers = batchNormLayers(model);
  if (layers.length === 0) return { layers: 0, batches: 0 };
  const batches = n >= batchSize ? Math.floor(n / batchSize) : 1;
  const momenta = layers.map((l) => l.momentum);
  try {
    for (let k = 0; k < batches; k++) {
      for (const layer of layers) layer.momentum = k / (k + 1);
      tf.tidy(() => {
        const x = tf.slice(images, [k * batchSize, 0, 0, 0], [Math.min(batchSize, n - k * batchSize), -1, -1, -1]);
        model.apply(x, { training: true }); // outputs and intermediates freed by the tidy; the moving statistics are variables
      });
    }
  } finally {
    layers.forEach((layer, i) => {
      layer.momentum = momenta[i];
    });
  }
  return { layers: layers.length, batches };
}
