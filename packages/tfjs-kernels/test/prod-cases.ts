/** Prod gradient cases with exact values computed in JS: shared by the cpu/wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

/** [label, x shape, axis, keepDims]. */
export type ProdCase = [string, number[], number | number[] | undefined, boolean];

export const PROD_CASES: ProdCase[] = [
  ['axis 1 of [2, 3, 4]', [2, 3, 4], 1, false],
  ['axes [0, 2], keepDims', [2, 3, 4], [0, 2], true],
  ['the last axis', [3, 5], -1, false],
  ['every axis', [2, 3], undefined, false],
];

/** x: small values, with exact zeros (one alone in its product, two sharing one). */
const values = (size: number) => Array.from({ length: size }, (_, i) => (i === 5 || i === 6 || i === 9 ? 0 : ((i * 7) % 5) / 4 + 0.5));

/**
 * The gradient of sum(prod(x, axis) * w), w = 1, 2, ..., and its exact value: x_m gets the w of
 * its product times the product of the other values in it.
 */
export function prodGradient([, shape, axis, keepDims]: ProdCase): { got: () => tf.Tensor; expected: number[] } {
  const size = shape.reduce((p, d) => p * d, 1);
  const x = values(size);
  const rank = shape.length;
  const axes = axis === undefined ? shape.map((_, i) => i) : [axis].flat().map((a) => (a < 0 ? a + rank : a));
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, d) => p * d, 1));
  const coords = (flat: number) => shape.map((d, a) => Math.floor(flat / strides[a]!) % d);
  // Products are numbered row-major over the kept axes, as prod(x, axis) lays them out.
  const keptAxes = shape.map((_, a) => a).filter((a) => !axes.includes(a));
  const group = (flat: number) => keptAxes.reduce((g, a) => g * shape[a]! + coords(flat)[a]!, 0);
  const expected = x.map((_, m) => {
    let others = 1;
    for (let i = 0; i < size; i++) if (i !== m && group(i) === group(m)) others *= x[i]!;
    return (group(m) + 1) * others;
  });
  const got = () => {
    const reduced = tf.prod(tf.zeros(shape), axis, keepDims).shape;
    const w = tf.tensor(Array.from({ length: reduced.reduce((p, d) => p * d, 1) }, (_, i) => i + 1), reduced);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.prod(t, axis, keepDims), w)))(tf.tensor(x, shape));
  };
  return { got, expected };
}
