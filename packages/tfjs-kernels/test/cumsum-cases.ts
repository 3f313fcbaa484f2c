/** Cumsum gradient cases, with the exact gradient computed in JS: shared by the cpu/wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

/** [label, x shape, axis, exclusive, reverse]. */
export type CumsumCase = [string, number[], number, boolean, boolean];

export const CUMSUM_CASES: CumsumCase[] = [
  ['[2, 5, 3] along axis 1 (stock: a shape error)', [2, 5, 3], 1, false, false],
  ['[2, 3, 3] along axis 1 (stock: wrong values)', [2, 3, 3], 1, false, false],
  ['[4, 3] along axis 0, exclusive', [4, 3], 0, true, false],
  ['[3, 4, 2] along axis 1, reverse', [3, 4, 2], 1, false, true],
  ['[2, 3, 4] along axis 0, exclusive and reverse', [2, 3, 4], 0, true, true],
  ['[6] (the last axis: stock is right)', [6], 0, false, false],
  ['[2, 5] along the last axis, reverse (stock is right)', [2, 5], 1, false, true],
];

/**
 * The gradient of sum(cumsum(x) * w), w = 1, 2, 3, ... (integers, so sums are exact), and its
 * exact value: x_m gets the w_k of every output k whose running sum includes m.
 */
export function cumsumGradient([, shape, axis, exclusive, reverse]: CumsumCase): { got: () => tf.Tensor; expected: number[] } {
  const size = shape.reduce((p, d) => p * d, 1);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const includes = (k: number, m: number) => (reverse ? (exclusive ? m > k : m >= k) : exclusive ? m < k : m <= k);
  const expected = new Array<number>(size).fill(0);
  for (let flat = 0; flat < size; flat++) {
    const m = Math.floor(flat / inner) % n;
    const lineStart = flat - m * inner;
    for (let k = 0; k < n; k++) if (includes(k, m)) expected[flat] += lineStart + k * inner + 1;
  }
  const got = () => {
    const w = tf.tensor(Array.from({ length: size }, (_, i) => i + 1), shape);
    return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(x, axis, exclusive, reverse), w)))(tf.zeros(shape));
  };
  return { got, expected };
}
