/** The result of an op on one backend, with our kernels or the stock ones, for the kernel tests. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';

/** What f() gave: its values, shape and dtype. */
export interface OpResult {
  values: number[];
  shape: number[];
  dtype: tf.DataType;
}

/** f() on `backend` with whatever kernels are registered, checking that nothing is left behind. */
export async function resultOn(backend: string, f: () => tf.Tensor): Promise<OpResult> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const y = tf.tidy(f);
  const out = { values: Array.from(await y.data()), shape: y.shape, dtype: y.dtype };
  y.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

/** f() on `backend` with the stock kernels; ours are registered again afterwards. */
export async function stockResultOn(backend: string, f: () => tf.Tensor): Promise<OpResult> {
  unregisterTrainingKernels();
  try {
    return await resultOn(backend, f);
  } finally {
    registerTrainingKernels();
  }
}
