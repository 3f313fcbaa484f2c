import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';

/**
 * The side of the window one output pixel of a scale-attentional layer sees, measured: the
 * layer's response to a single bright pixel is non-zero exactly in that window.
 */
export async function measuredReceptiveField(scales: number, dilationRate = 1): Promise<number> {
  const layer = scaleAttentionalConv2d({ filters: 2 * scales, scales, dilationRate, useAttention: false, kernelInitializer: 'randomNormal' });
  const size = 4 * scales * dilationRate + 1;
  const impulse = tf.buffer([1, size, size, 1]);
  impulse.set(1, 0, (size - 1) / 2, (size - 1) / 2, 0);
  const response = tf.tidy(() => tf.sum(tf.abs(layer.apply(impulse.toTensor()) as tf.Tensor), [0, 3]));
  const values = await response.data();
  response.dispose();
  let first = size;
  let last = -1;
  values.forEach((v, i) => {
    if (v === 0) return;
    first = Math.min(first, i % size);
    last = Math.max(last, i % size);
  });
  return last - first + 1; // 2N - 1 for N scales (2(N-1)d + 1 with dilation d)
}
