/**
 * wasm DepthwiseConv2dNativeBackpropFilter at the scale-attentional layer's sizes (3x3, stride 1,
 * 'same', multiplier 1): the composed form (a depthwise convolution of x by dy in XNNPACK, then
 * the sum over the batch) against the heap module's sums, alternating in one run; median ms of 15
 * calls after warm-up, each with a read of its (small) result, best of 3 rounds; and the largest
 * difference between the two relative to the largest value.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:depthwise-filter-grad
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';
import { withoutAndWithModule } from './heap-module-ways.js';

await tf.setBackend('wasm');
registerTrainingKernels();
const shapes: Array<[number, number, number, number]> = [[4, 64, 64, 4], [4, 64, 64, 16], [4, 32, 32, 8], [4, 8, 8, 64], [4, 128, 128, 8], [4, 128, 128, 32], [1, 256, 256, 8]];

console.log('| x (and dy) | composed ms | heap module ms | ratio | largest difference |\n|---|---:|---:|---:|---:|');
for (const shape of shapes) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 2);
  const grad = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy },
    { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, shape[3], 1] }) as tf.Tensor;
  const { without: composed, module, withoutValues: a, moduleValues: b } = await withoutAndWithModule(grad, true);
  const largest = Math.max(...Array.from(a, Math.abs));
  const difference = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!))) / largest;
  console.log(`| [${shape.join(',')}] | ${composed.toFixed(3)} | ${module.toFixed(3)} | ${(composed / module).toFixed(1)}x | ${difference.toExponential(1)} |`);
  tf.dispose([x, dy]);
}
