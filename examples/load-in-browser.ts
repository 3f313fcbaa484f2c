import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm'; // or -webgl / -webgpu
import '@sa-unet/scale-attn-conv'; // registers ScaleAttentionalConv2D, so the model can be loaded

/** In a web page: load the model served next to the page and segment one image. */
export async function segment(modelUrl: string, image: tf.Tensor3D): Promise<tf.Tensor> {
  const model = await tfl.loadLayersModel(modelUrl); // e.g. '/my-model/model.json'
  return tf.tidy(() => model.predict(tf.expandDims(image, 0)) as tf.Tensor);
}
