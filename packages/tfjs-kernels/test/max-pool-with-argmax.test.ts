/**
 * MaxPoolWithArgmax on wasm: the stock kernel starts each window's maximum at the smallest positive
 * float (a window of negative values gave 1.2e-38 and index 0); ours equals the cpu backend's
 * values and indices exactly.
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

/** [label, x shape, window, strides, padding, includeBatchInIndex]. */
type ArgmaxCase = [string, number[], number | [number, number], number | [number, number], 'valid' | 'same', boolean];
const CASES: ArgmaxCase[] = [
  ['2x2, stride 2 (SegNet\'s pooling)', [2, 6, 4, 3], 2, 2, 'valid', false],
  ['2x2, stride 2, batch in the index', [2, 6, 4, 3], 2, 2, 'valid', true],
  ['3x3, stride 2, same (windows in the padding)', [1, 5, 7, 2], 3, 2, 'same', false],
  ['[2, 3], strides [1, 2], same', [2, 5, 6, 2], [2, 3], [1, 2], 'same', true],
];

const pool = ([, shape, window, strides, pad, batchInIndex]: ArgmaxCase, part: 'result' | 'indexes') => () =>
  tf.maxPoolWithArgmax(seededUniform(shape, 1) as tf.Tensor4D, window, strides, pad, batchInIndex)[part];

describe('MaxPoolWithArgmax on wasm', () => {
  it('the stock kernel gives a window of negative values 1.2e-38 and index 0', async () => {
    const negative = () => tf.maxPoolWithArgmax(tf.tensor4d([-1, -9, -2, -8, -3, -7, -4, -6], [1, 2, 4, 1]), 2, 2, 'valid');
    expect((await stockResultOn('wasm', () => negative().result)).values[0]).toBe(1.1754943508222875e-38); // FLT_MIN
    registerTrainingKernels();
    expect(hasTrainingKernel('MaxPoolWithArgmax', 'wasm')).toBe(true);
    expect((await resultOn('wasm', () => negative().result)).values).toEqual([-1, -2]);
    expect((await resultOn('wasm', () => negative().indexes)).values).toEqual([0, 2]);
  });

  it.each(CASES)('equals the cpu backend\'s values and indices: %s', async (...testCase) => {
    registerTrainingKernels();
    for (const part of ['result', 'indexes'] as const) {
      const [cpu, wasm] = [await resultOn('cpu', pool(testCase, part)), await resultOn('wasm', pool(testCase, part))];
      expect(wasm, part).toEqual(cpu);
    }
  });
});
