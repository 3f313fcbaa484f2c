/**
 * wasm Conv2DBackpropFilter of 1x1 convolutions (stride 1, no padding) at the scale-attentional
 * layer's and MultiRes U-Net's sizes: the composed form (x transposed, dy copied, then the
 * backend's BatchMatMul, which packs dy for XNNPACK) against the heap module's sums, alternating
 * in one run; median ms of 15 calls after warm-up, each with a read of its (small) result, best of
 * 3 rounds; and whether the two give the same bits.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:pointwise-filter-grad
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';
import { withoutAndWithModule } from './heap-module-ways.js';
import { float32Bits } from '../../../test-utils/numeric.js';

await tf.setBackend('wasm');
registerTrainingKernels();
const cases: Array<[[number, number, number, number], number]> = [
  [[4, 64, 64, 4], 4], [[4, 32, 32, 8], 8], [[4, 8, 8, 32], 32], [[4, 64, 64, 32], 4], [[4, 32, 32, 64], 8],
  [[4, 8, 8, 256], 32], [[4, 128, 128, 8], 8], [[4, 128, 128, 64], 8], [[4, 64, 64, 48], 32],
];

console.log('| x | output channels | composed ms | heap module ms | ratio | same bits |\n|---|---:|---:|---:|---:|---|');
for (const [shape, outChannels] of cases) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const dy = tf.randomNormal([...shape.slice(0, 3), outChannels], 0, 1, 'float32', 2);
  const grad = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
    { strides: 1, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [1, 1, shape[3], outChannels] } as never) as tf.Tensor;
  const { without: composed, module, withoutValues, moduleValues } = await withoutAndWithModule(grad, true);
  const same = tf.util.arraysEqual(float32Bits(withoutValues), float32Bits(moduleValues));
  console.log(`| [${shape.join(',')}] | ${outChannels} | ${composed.toFixed(3)} | ${module.toFixed(3)} | ${(composed / module).toFixed(1)}x | ${same ? 'yes' : 'no'} |`);
  tf.dispose([x, dy]);
}
