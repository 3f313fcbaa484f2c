/**
 * wasm Concat, Slice, SplitV and Transpose as the networks and our gradient kernels use them (NHWC, batch 4, 128x128), stock against
 * ours, these copying rows with the WebAssembly heap module (src/wasm/heap-module.ts) and in JavaScript,
 * alternating in one run; median ms of 15 calls after warm-up, best of 3 rounds.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:copies
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { timedEachWay } from './heap-module-ways.js';

await tf.setBackend('wasm');
const stages = [0, 1, 2, 3].map((i) => tf.randomUniform([4, 128, 128, 8], 0, 1, 'float32', i));
const z = tf.concat(stages, 3);
const skip = tf.randomUniform([4, 128, 128, 32], 0, 1, 'float32', 9);
const narrow = tf.randomUniform([4, 32, 32, 105], 0, 1, 'float32', 10);
const flat = tf.reshape(z, [4 * 128 * 128, 32]);

const cases: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [
  ['concat 4 x [4,128,128,8] on channels (the layer\'s stages)', () => tf.concat(stages, 3)],
  ['concat 2 x [4,128,128,32] on channels (a U-Net skip)', () => tf.concat([z, skip], 3)],
  ['split [4,128,128,32] into 4 on channels (the concat gradient)', () => tf.split(z, 4, 3)],
  ['slice 8 channels of [4,128,128,32]', () => tf.slice(z, [0, 0, 0, 8], [4, 128, 128, 8])],
  ['slice rows 10-109 of [4,128,128,32] (a crop)', () => tf.slice(z, [0, 10, 0, 0], [4, 100, 128, 32])],
  ['transpose [65536,32] (2-D: a 1x1 filter gradient\'s activations)', () => tf.transpose(flat, [1, 0])],
  ['transpose [4,128,128,32] to channels first', () => tf.transpose(z, [3, 0, 1, 2])],
  ['transpose [4,32,32,105] to channels first', () => tf.transpose(narrow, [3, 0, 1, 2])],
  ['transpose [4,128,128,32] to [32,128,128,4] (3-D: stock either way)', () => tf.transpose(z, [3, 1, 2, 0])],
];

console.log('| case | stock ms | ours, JavaScript rows, ms | ours ms | stock / ours |\n|---|---:|---:|---:|---:|');
for (const [name, f] of cases) {
  const { stock, javascript, ours } = await timedEachWay(() => tf.dispose(f()));
  console.log(`| ${name} | ${stock.toFixed(2)} | ${javascript.toFixed(2)} | ${ours.toFixed(2)} | ${(stock / ours).toFixed(1)}x |`);
}
tf.dispose([...stages, z, skip, narrow, flat]);
