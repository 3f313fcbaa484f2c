/**
 * wasm DepthwiseConv2dNativeBackpropInput at the scale-attentional layer's sizes (3x3, stride 1,
 * 'same', multiplier 1) and at 5x5: the composed form (the filter rotated, then a depthwise
 * convolution of dy in XNNPACK, whose operator is made anew for each new filter) against the heap
 * module's sums, alternating in one run; median ms of 15 calls after warm-up (each finished when it
 * returns), best of 3 rounds; and whether the two give the same bits.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:depthwise-input-grad
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';
import { useHeapModule } from '../src/wasm/heap-module.js';
import { dispose, bestOfAlternatingRounds } from './heap-module-ways.js';

await tf.setBackend('wasm');
registerTrainingKernels();
const cases: Array<[[number, number, number, number], number]> = [
  [[4, 64, 64, 4], 3], [[4, 32, 32, 8], 3], [[4, 16, 16, 16], 3], [[4, 8, 8, 32], 3], [[4, 4, 4, 64], 3],
  [[4, 128, 128, 8], 3], [[4, 128, 128, 32], 3], [[1, 256, 256, 8], 3], [[4, 64, 64, 16], 5],
];

console.log('| dy (and dx) | filter | composed ms | heap module ms | ratio | same bits |\n|---|---|---:|---:|---:|---|');
for (const [shape, size] of cases) {
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const filter = tf.randomNormal([size, size, shape[3], 1], 0, 1, 'float32', 2);
  const grad = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter },
    { strides: 1, pad: 'same', dilations: 1, dimRoundingMode: undefined, inputShape: shape } as never) as tf.Tensor;
  const call = () => dispose(grad());
  const { composed, module } = await bestOfAlternatingRounds({
    composed: { setUp: () => useHeapModule(false), call },
    module: { setUp: () => useHeapModule(true), call },
  });
  useHeapModule(false);
  const composedGrad = grad();
  useHeapModule(true);
  const moduleGrad = grad();
  const [a, b] = [new Int32Array((await composedGrad.data() as Float32Array).buffer), new Int32Array((await moduleGrad.data() as Float32Array).buffer)];
  const same = a.every((v, i) => v === b[i]);
  console.log(`| [${shape.join(',')}] | ${size}x${size} | ${composed.toFixed(3)} | ${module.toFixed(3)} | ${(composed / module).toFixed(1)}x | ${same ? 'yes' : 'no'} |`);
  tf.dispose([dy, filter, composedGrad, moduleGrad]);
}
