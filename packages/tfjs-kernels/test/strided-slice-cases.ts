/**
 * Strided slices written as NumPy indexes (`x[1, ::2]`), turned into tf.stridedSlice's arguments,
 * with the values and gradient NumPy's semantics give, computed here in plain JS: shared by the
 * cpu/wasm and webgpu tests.
 */
import * as tf from '@tensorflow/tfjs-core';

/** One item of a NumPy index: an integer (drops the axis), a slice, a new axis or an ellipsis. */
type IndexItem = number | { start?: number; stop?: number; step?: number } | 'newaxis' | '...';

/** [label, x shape, index]. */
export type StridedSliceCase = [string, number[], IndexItem[]];

const s = (start?: number, stop?: number, step?: number) => ({ start, stop, step });

export const STRIDED_SLICE_CASES: StridedSliceCase[] = [
  ['x[1, ::2] (stock: x[0, 1:3])', [3, 4], [1, s(undefined, undefined, 2)]],
  ['x[::2, 1]', [3, 4], [s(undefined, undefined, 2), 1]],
  ['x[2, ::-2] (stock cpu: out of range)', [3, 4], [2, s(undefined, undefined, -2)]],
  ['x[:, ::2, ::2, 0]: every other pixel of channel 0', [2, 5, 6, 3], [s(), s(undefined, undefined, 2), s(undefined, undefined, 2), 0]],
  ['x[..., 1:6:2, -1]', [2, 3, 7, 4], ['...', s(1, 6, 2), -1]],
  ['x[-1, :, ::3]', [2, 4, 7], [-1, s(), s(undefined, undefined, 3)]],
  ['x[::2, newaxis, 1]', [5, 3], [s(undefined, undefined, 2), 'newaxis', 1]],
  ['x[1, ::-1, 2:0:-1] (negative strides, runs to index 0)', [2, 4, 5], [1, s(undefined, undefined, -1), s(2, 0, -1)]],
  ['x[0, 3:1:2] (empty, an axis shrunk)', [2, 5], [0, s(3, 1, 2)]],
  ['x[::3, ::2] (no axis shrunk: stock is right)', [7, 5], [s(undefined, undefined, 3), s(undefined, undefined, 2)]],
  ['x[1:3, 2] (unit strides: stock is right)', [4, 5], [s(1, 3), 2]],
];

/** tf.stridedSlice's arguments for a NumPy index. */
export function stridedSliceArgs(index: IndexItem[]) {
  const begin: number[] = [];
  const end: number[] = [];
  const strides: number[] = [];
  let [beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask] = [0, 0, 0, 0, 0];
  index.forEach((item, i) => {
    const bit = 1 << i;
    if (item === '...') {
      ellipsisMask |= bit;
      begin.push(0), end.push(0), strides.push(1);
    } else if (item === 'newaxis') {
      newAxisMask |= bit;
      begin.push(0), end.push(0), strides.push(1);
    } else if (typeof item === 'number') {
      shrinkAxisMask |= bit;
      begin.push(item), end.push(item + 1), strides.push(1);
    } else {
      if (item.start === undefined) beginMask |= bit;
      if (item.stop === undefined) endMask |= bit;
      begin.push(item.start ?? 0), end.push(item.stop ?? 0), strides.push(item.step ?? 1);
    }
  });
  return { begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask };
}

/** Python's slice(start, stop, step).indices(length), as the list of indices it takes. */
function sliceIndices(length: number, { start, stop, step = 1 }: { start?: number; stop?: number; step?: number }): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + length : v);
  const [lo, hi] = step > 0 ? [0, length] : [-1, length - 1];
  const first = start === undefined ? (step > 0 ? 0 : length - 1) : clamp(norm(start), lo, hi);
  const last = stop === undefined ? (step > 0 ? length : -1) : clamp(norm(stop), lo, hi);
  const out: number[] = [];
  for (let i = first; step > 0 ? i < last : i > last; i += step) out.push(i);
  return out;
}

/**
 * What NumPy's x[index] takes: for each output value (row-major), the flat index into x it comes
 * from; and the output's shape.
 */
export function numpySlice(xShape: number[], index: IndexItem[]): { sources: number[]; shape: number[] } {
  const explicit = index.filter((item) => item !== 'newaxis' && item !== '...').length;
  const expanded = index.flatMap((item) => (item === '...' ? Array<IndexItem>(xShape.length - explicit).fill(s()) : [item]));
  while (expanded.filter((item) => item !== 'newaxis').length < xShape.length) expanded.push(s());
  const perAxis: number[][] = [];
  const shape: number[] = [];
  let axis = 0;
  for (const item of expanded) {
    if (item === 'newaxis') {
      shape.push(1);
      continue;
    }
    const length = xShape[axis]!;
    if (typeof item === 'number') perAxis.push([item < 0 ? item + length : item]);
    else {
      const taken = sliceIndices(length, item as { start?: number; stop?: number; step?: number });
      perAxis.push(taken);
      shape.push(taken.length);
    }
    axis++;
  }
  const strides = xShape.map((_, a) => xShape.slice(a + 1).reduce((p, d) => p * d, 1));
  let sources = [0];
  perAxis.forEach((taken, a) => {
    sources = sources.flatMap((base) => taken.map((i) => base + i * strides[a]!));
  });
  return { sources, shape };
}

/** x = 0, 1, 2, ... shaped `shape`, float32. */
export const iota = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i), shape);

/**
 * The gradient of sum(x[index] * w) with w = 1, 2, 3, ...: w at the positions x[index] read,
 * zeros elsewhere; and the same as NumPy's semantics give it.
 */
export function stridedSliceGradient(xShape: number[], index: IndexItem[]): { got: () => tf.Tensor; expected: number[] } {
  const { sources, shape } = numpySlice(xShape, index);
  const expected = new Array<number>(xShape.reduce((p, d) => p * d, 1)).fill(0);
  sources.forEach((source, k) => (expected[source] = k + 1));
  const args = stridedSliceArgs(index);
  const got = () => {
    const w = tf.tensor(sources.map((_, k) => k + 1), shape);
    const slice = (x: tf.Tensor) => tf.stridedSlice(x, args.begin, args.end, args.strides, args.beginMask, args.endMask, args.ellipsisMask, args.newAxisMask, args.shrinkAxisMask);
    return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(slice(x), w)))(iota(xShape));
  };
  return { got, expected };
}

/** x[index] of x = 0, 1, 2, ... through tf.stridedSlice. */
export function stridedSliceOfIota(xShape: number[], index: IndexItem[]): tf.Tensor {
  const a = stridedSliceArgs(index);
  return tf.stridedSlice(iota(xShape), a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
}
