/**
 * Gradients of Sum and Mean as batch-norm moments use them (over batch, height and width of an
 * activation), tfjs-core's against ours, alternating in one run; median ms of 30 after warm-up.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:reductions [wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels, unregisterTrainingKernels } from '../src/index.js';
import { medianMs } from './median-ms.js';

const backend = process.argv[2] ?? 'wasm';
if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`backend must be wasm or cpu, got ${JSON.stringify(backend)}`);
await tf.setBackend(backend);

/** Median ms of 30 gradients of f at x after 5 warm-up calls, each read back. */
const gradientMs = (f: (t: tf.Tensor) => tf.Scalar, x: tf.Tensor) => medianMs(async () => {
  const g = tf.grad(f)(x);
  await g.data();
  g.dispose();
}, 5, 30);

for (const shape of [[4, 64, 64, 32], [4, 128, 128, 16]]) {
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
  const weights = tf.linspace(0, 1, shape[3]!);
  for (const op of ['mean', 'sum'] as const) {
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf[op](t, [0, 1, 2]), weights)) as tf.Scalar;
    const results: Record<string, number[]> = { stock: [], ours: [] };
    for (let round = 0; round < 2; round++) {
      unregisterTrainingKernels();
      results.stock!.push(await gradientMs(f, x));
      registerTrainingKernels();
      results.ours!.push(await gradientMs(f, x));
    }
    const best = (v: number[]) => Math.min(...v).toFixed(2);
    console.log(`${backend} ${op} gradient of [${shape.join('x')}] over axes 0-2: stock ${best(results.stock!)} ms, ours ${best(results.ours!)} ms (best of 2 rounds' medians)`);
  }
  tf.dispose([x, weights]);
}
