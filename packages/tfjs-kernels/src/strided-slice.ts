/**
 * StridedSlice done right where the stock kernels get it wrong, and its gradient, which tfjs-core
 * lacks.
 *
 * A strided slice that shrinks an axis (an integer index, `x[1, ::2]`) and has a stride other than
 * 1 on some axis is wrong on every tfjs 4.22 backend: the cpu kernel (which wasm and webgpu use for
 * small inputs too) walks the output's shape, shrunk axes already dropped, with the begin and
 * stride of every axis of x, so `x[1, ::2]` of a [3, 4] tensor gave x[0, 1:3] ([1, 2] instead of
 * [4, 6]) and `x[2, ::-2]` threw "Requested out of range element"; webgpu's shader for larger
 * inputs fails to compile (too few coordinates), its output unwritten. Ours hands the stock kernel the
 * same slice with no axis shrunk (for which it is right) and reshapes the result.
 *
 * The gradient scatters dy back into zeros shaped like x, axis by axis: a negative stride reverses,
 * a stride s > 1 interleaves s - 1 zeros, and a pad puts the run at its begin. Only reshapes, pads,
 * reverses and slices, so it runs on every backend and has a gradient itself.
 */
import {
  pad,
  reshape,
  reverse,
  slice,
  slice_util,
  util,
  zeros,
  type GradConfig,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { compositeKernel, type KernelArgs } from './kernel-ops.js';
import { requireStockKernel } from './registry-state.js';

/** StridedSlice's attributes. */
interface StridedSliceAttrs {
  begin: number[];
  end: number[];
  strides: number[];
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
}

/**
 * The slice a StridedSlice takes, per axis of x: its first index, stride and count (a shrunk
 * axis counts 1, new axes are not axes of x), and the shape of the op's result.
 */
export interface DenseSlice {
  begin: number[];
  strides: number[];
  counts: number[];
  finalShape: number[];
  /** Whether the stock kernels compute it wrongly: an axis shrunk, and a stride other than 1 somewhere. */
  stockIsWrong: boolean;
}

export function denseSlice(xShape: readonly number[], attrs: StridedSliceAttrs): DenseSlice {
  const info = slice_util.sliceInfo([...xShape], attrs.begin, attrs.end, attrs.strides, attrs.beginMask, attrs.endMask,
    attrs.ellipsisMask, attrs.newAxisMask, attrs.shrinkAxisMask);
  const counts = slice_util.computeOutShape(info.begin, info.end, info.strides).map((n) => Math.max(n, 0));
  const shrinks = info.finalShapeSparse.length < xShape.length;
  return {
    begin: info.begin,
    strides: info.strides,
    counts,
    finalShape: info.finalShape,
    stockIsWrong: shrinks && !(info.isIdentity || info.sliceDim0 || info.isSimpleSlice),
  };
}

/**
 * The StridedSlice `slice` of x through the stock kernel, without shrinking axes: begin, end and
 * strides per axis of x and no masks, except the end mask where a negative stride runs to index 0
 * (whose exclusive end, -1, would read as the last index).
 */
function unshrunkAttrs(slice: DenseSlice): StridedSliceAttrs {
  let endMask = 0;
  const end = slice.begin.map((b, axis) => {
    const stride = slice.strides[axis]!;
    const end = b + (slice.counts[axis]! - 1) * stride + Math.sign(stride);
    if (end < 0) endMask |= 1 << axis;
    return end;
  });
  return { begin: slice.begin, end, strides: slice.strides, beginMask: 0, endMask, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };
}

/**
 * StridedSlice through `stock` (a backend's own kernel), corrected where that one is wrong; the
 * wasm copy kernel falls back on it too.
 */
export function stridedSliceThroughStock(args: { inputs: unknown; backend: unknown; attrs?: unknown }, stock: KernelFunc, backendName: string): TensorInfo | TensorInfo[] {
  const attrs = args.attrs as unknown as StridedSliceAttrs;
  // Only a slice that drops an axis can be wrong: the others (our own gradients' included) go
  // straight to the stock kernel, without working out the slice twice.
  if (!attrs.shrinkAxisMask) return stock(args as never);
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  const slice = denseSlice(x.shape, attrs);
  if (!slice.stockIsWrong) return stock(args as never);
  const backend = args.backend as KernelBackend;
  if (slice.counts.includes(0)) {
    const empty = x.dtype === 'string' ? [] : util.getTypedArrayFromDType(x.dtype as 'float32', 0);
    return { dataId: backend.write(empty as never, slice.finalShape, x.dtype), shape: slice.finalShape, dtype: x.dtype };
  }
  return compositeKernel(backendName, (ops) => {
    const unshrunk = ops.adopt(stock({ inputs: { x }, backend, attrs: unshrunkAttrs(slice) as unknown as NamedAttrMap } as never) as TensorInfo);
    return ops.reshape(unshrunk, slice.finalShape);
  })(args as KernelArgs);
}

/** Our StridedSlice for `backendName` (cpu, webgpu): the stock kernel, corrected. */
export function stridedSliceKernel(backendName: string): KernelFunc {
  return ((args: KernelArgs) => stridedSliceThroughStock(args, requireStockKernel('StridedSlice', backendName).kernelFunc, backendName)) as KernelFunc;
}

/** The gradient of StridedSlice: dy put back where the slice took it from, zeros elsewhere. */
export const stridedSliceGradConfig: GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    return { x: () => stridedSliceGradient(dy as Tensor, x.shape, attrs as unknown as StridedSliceAttrs) };
  },
};

function stridedSliceGradient(dy: Tensor, xShape: number[], attrs: StridedSliceAttrs): Tensor {
  const slice = denseSlice(xShape, attrs);
  if (slice.counts.includes(0)) return zeros(xShape);
  let g = reshape(dy, slice.counts);
  for (let axis = 0; axis < xShape.length; axis++) {
    g = scatterAlongAxis(g, axis, slice.begin[axis]!, slice.strides[axis]!, xShape[axis]!);
  }
  return g;
}

/**
 * g's entries k = 0..n-1 along `axis` moved to positions begin + k * stride of an axis of
 * `length`, zeros elsewhere. Works on g as [outer, n, inner], so the rank never grows past 4.
 */
function scatterAlongAxis(g: Tensor, axis: number, begin: number, stride: number, length: number): Tensor {
  const n = g.shape[axis]!;
  if (begin === 0 && stride === 1 && n === length) return g;
  const outer = util.sizeFromShape(g.shape.slice(0, axis));
  const inner = util.sizeFromShape(g.shape.slice(axis + 1));
  let h = reshape(g, [outer, n, inner]);
  if (stride < 0) {
    h = reverse(h, 1);
    begin += (n - 1) * stride;
    stride = -stride;
  }
  let span = n;
  if (stride > 1 && n > 1) {
    span = (n - 1) * stride + 1;
    const spaced = pad(reshape(h, [outer, n, 1, inner]), [[0, 0], [0, 0], [0, stride - 1], [0, 0]]);
    h = slice(reshape(spaced, [outer, n * stride, inner]), [0, 0, 0], [outer, span, inner]);
  }
  h = pad(h, [[0, 0], [begin, length - begin - span], [0, 0]]);
  const shape = [...g.shape];
  shape[axis] = length;
  return reshape(h, shape);
}
