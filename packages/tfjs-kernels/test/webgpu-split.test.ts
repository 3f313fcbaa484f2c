/**
 * The webgpu SplitV that registerTrainingKernels registers (src/webgpu/split.ts): every part in one
 * dispatch, the cpu backend's values bit for bit, for ranks 1 to 5, every axis, 2 to 7 parts,
 * float32, int32 and bool; the stock kernel for 8 parts and for an empty part; and the gradient of
 * a concatenation (what a U-Net's decoder trains through). On Dawn (in CI on Mesa's lavapipe);
 * skipped with a message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';
import { countDispatches, nodeWebGPU, onGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the webgpu SplitV tests');

/** [name, x's shape, dtype, sizes (or a count), axis, dispatches expected]. */
const CASES: Array<[string, number[], 'float32' | 'int32' | 'bool', number[] | number, number, number]> = [
  ['rank 1 into 2', [10], 'float32', [3, 7], 0, 1],
  ['channels of a batch of images, as a concatenation\'s gradient', [2, 6, 5, 24], 'float32', [8, 16], 3, 1],
  ['rows, uneven, with -1', [3, 9, 4], 'float32', [2, -1, 4], 1, 1],
  ['the batch axis, negative axis index', [6, 3, 2], 'float32', [1, 5], -3, 1],
  ['7 equal parts of a rank-5 tensor', [2, 7, 3, 2, 2], 'float32', 7, 1, 1],
  ['int32', [4, 10], 'int32', [5, 5], 1, 1],
  ['bool', [4, 10], 'bool', [3, 7], 1, 1],
  ['8 parts: the stock kernel, a slice each', [16, 3], 'float32', 8, 0, 8],
  ['an empty part: the stock kernel', [4, 6], 'float32', [0, 6], 1, 1],
];

function operand(shape: number[], dtype: 'float32' | 'int32' | 'bool', seed: number): tf.Tensor {
  return tf.tidy(() => {
    const u = seededUniform(shape, seed, -100, 100);
    if (dtype === 'float32') return u;
    return dtype === 'int32' ? tf.cast(u, 'int32') : tf.greater(u, 0);
  });
}

describe.runIf(adapter)('SplitV on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%s: the cpu backend\'s parts bit for bit, in the dispatches expected', async (_, shape, dtype, sizes, axis, dispatches) => {
    await tf.setBackend('cpu');
    const xCpu = operand(shape, dtype, 3);
    const values = await xCpu.data();
    const expected = await Promise.all(tf.split(xCpu, sizes, axis).map(async (p) => ({ shape: p.shape, dtype: p.dtype, values: Array.from(await p.data()) })));
    tf.disposeVariables();
    await tf.setBackend('webgpu');
    const x = tf.tensor(values, shape, dtype);
    onGPU(x);
    const before = tf.memory().numTensors;
    const run = countDispatches(() => tf.split(x, sizes, axis));
    expect(run.dispatches).toBe(dispatches);
    const actual = await Promise.all(run.result.map(async (p) => ({ shape: p.shape, dtype: p.dtype, values: Array.from(await p.data()) })));
    expect(actual).toEqual(expected);
    tf.dispose(run.result);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    x.dispose();
    await tf.setBackend('cpu');
  });

  it('the gradient of a concatenation: concat and split one dispatch each, the cpu backend\'s values', async () => {
    const grads = async (upload: boolean) => {
      const [a, b, dy] = [seededUniform([2, 4, 4, 3], 5), seededUniform([2, 4, 4, 5], 6), seededUniform([2, 4, 4, 8], 7)];
      if (upload) onGPU(a, b, dy);
      const { result: g, dispatches } = countDispatches(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.concat([p, q], 3))([a, b], dy));
      const values = await Promise.all(g.map(async (t) => Array.from(await t.data())));
      tf.dispose([a, b, dy, ...g]);
      return { values, dispatches };
    };
    await tf.setBackend('cpu');
    const cpu = await grads(false);
    await tf.setBackend('webgpu');
    const gpu = await grads(true);
    expect(gpu.dispatches).toBe(2);
    expect(gpu.values).toEqual(cpu.values);
    await tf.setBackend('cpu');
  });

  it('errors are the stock kernel\'s', async () => {
    await tf.setBackend('webgpu');
    const x = tf.zeros([4, 6]);
    expect(() => tf.split(x, [2, 3], 1)).toThrow(/sum of sizes must match/i);
    x.dispose();
    await tf.setBackend('cpu');
  });
});
