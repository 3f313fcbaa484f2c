import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels, setupNodeWebGPU } from '../src/index.js';
console.log('adapter', await setupNodeWebGPU());
await import('@tensorflow/tfjs-backend-webgpu');
console.log(registerTrainingKernels());
console.log('setBackend', await tf.setBackend('webgpu'), tf.getBackend());
const x = tf.randomNormal([2, 9, 9, 4], 0, 1, 'float32', 1);
const w = tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 2);
const dw = tf.randomNormal([3, 3, 4, 2], 0, 1, 'float32', 3);
const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.add(tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')), tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'same', 'NHWC', 2)));
const g = tf.grads(f)([x, w, dw]);
const gpu = await Promise.all(g.map((t) => t.data()));
const values = await Promise.all([x, w, dw].map((t) => t.data()));
await tf.setBackend('cpu');
const g2 = tf.grads(f)([x, w, dw].map((t, i) => tf.tensor(values[i], t.shape)) as [tf.Tensor, tf.Tensor, tf.Tensor]);
const cpu = g2.map((t) => t.dataSync());
for (let i = 0; i < 3; i++) {
  let worst = 0, scale = 0;
  for (let j = 0; j < cpu[i].length; j++) { worst = Math.max(worst, Math.abs(cpu[i][j] - gpu[i][j])); scale = Math.max(scale, Math.abs(cpu[i][j])); }
  console.log('grad', i, 'rel err', worst / scale);
}
