/**
 * wasm depthwise convolutions at the scale-attentional layer's sizes (3x3, stride 1, 'same',
 * multiplier 1) and at 5x5, without the heap module and with it, alternating in one run; median
 * ms of 15 calls after warm-up (each finished when it returns), best of 3 rounds; and whether the
 * two give the same bits. DepthwiseConv2dNative: the stock kernel (XNNPACK, its operator kept for
 * the filter) against the module; DepthwiseConv2dNativeBackpropInput: the composed form (the filter
 * rotated, then XNNPACK's depthwise convolution of dy, whose operator is made anew for each new
 * filter) against the module.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:depthwise-conv
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';
import { withoutAndWithModule } from './heap-module-ways.js';
import { float32Bits } from '../../../test-utils/numeric.js';

await tf.setBackend('wasm');
registerTrainingKernels();
const cases: Array<[[number, number, number, number], number]> = [
  [[4, 64, 64, 4], 3], [[4, 32, 32, 8], 3], [[4, 16, 16, 16], 3], [[4, 8, 8, 32], 3], [[4, 4, 4, 64], 3],
  [[4, 128, 128, 8], 3], [[4, 128, 128, 32], 3], [[1, 256, 256, 8], 3], [[1, 256, 256, 32], 3], [[4, 64, 64, 16], 5],
];

for (const kernel of ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput'] as const) {
  const forward = kernel === 'DepthwiseConv2dNative';
  console.log(`\n${kernel}\n\n| ${forward ? 'x (and y)' : 'dy (and dx)'} | filter | without ms | heap module ms | ratio | same bits |\n|---|---|---:|---:|---:|---|`);
  for (const [shape, size] of cases) {
    const input = tf.randomNormal(shape, 0, 1, 'float32', 1);
    const filter = tf.randomNormal([size, size, shape[3], 1], 0, 1, 'float32', 2);
    const run = () => forward
      ? tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same')
      : tf.engine().runKernel(kernel, { dy: input, filter }, { strides: 1, pad: 'same', dilations: 1, dimRoundingMode: undefined, inputShape: shape } as never) as tf.Tensor;
    const { without, module, withoutValues, moduleValues } = await withoutAndWithModule(run);
    const same = tf.util.arraysEqual(float32Bits(withoutValues), float32Bits(moduleValues));
    console.log(`| [${shape.join(',')}] | ${size}x${size} | ${without.toFixed(3)} | ${module.toFixed(3)} | ${(without / module).toFixed(1)}x | ${same ? 'yes' : 'no'} |`);
    tf.dispose([input, filter]);
  }
}
