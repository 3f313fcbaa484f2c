/**
 * wasm FusedBatchNorm over the channels, at the zoo's batch-norm sizes: the stock kernel against
 * ours (the WebAssembly heap module's four channels per SIMD pass; without the module ours calls
 * the stock kernel), alternating in one run; median ms of 15 calls after warm-up (each finished
 * when it returns), best of 3 rounds.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:batch-norm
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { timedEachWay } from './heap-module-ways.js';

await tf.setBackend('wasm');
const shapes = [[4, 64, 64, 16], [4, 32, 32, 64], [4, 128, 128, 8], [4, 128, 128, 32], [1, 256, 256, 32], [4, 8, 8, 256], [4, 64, 64, 13]];

console.log('| x | stock ms | ours ms | stock / ours |\n|---|---:|---:|---:|');
for (const shape of shapes) {
  const channels = shape[3]!;
  const x = tf.randomNormal(shape, 0, 2, 'float32', 1);
  const [mean, offset] = [2, 3].map((seed) => tf.randomNormal([channels], 0, 1, 'float32', seed));
  const [variance, scale] = [4, 5].map((seed) => tf.randomUniform([channels], 0.1, 3, 'float32', seed));
  const call = () => tf.batchNorm(x, mean!, variance!, offset, scale, 1e-3).dispose();
  const { stock, ours } = await timedEachWay(call);
  console.log(`| [${shape.join(',')}] | ${stock.toFixed(3)} | ${ours.toFixed(3)} | ${(stock / ours).toFixed(1)}x |`);
  tf.dispose([x, mean!, offset!, variance!, scale!]);
}
