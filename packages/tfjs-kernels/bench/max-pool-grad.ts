/**
 * wasm MaxPoolGrad of 2x2 pooling at stride 2 (the zoo's), at the zoo's sizes: our general kernel
 * (windows walked in JavaScript, for any geometry) against the heap module's path for windows that
 * do not overlap, alternating in one run; median ms of 15 calls after warm-up (each finished when it
 * returns), best of 3 rounds.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench:max-pool-grad
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../src/index.js';
import { maxPoolGradient, planeGeometry } from '../src/windows.js';
import { bestOfAlternatingRounds } from './heap-module-ways.js';

await tf.setBackend('wasm');
registerTrainingKernels();
const shapes: Array<[number, number, number, number]> = [[4, 64, 64, 16], [4, 32, 32, 32], [4, 128, 128, 32], [4, 64, 64, 13]];

console.log('| x | general ms | heap module ms | ratio |\n|---|---:|---:|---:|');
for (const shape of shapes) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
  const info = tf.backend_util.computePool2DInfo(shape, 2, 2, 1, 'valid');
  const { general, module } = await bestOfAlternatingRounds({
    general: { call: () => tf.engine().makeTensorFromTensorInfo(maxPoolGradient(tf.backend(), planeGeometry(info), x, dy, 'first')).dispose() },
    module: { call: () => (tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor).dispose() },
  });
  console.log(`| [${shape.join(',')}] | ${general.toFixed(3)} | ${module.toFixed(3)} | ${(general / module).toFixed(1)}x |`);
  tf.dispose([x, y, dy]);
}
