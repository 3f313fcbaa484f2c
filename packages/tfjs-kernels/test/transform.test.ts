/**
 * tf.image.transform of a batch: the stock cpu kernel returns after the first image (the others
 * stay zeros); ours warps every image, as wasm's (right) does, with one transform row per image or
 * one for all. The webgpu run is in webgpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';
import { IMAGES_SHAPE, TRANSFORM_ROWS, imageValues, nearestReference, warp } from './transform-cases.js';

afterAll(() => registerTrainingKernels());

const ROW_CASES: Array<[string, number[][]]> = [['a row per image', TRANSFORM_ROWS], ['one row for the batch', [TRANSFORM_ROWS[0]!]]];
const imageSize = IMAGES_SHAPE.slice(1).reduce((p, d) => p * d, 1);

describe('tf.image.transform of a batch', () => {
  it('the stock cpu kernel leaves every image after the first at the fill value', async () => {
    const stock = await stockResultOn('cpu', warp(TRANSFORM_ROWS, 'nearest'));
    expect(stock.values.slice(0, imageSize)).toEqual(nearestReference(TRANSFORM_ROWS).slice(0, imageSize));
    expect(stock.values.slice(imageSize).every((v) => v === 0)).toBe(true);
    registerTrainingKernels();
    expect(hasTrainingKernel('Transform', 'cpu')).toBe(true);
  });

  for (const backend of ['cpu', 'wasm']) {
    it.each(ROW_CASES)(`warps every image on ${backend}, nearest as TensorFlow defines it: %s`, async (_label, rows) => {
      registerTrainingKernels();
      const result = await resultOn(backend, warp(rows, 'nearest'));
      expect(result.shape).toEqual([...IMAGES_SHAPE]);
      expect(result.values).toEqual(nearestReference(rows));
    });
  }

  it.each(ROW_CASES)('bilinear on cpu equals wasm\'s: %s', async (_label, rows) => {
    registerTrainingKernels();
    const [cpu, wasm] = [await resultOn('cpu', warp(rows, 'bilinear')), await resultOn('wasm', warp(rows, 'bilinear'))];
    expect(cpu.values.slice(imageSize).some((v) => v !== 0)).toBe(true);
    expect(differenceRelativeToLargest(cpu.values, wasm.values)).toBeLessThan(1e-6);
  });
});

describe('tf.image.transform with fillMode \'reflect\' on wasm', () => {
  /** Shifts left and up by fractions of a pixel, so that coordinates below 0 are mirrored. */
  const rows = [[1, 0, -1.5, 0, 1, -0.75, 0, 0], [0.9, 0.2, 2.6, -0.1, 1.1, -2.3, 0, 0], [1, 0.1, -4.2, 0.05, 1, 3.1, 0.01, 0]];
  const reflectWarp = (interpolation: 'nearest' | 'bilinear', r = rows) => () =>
    tf.image.transform(tf.tensor4d(imageValues(), [...IMAGES_SHAPE]), tf.tensor2d(r), interpolation, 'reflect');

  it('the stock kernel mirrors coordinates below 0 wrongly', async () => {
    const [cpu, stock] = [await resultOn('cpu', reflectWarp('nearest')), await stockResultOn('wasm', reflectWarp('nearest'))];
    expect(stock.values).not.toEqual(cpu.values);
  });

  it.each(['nearest', 'bilinear'] as const)('ours equals the cpu backend\'s (%s), with a row per image or one for all', async (interpolation) => {
    registerTrainingKernels();
    for (const r of [rows, [rows[1]!]]) {
      const [cpu, wasm] = [await resultOn('cpu', reflectWarp(interpolation, r)), await resultOn('wasm', reflectWarp(interpolation, r))];
      expect(wasm).toEqual(cpu);
    }
  });
});
