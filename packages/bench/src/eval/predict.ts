/** Inference on a test set: probability maps, and their timing. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { replayPredict } from '@sa-unet/tfjs-kernels';
import { averageDeepSupervision, foregroundProbability } from '@sa-unet/unet-zoo';
import { explainBackendFailure } from '../backend-failure.js';
import type { Sample } from '../data/dataset.js';
import { stackImages } from '../train/batches.js';
import { timeCalls, type Latency } from './timing.js';

/** Probability maps (size x size, foreground channel) of `samples`, in batches. */
export async function predictSamples(model: tfl.LayersModel, samples: readonly Sample[], size: number, batchSize = 4,
  onProgress?: (done: number) => void): Promise<Float32Array[]> {
  const net = averageDeepSupervision(model); // one map per image (deep-supervision heads averaged)
  const maps: Float32Array[] = [];
  for (let i = 0; i < samples.length; i += batchSize) {
    const batch = samples.slice(i, i + batchSize);
    const x = stackImages(batch, size);
    let data: Float32Array;
    try {
      const y = tf.tidy(() => foregroundProbability(net.predict(x) as tf.Tensor4D));
      data = (await y.data().finally(() => y.dispose())) as Float32Array;
    } catch (err) {
      throw explainBackendFailure(err, { activity: 'inference', model: model.name, size, batchSize: batch.length });
    } finally {
      x.dispose();
    }
    for (let k = 0; k < batch.length; k++) maps.push(data.slice(k * size * size, (k + 1) * size * size));
    onProgress?.(Math.min(samples.length, i + batchSize));
    await new Promise((resolve) => setImmediate(resolve)); // let timers (progress bars) run
  }
  return maps;
}

/**
 * Latency of one image at batch 1 (the output read back each time, so the work is really done).
 * With `replay`, through `replayPredict` of @sa-unet/tfjs-kernels: on webgpu recorded at the
 * second call and replayed after (the warm-up calls include both); elsewhere the same as without.
 */
export async function inferenceLatency(model: tfl.LayersModel, size: number, channels = 1, warmup = 3, runs = 20,
  options: { replay?: boolean } = {}): Promise<Latency> {
  const net = averageDeepSupervision(model); // one map per image (deep-supervision heads averaged)
  const replay = options.replay === true ? replayPredict(net) : null;
  const predict = (input: tf.Tensor) => (replay === null ? net.predict(input) : replay.run(input)) as tf.Tensor;
  const x = tf.randomUniform([1, size, size, channels], 0, 1, 'float32', 7);
  const once = async () => {
    const t0 = performance.now();
    try {
      const y = predict(x);
      await y.data().finally(() => y.dispose());
    } catch (err) {
      throw explainBackendFailure(err, { activity: 'inference', model: model.name, size, batchSize: 1 });
    }
    return performance.now() - t0;
  };
  try {
    return await timeCalls(once, Math.max(warmup, replay === null ? 0 : 2), runs);
  } finally {
    x.dispose();
    replay?.dispose();
  }
}
