/**
 * wasm Multiply and Add by a per-channel operand broadcast over the pixels (channel attention's
 * gate, x [n, h, w, c] by g [n, 1, 1, c]) at SA-U-Net's sizes: the stock kernels (XNNPACK's
 * broadcasting operators) against ours (the heap module's channelOp), alternating in one run; median
 * ms of 15 calls after warm-up (wasm kernels finish before they return), best of 3 rounds; and a
 * same-shape Multiply (stock) for scale.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:channel-ops
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels, unregisterTrainingKernels } from '../src/index.js';
import { bestOfAlternatingRounds } from './heap-module-ways.js';

await tf.setBackend('wasm');
const shapes: Array<[number, number, number, number]> = [[4, 64, 64, 16], [4, 32, 32, 32], [4, 16, 16, 64], [4, 8, 8, 128], [4, 128, 128, 32], [1, 256, 256, 32]];

console.log('| x by [n,1,1,c] | Multiply stock ms | ours ms | ratio | Add stock ms | ours ms | ratio | same-shape Multiply ms |\n|---|---:|---:|---:|---:|---:|---:|---:|');
for (const shape of shapes) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const g = tf.randomNormal([shape[0], 1, 1, shape[3]], 0, 1, 'float32', 2);
  const y = tf.randomNormal(shape, 0, 1, 'float32', 3);
  const row: string[] = [];
  for (const op of [tf.mul, tf.add]) {
    const call = () => op(x, g).dispose();
    const { stock, ours } = await bestOfAlternatingRounds({
      stock: { setUp: unregisterTrainingKernels, call },
      ours: { setUp: () => registerTrainingKernels(), call },
    });
    row.push(stock.toFixed(3), ours.toFixed(3), `${(stock / ours).toFixed(1)}x`);
  }
  unregisterTrainingKernels();
  const { same } = await bestOfAlternatingRounds({ same: { call: () => tf.mul(x, y).dispose() } });
  registerTrainingKernels();
  console.log(`| [${shape.join(',')}] | ${row.join(' | ')} | ${same.toFixed(3)} |`);
  tf.dispose([x, g, y]);
}
