/**
 * KernelOps.release frees a composite kernel's large temporaries before it returns: each one once
 * (a reshape holds its own reference to the shared buffer), inputs never, and finish() must not
 * free them again.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { compositeKernel, type KernelOps } from '../src/kernel-ops.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** Runs a composite kernel body on x and returns the result's values; checks that no buffer is left behind. */
async function run(x: tf.Tensor, body: (ops: KernelOps, x: tf.TensorInfo) => tf.TensorInfo): Promise<number[]> {
  const backend = tf.backend();
  const before = backend.numDataIds();
  const kernel = compositeKernel('wasm', (ops, inputs) => body(ops, inputs.x!));
  const out = kernel({ inputs: { x } as never, backend, attrs: {} });
  expect(backend.numDataIds(), 'the result is the only new buffer').toBe(before + 1);
  const result = tf.engine().makeTensorFromTensorInfo(out);
  const values = Array.from(await result.data());
  result.dispose();
  expect(backend.numDataIds()).toBe(before);
  return values;
}

describe('KernelOps.release', () => {
  it('frees an intermediate and its reshape before the kernel returns, and finish() leaves them alone', async () => {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    let during = 0;
    const values = await run(x, (ops, input) => {
      const padded = ops.pad(input, [[0, 1], [0, 0]]);
      const flat = ops.reshape(padded, [6]);
      const sum = ops.sum(flat, [0]);
      const held = tf.backend().numDataIds();
      ops.release(flat, padded);
      during = held - tf.backend().numDataIds();
      return sum;
    });
    expect(values).toEqual([10]);
    expect(during, 'the padded buffer is gone at once').toBe(1);
    expect(Array.from(await x.data()), 'the input is intact').toEqual([1, 2, 3, 4]);
    x.dispose();
  });

  it('leaves the kernel\'s inputs and their reshapes\' shared buffer alone', async () => {
    const x = tf.tensor1d([1, 2, 3, 4]);
    const values = await run(x, (ops, input) => {
      const matrix = ops.reshape(input, [2, 2]);
      ops.release(input);
      const doubled = ops.mul(matrix, ops.constant(new Float32Array([2]), [1]));
      ops.release(matrix);
      return doubled;
    });
    expect(values).toEqual([2, 4, 6, 8]);
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    x.dispose();
  });
});
