/**
 * Our Sum and Mean gradients spread dy on the backend instead of multiplying by a ones tensor filled on the CPU: the values
 * must be those of tfjs-core's gradients, bit for bit (x1 and one division are exact either way).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { meanGradConfig, registerTrainingKernels, sumGradConfig, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';
import { PROD_CASES, prodGradient } from './prod-cases.js';

afterAll(() => registerTrainingKernels());

const SHAPE = [2, 3, 4, 5];
const CASES: Array<[string, number | number[] | null, boolean]> = [
  ['axis 1', 1, false],
  ['axes [0, 2]', [0, 2], false],
  ['axis -1', -1, false],
  ['axes [1, 2] keepDims', [1, 2], true],
  ['all axes (null)', null, false],
  ['all axes keepDims', [0, 1, 2, 3], true],
];

async function gradient(op: 'sum' | 'mean', axis: number | number[] | null, keepDims: boolean): Promise<Float32Array> {
  const x = seededUniform(SHAPE, 1);
  const reducedShape = tf.tidy(() => tf[op](x, axis ?? undefined, keepDims).shape);
  const r = seededUniform(reducedShape, 2);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf[op](t, axis ?? undefined, keepDims), r)))(x);
  const values = (await g.data()) as Float32Array;
  expect(g.shape).toEqual(SHAPE);
  expect(g.dtype).toBe('float32');
  tf.dispose([x, r, g]);
  return values;
}

describe.each(['cpu', 'wasm'])('Sum and Mean gradients on %s', (backend) => {
  it.each(CASES.flatMap(([name, axis, keep]) => (['sum', 'mean'] as const).map((op) => [`${op} ${name}`, op, axis, keep] as const)))(
    '%s equals tfjs-core\'s gradient exactly',
    async (_, op, axis, keepDims) => {
      await tf.setBackend(backend);
      unregisterTrainingKernels();
      expect(tf.getGradient(op === 'sum' ? 'Sum' : 'Mean')).not.toBe(op === 'sum' ? sumGradConfig : meanGradConfig);
      const stock = await gradient(op, axis, keepDims);
      registerTrainingKernels();
      expect(tf.getGradient(op === 'sum' ? 'Sum' : 'Mean')).toBe(op === 'sum' ? sumGradConfig : meanGradConfig);
      const before = tf.memory().numTensors;
      const ours = await gradient(op, axis, keepDims);
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(ours)).toEqual(Array.from(stock));
    },
  );
});

describe.each(['cpu', 'wasm'])('Sum and Mean gradients of empty tensors on %s', (backend) => {
  it('are empty, in the tensor\'s shape', async () => {
    await tf.setBackend(backend);
    registerTrainingKernels();
    for (const [shape, axis] of [[[0], 0], [[2, 0, 3], 1], [[0, 4], null]] as const) {
      for (const op of ['sum', 'mean'] as const) {
        const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf[op](t, axis ?? undefined)))(tf.zeros([...shape])));
        expect(g.shape, `${op} of [${shape.join(', ')}]`).toEqual(shape);
        g.dispose();
      }
    }
  });
});

describe('the gradient of Prod', () => {
  it('tfjs-core\'s fails without the chained tensor methods of the @tensorflow/tfjs package', async () => {
    await expect(stockResultOn('cpu', prodGradient(PROD_CASES[0]!).got)).rejects.toThrow(/reshape is not a function/);
  });

  for (const backend of ['cpu', 'wasm']) {
    it.each(PROD_CASES)(`is exact on ${backend}, zeros included: %s`, async (...testCase) => {
      registerTrainingKernels();
      const { got, expected } = prodGradient(testCase);
      const result = await resultOn(backend, got);
      expect(result.shape).toEqual(testCase[1]);
      expect(result.values).toEqual(expected);
    });
  }
});
