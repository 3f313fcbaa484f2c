/**
 * Reductions of empty tensors on wasm and webgpu give the cpu backend's values, dtypes and shapes
 * (stock wasm returns stale heap values, stock webgpu throws); non-empty reductions are the stock
 * kernels' own. Webgpu cases are skipped with a message where no adapter exists, unless
 * SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { EMPTY_SAFE_REDUCTIONS, hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the empty-reduction tests on webgpu');

afterAll(() => registerTrainingKernels());

type Op = (x: tf.Tensor) => tf.Tensor;
/** [label, shape, dtype, op]: every reduction, over empty axes, all axes, with keepDims, and with an empty output. */
const CASES: [string, number[], 'float32' | 'int32' | 'bool', Op][] = [
  ['sum over the empty axis', [0, 3], 'float32', (x) => tf.sum(x, 0)],
  ['sum of everything', [0, 3], 'float32', (x) => tf.sum(x)],
  ['sum with keepDims', [2, 0, 3], 'float32', (x) => tf.sum(x, 1, true)],
  ['sum of int32', [0, 3], 'int32', (x) => tf.sum(x, 0)],
  ['sum of bool', [3, 0], 'bool', (x) => tf.sum(x, 1)],
  ['sum with an empty output', [0, 3], 'float32', (x) => tf.sum(x, 1)],
  ['mean', [0, 3], 'float32', (x) => tf.mean(x, 0)],
  ['mean with keepDims', [2, 0], 'float32', (x) => tf.mean(x, -1, true)],
  ['max', [0, 3], 'float32', (x) => tf.max(x, 0)],
  ['max of int32', [0, 3], 'int32', (x) => tf.max(x, 0)],
  ['min', [4, 0], 'float32', (x) => tf.min(x, 1)],
  ['prod', [0, 3], 'float32', (x) => tf.prod(x, 0)],
  ['prod of int32, everything', [0], 'int32', (x) => tf.prod(x)],
  ['any', [0, 3], 'bool', (x) => tf.any(x, 0)],
  ['all', [3, 0], 'bool', (x) => tf.all(x, 1)],
  ['argMax', [0, 3], 'float32', (x) => tf.argMax(x, 0)],
  ['argMin', [3, 0], 'float32', (x) => tf.argMin(x, 1)],
  ['logSumExp (Max, Sum)', [0, 2], 'float32', (x) => tf.logSumExp(x, 0)],
  ['moments (Mean)', [0, 2], 'float32', (x) => tf.moments(x, 0).variance],
];

/** Values (NaN as the string 'NaN', so that equality covers it), shape and dtype of op(x) on the active backend. */
async function reduce(shape: number[], dtype: 'float32' | 'int32' | 'bool', op: Op) {
  const before = tf.memory().numTensors;
  const x = tf.zeros(shape, dtype);
  const y = tf.tidy(() => op(x));
  const result = { values: Array.from(await y.data(), (v) => (Number.isNaN(v) ? 'NaN' : v)), shape: y.shape, dtype: y.dtype };
  tf.dispose([x, y]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

async function onCpu(shape: number[], dtype: 'float32' | 'int32' | 'bool', op: Op) {
  await tf.setBackend('cpu');
  return reduce(shape, dtype, op);
}

describe('reductions of empty tensors', () => {
  it('are wrapped on wasm and webgpu, and put back by unregister', () => {
    registerTrainingKernels();
    for (const name of EMPTY_SAFE_REDUCTIONS) expect(hasTrainingKernel(name, 'wasm'), name).toBe(true);
    unregisterTrainingKernels();
    for (const name of EMPTY_SAFE_REDUCTIONS) expect(hasTrainingKernel(name, 'wasm'), name).toBe(false);
    registerTrainingKernels();
  });

  describe.each(CASES)('%s', (_, shape, dtype, op) => {
    it('on wasm equals the cpu backend', async () => {
      registerTrainingKernels();
      const expected = await onCpu(shape, dtype, op);
      await tf.setBackend('wasm');
      expect(await reduce(shape, dtype, op)).toEqual(expected);
    });

    it.runIf(adapter)('on webgpu equals the cpu backend', async () => {
      registerTrainingKernels();
      const expected = await onCpu(shape, dtype, op);
      await tf.setBackend('webgpu');
      expect(await reduce(shape, dtype, op)).toEqual(expected);
    });
  });

  it('the stock wasm Sum of an empty tensor is not to be trusted (why the wrapper exists)', async () => {
    // Fill the heap region the next output will likely reuse with non-zeros, then sum nothing.
    unregisterTrainingKernels();
    await tf.setBackend('wasm');
    const filler = tf.fill([64], 7);
    await filler.data();
    filler.dispose();
    const x = tf.zeros([0, 64]);
    const y = tf.sum(x, 0);
    const stale = Array.from(await y.data()).some((v) => v !== 0);
    tf.dispose([x, y]);
    registerTrainingKernels();
    expect(stale).toBe(true);
  });

  it('non-empty reductions are the stock kernels\' results', async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
    const x = tf.tensor2d([[1, -2, 3], [4, 5, -6]]);
    const results = await Promise.all([tf.sum(x, 0), tf.mean(x, 1), tf.max(x), tf.min(x, 0), tf.prod(x, 1), tf.argMax(x, 1)].map((t) => t.array()));
    expect(results).toEqual([[5, 3, -3], [Math.fround(2 / 3), 1], 5, [1, -2, -6], [-6, -120], [2, 1]]);
    x.dispose();
  });
});
