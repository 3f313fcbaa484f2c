/**
 * Dilation2D and its gradients on wasm: the stock kernels start each window's maximum at 0, so
 * windows whose x + filter stay below 0 came out wrong; ours equal the cpu backend's bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';

afterAll(() => registerTrainingKernels());

/** [label, x shape, x range, filter shape, strides, padding, dilations]. */
type DilationCase = [string, number[], [number, number], number[], number | [number, number], 'same' | 'valid', number | [number, number]];
const CASES: DilationCase[] = [
  ['3x3, same, x in [-1, 1]', [2, 6, 7, 3], [-1, 1], [3, 3, 3], 1, 'same', 1],
  ['3x3, same, x below 0 (every stock window wrong)', [1, 5, 5, 2], [-3, -2], [3, 3, 2], 1, 'same', 1],
  ['2x3, valid', [2, 6, 7, 3], [-1, 1], [2, 3, 3], 1, 'valid', 1],
  ['3x3, stride 2, same', [1, 7, 6, 2], [-1, 1], [3, 3, 2], 2, 'same', 1],
  ['3x2, dilations [2, 1], same', [1, 7, 6, 2], [-1, 1], [3, 2, 2], 1, 'same', [2, 1]],
  ['x in [0.5, 1.5] (the stock kernels are right)', [1, 5, 5, 2], [0.5, 1.5], [3, 3, 2], 1, 'same', 1],
];

/** [dilation2d(x, filter), its gradients in x and filter] of the loss sum(dilation2d * r). */
function outputs([, xShape, [lo, hi], fShape, strides, pad, dilations]: DilationCase): Array<() => tf.Tensor> {
  const x = () => seededUniform(xShape, 1, lo, hi) as tf.Tensor4D;
  const f = () => seededUniform(fShape, 2, -0.5, 0.5) as tf.Tensor3D;
  const dilate = (a: tf.Tensor, b: tf.Tensor) => tf.dilation2d(a as tf.Tensor4D, b as tf.Tensor3D, strides, pad, dilations);
  const loss = (a: tf.Tensor, b: tf.Tensor) => {
    const y = dilate(a, b);
    return tf.sum(tf.mul(y, seededUniform(y.shape, 3)));
  };
  return [() => dilate(x(), f()), () => tf.grads(loss)([x(), f()])[0]!, () => tf.grads(loss)([x(), f()])[1]!];
}

describe('Dilation2D on wasm', () => {
  it('replaces the stock kernels and their gradient kernels', () => {
    registerTrainingKernels();
    for (const k of ['Dilation2D', 'Dilation2DBackpropInput', 'Dilation2DBackpropFilter']) expect(hasTrainingKernel(k, 'wasm'), k).toBe(true);
  });

  it('the stock kernels are wrong where x + filter stays below 0', async () => {
    const [forward] = outputs(CASES[1]!);
    const [stock, cpu] = [await stockResultOn('wasm', forward!), await resultOn('cpu', forward!)];
    expect(stock.values).not.toEqual(cpu.values);
    expect(cpu.values.every((v) => v < 0)).toBe(true);
  });

  it.each(CASES)('equals the cpu backend bit for bit, values and both gradients: %s', async (...testCase) => {
    registerTrainingKernels();
    for (const [k, f] of outputs(testCase).entries()) {
      const [cpu, wasm] = [await resultOn('cpu', f), await resultOn('wasm', f)];
      expect(wasm.shape, ['value', 'x gradient', 'filter gradient'][k]).toEqual(cpu.shape);
      expect(wasm.values, ['value', 'x gradient', 'filter gradient'][k]).toEqual(cpu.values);
    }
  });
});
