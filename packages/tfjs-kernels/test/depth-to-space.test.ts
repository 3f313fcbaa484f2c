/**
 * The gradient of DepthToSpace (sub-pixel convolution), which tfjs-core lacks: exact on cpu and
 * wasm in both data formats (DepthToSpace is a permutation, so the gradient of
 * sum(depthToSpace(x) * depthToSpace(k)) at any x is k itself), and a sub-pixel convolution
 * trains on wasm as on cpu. The webgpu backend's run is in webgpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { discMask, seededUniform } from '../../../test-utils/numeric.js';
import { resultOn } from './backend-results.js';
import { DEPTH_TO_SPACE_CASES, depthToSpaceGradientOfIndices } from './depth-to-space-cases.js';

describe('the gradient of DepthToSpace', () => {
  it('is missing in tfjs-core, and registered by registerTrainingKernels (and kept by unregister, as tfjs cannot remove one)', async () => {
    await tf.setBackend('cpu');
    const loss = (x: tf.Tensor) => tf.sum(tf.depthToSpace(x as tf.Tensor4D, 2));
    expect(() => tf.grad(loss)(tf.ones([1, 1, 1, 4]))).toThrow(/gradient function not found for DepthToSpace/);
    registerTrainingKernels();
    unregisterTrainingKernels();
    const g = tf.grad(loss)(tf.ones([1, 1, 1, 4]));
    expect(Array.from(await g.data())).toEqual([1, 1, 1, 1]);
    g.dispose();
    registerTrainingKernels();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    // Stock cpu has no NCHW DepthToSpace ("Only NHWC dataFormat supported on CPU"), so no gradient to take.
    const cases = DEPTH_TO_SPACE_CASES.filter(([, , , format]) => backend !== 'cpu' || format === 'NHWC');
    it.each(cases)(`is exact on ${backend}: %s`, async (_label, shape, blockSize, format) => {
      const { values, shape: gradShape } = await resultOn(backend, () => depthToSpaceGradientOfIndices(shape, blockSize, format));
      expect(gradShape).toEqual(shape);
      expect(values).toEqual(values.map((_, i) => i));
    });
  }

  it('lets a sub-pixel convolution learn a mask at twice its input\'s resolution, on wasm as on cpu, without leaking tensors', async () => {
    registerTrainingKernels();
    const losses: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      // The input is the disc at half resolution, plus noise: the layer must learn to upsample it.
      const x = tf.tidy(() => tf.add(tf.tensor4d(Array.from({ length: 2 }, () => Array.from(discMask(8, 8, 2.5))).flat(), [2, 8, 8, 1]), seededUniform([2, 8, 8, 1], 1, -0.2, 0.2))) as tf.Tensor4D;
      const target = tf.tensor4d(Array.from({ length: 2 }, () => Array.from(discMask(16, 16, 5))).flat(), [2, 16, 16, 1]);
      const [filter, bias] = tf.tidy(() => [tf.variable(seededUniform([3, 3, 1, 4], 2, -0.3, 0.3)), tf.variable(tf.zeros([4]))]);
      const optimizer = tf.train.adam(0.05);
      const curve: number[] = [];
      for (let step = 0; step < 25; step++) {
        const loss = optimizer.minimize(() => {
          const logits = tf.depthToSpace(tf.add(tf.conv2d(x, filter as tf.Tensor4D, 1, 'same'), bias) as tf.Tensor4D, 2);
          const p = tf.sigmoid(logits);
          const overlap = tf.mul(2, tf.sum(tf.mul(p, target)));
          return tf.sub(1, tf.div(tf.add(overlap, 1), tf.add(tf.add(tf.sum(p), tf.sum(target)), 1))) as tf.Scalar;
        }, true)!;
        curve.push((await loss.data())[0]!);
        loss.dispose();
      }
      optimizer.dispose();
      tf.dispose([x, target, filter, bias]);
      expect(tf.memory().numTensors, backend).toBe(before);
      losses[backend] = curve;
    }
    const [cpu, wasm] = [losses.cpu!, losses.wasm!];
    expect(cpu.at(-1)!).toBeLessThan(cpu[0]! * 0.7);
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(wasm[i]! - cpu[i]!), `step ${i}`).toBeLessThan(1e-4);
  });
});
