import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { replayPredict } from '@sa-unet/tfjs-kernels';
import { foldBatchNorm } from '@sa-unet/unet-zoo';

/** Segments image after image of one size as fast as the backend allows. */
export function fastSegmenter(model: tfl.LayersModel): { segment(image: tf.Tensor4D): tf.Tensor; dispose(): void } {
  const { model: folded } = foldBatchNorm(model); // conv -> batch norm -> ReLU as one convolution
  const replay = replayPredict(folded); // on WebGPU, from the third call: the recorded GPU commands alone
  return {
    segment: (image) => replay.run(image) as tf.Tensor, // = folded.predict(image); the caller disposes it
    dispose: () => {
      replay.dispose();
      folded.dispose();
    },
  };
}
