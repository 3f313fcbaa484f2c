/**
 * Where fusedAdam's loop on wasm stops paying: one variable of n values, tfjs-core's Adam update
 * (about eleven kernels) against the loop, alternating in one run; median ms of 30 updates after
 * 5 warm-up, best of 3 rounds. Sets LOOP_MAX_SIZE in src/wasm/fused-adam.ts.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:adam
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { LOOP_MAX_SIZE, adamLoop } from '../src/wasm/fused-adam.js';
import { medianMs } from './median-ms.js';

await tf.setBackend('wasm');
const f = Math.fround;
console.log(`wasm, one variable; LOOP_MAX_SIZE is ${LOOP_MAX_SIZE}`);
for (const n of [256, 2_048, 4_096, 8_192, 12_288, 16_384, 32_768, 262_144]) {
  const variable = tf.variable(tf.randomUniform([n], -1, 1, 'float32', 1), true, `adam_${n}`);
  const gradient = tf.randomUniform([n], -1e-3, 1e-3, 'float32', 2);
  const stock = tf.train.adam(5e-4);
  const [value, m, v, g] = [variable, tf.zeros([n]), tf.zeros([n]), gradient].map((t) => Float32Array.from(t.dataSync()));
  const arrays = { value: value!, m: m!, v: v!, gradient: g!, newValue: new Float32Array(n), newM: new Float32Array(n), newV: new Float32Array(n) };
  const results: Record<string, number[]> = { stock: [], loop: [] };
  for (let round = 0; round < 3; round++) {
    results.stock!.push(await medianMs(() => stock.applyGradients({ [variable.name]: gradient } as never), 5, 30));
    results.loop!.push(await medianMs(() => adamLoop(arrays, f(0.9), f(0.1), f(0.999), f(0.001), f(0.1), f(0.001), f(1e-7), f(-5e-4)), 5, 30));
  }
  const best = (r: number[]) => Math.min(...r);
  console.log(`n = ${String(n).padStart(9)}: tfjs-core Adam ${best(results.stock!).toFixed(3)} ms, loop ${best(results.loop!).toFixed(3)} ms, ratio ${(best(results.stock!) / best(results.loop!)).toFixed(2)}`);
  stock.dispose();
  tf.dispose([variable, gradient]);
}
