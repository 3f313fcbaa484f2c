import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';

await tf.setBackend(process.argv[2] ?? 'wasm');
registerTrainingKernels();
function time(label: string, f: () => tf.Tensor, reps = 5) {
  f().dispose();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); const r = f(); ts.push(performance.now() - t0); r.dispose(); }
  ts.sort((a, b) => a - b);
  console.log(label.padEnd(50), ts[Math.floor(reps / 2)].toFixed(1), 'ms');
}
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) => () => tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;
for (const [n, s, ci, co, k] of [[4, 128, 32, 32, 3], [4, 128, 32, 32, 1], [4, 64, 64, 64, 3], [4, 16, 256, 256, 3]]) {
  const x = tf.randomNormal([n, s, s, ci]);
  const dy = tf.randomNormal([n, s, s, co]);
  const w = tf.randomNormal([k, k, ci, co]);
  const tag = `${n}x${s}x${s}x${ci}->${co} k${k}`;
  time(`Conv2D fwd ${tag}`, () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
  time(`BackpropFilter ${tag}`, run('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, ci, co] }));
  time(`BackpropInput ${tag}`, run('Conv2DBackpropInput', { dy, filter: w }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: [n, s, s, ci] }));
  const dw = tf.randomNormal([3, 3, ci, 1]);
  const dyd = tf.randomNormal([n, s, s, ci]);
  time(`Depthwise fwd ${n}x${s}x${s}x${ci}`, () => tf.depthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, 1, 'same'));
  time(`Depthwise BackpropFilter ${n}x${s}x${s}x${ci}`, run('DepthwiseConv2dNativeBackpropFilter', { x, dy: dyd }, { strides: [1, 1], pad: 'same', dilations: [1, 1], filterShape: [3, 3, ci, 1] }));
  time(`Depthwise BackpropInput ${n}x${s}x${s}x${ci}`, run('DepthwiseConv2dNativeBackpropInput', { dy: dyd, filter: dw }, { strides: [1, 1], pad: 'same', dilations: [1, 1], inputShape: [n, s, s, ci] }));
  tf.dispose([x, dy, w, dw, dyd]);
}
