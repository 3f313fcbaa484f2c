/**
 * Einsum on wasm, which tfjs-backend-wasm lacks (so tf.einsum and tf.image.rgbToGrayscale failed
 * there): ours equals the cpu backend's within float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';

afterAll(() => registerTrainingKernels());

/** [equation, operand shapes]. */
const CASES: Array<[string, number[][]]> = [
  ['ij,jk->ik', [[3, 4], [4, 5]]],
  ['ij,j->i', [[6, 3], [3]]],
  ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
  ['bhqd,bhkd->bhqk', [[1, 2, 3, 4], [1, 2, 5, 4]]],
  ['i,j->ij', [[3], [4]]],
  ['i,i->', [[7], [7]]],
  ['ij->ji', [[3, 4]]],
  ['ij->j', [[3, 4]]],
  ['ij->ij', [[3, 4]]],
];

const einsumOf = (equation: string, shapes: number[][]) => () => tf.einsum(equation, ...shapes.map((s, i) => seededUniform(s, i + 1)));
const grayscale = () => tf.image.rgbToGrayscale(tf.tensor4d(Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i * 37) % 256), [2, 3, 4, 3]));

describe('Einsum on wasm', () => {
  it('is missing in stock wasm (tf.image.rgbToGrayscale failed), added by registerTrainingKernels', async () => {
    await expect(stockResultOn('wasm', grayscale)).rejects.toThrow(/Kernel 'Einsum' not registered for backend 'wasm'/);
    registerTrainingKernels();
    expect(hasTrainingKernel('Einsum', 'wasm')).toBe(true);
  });

  it.each(CASES)('equals the cpu backend\'s: %s', async (equation, shapes) => {
    registerTrainingKernels();
    const [cpu, wasm] = [await resultOn('cpu', einsumOf(equation, shapes)), await resultOn('wasm', einsumOf(equation, shapes))];
    expect(wasm.shape).toEqual(cpu.shape);
    expect(differenceRelativeToLargest(wasm.values, cpu.values)).toBeLessThan(1e-6);
  });

  it('makes tf.image.rgbToGrayscale work, as on cpu', async () => {
    registerTrainingKernels();
    const [cpu, wasm] = [await resultOn('cpu', grayscale), await resultOn('wasm', grayscale)];
    expect(wasm.shape).toEqual([2, 3, 4, 1]);
    expect(differenceRelativeToLargest(wasm.values, cpu.values)).toBeLessThan(1e-6);
  });
});
