import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';

const backend = process.argv[2] ?? 'wasm';
const size = Number(process.argv[3] ?? 128);
await tf.setBackend(backend);
registerTrainingKernels();
const input = tfl.input({ shape: [size, size, 1] });
let x: tfl.SymbolicTensor = input;
for (let i = 0; i < 8; i++) x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor;
const model = tfl.model({ inputs: input, outputs: out });
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
const xs = tf.randomUniform([4, size, size, 1]);
const ys = tf.randomUniform([4, size, size, 1]);
const profile = process.argv[4] === 'profile';
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  if (profile && i === 2) {
    const p = await tf.profile(() => model.trainOnBatch(xs, ys));
    const byKernel = new Map<string, number>();
    for (const k of p.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    console.log([...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k}: ${v.toFixed(0)}ms`).join('\n'));
  } else await model.trainOnBatch(xs, ys);
  console.log(`${backend} step ${i}: ${(performance.now() - t0).toFixed(0)} ms`);
}
