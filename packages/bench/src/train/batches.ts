/** Stacking samples into [b, s, s, 1] tensors. */
import * as tf from '@tensorflow/tfjs-core';
import type { Sample } from '../data/dataset.js';

/** The samples' images as one [b, size, size, 1] tensor (only `image` is read: masks are not needed). */
export function stackImages(samples: readonly Pick<Sample, 'image'>[], size: number): tf.Tensor4D {
  const data = new Float32Array(samples.length * size * size);
  samples.forEach((s, i) => data.set(s.image, i * size * size));
  return tf.tensor4d(data, [samples.length, size, size, 1]);
}

export function stackMasks(samples: readonly Sample[], size: number): tf.Tensor4D {
  const data = new Float32Array(samples.length * size * size);
  samples.forEach((s, i) => {
    for (let k = 0; k < s.mask.length; k++) data[i * size * size + k] = s.mask[k];
  });
  return tf.tensor4d(data, [samples.length, size, size, 1]);
}
