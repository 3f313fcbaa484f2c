/**
 * wasm Sum and Mean over the axes before the channels, as batch norm's moments and the channel
 * attention's pooling use them: stock against ours, these adding with the WebAssembly heap module
 * (src/wasm/heap-module.ts) and in JavaScript, alternating in one run; median ms of 15 calls after
 * warm-up, each with a read of its (small) result, best of 3 rounds.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:channel-reductions
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { timedEachWay } from './heap-module-ways.js';

await tf.setBackend('wasm');
const cases: Array<[string, number[], number[], 'sum' | 'mean']> = [
  ['Sum [4,64,64,16] to [16] (batch norm at 64x64, base 16)', [4, 64, 64, 16], [0, 1, 2], 'sum'],
  ['Mean [4,64,64,16] to [4,16] (channel attention\'s pooling)', [4, 64, 64, 16], [1, 2], 'mean'],
  ['Sum [4,128,128,8] to [8]', [4, 128, 128, 8], [0, 1, 2], 'sum'],
  ['Sum [4,128,128,32] to [32]', [4, 128, 128, 32], [0, 1, 2], 'sum'],
  ['Mean [1,256,256,32] to [1,32] (pooling at 256x256, base 32)', [1, 256, 256, 32], [1, 2], 'mean'],
  ['Sum [4,4,4,256] to [256]', [4, 4, 4, 256], [0, 1, 2], 'sum'],
];

console.log('| reduction | stock ms | ours, JavaScript, ms | ours ms | stock / ours |\n|---|---:|---:|---:|---:|');
for (const [name, shape, axes, op] of cases) {
  const x = tf.randomUniform(shape, -1, 1, 'float32', 1);
  const call = async () => {
    const y = tf[op](x, axes);
    await y.data();
    y.dispose();
  };
  const { stock, javascript, ours } = await timedEachWay(call);
  console.log(`| ${name} | ${stock.toFixed(3)} | ${javascript.toFixed(3)} | ${ours.toFixed(3)} | ${(stock / ours).toFixed(1)}x |`);
  x.dispose();
}
