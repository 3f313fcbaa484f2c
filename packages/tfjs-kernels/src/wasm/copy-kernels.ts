/**
 * Concat, Slice, StridedSlice, SplitV and Transpose for the wasm backend: copies without the stock
 * kernels' slow paths; and Identity, which shares instead of copying.
 *
 * The stock wasm kernels copy row by row with `out.set(in.subarray(...))`, one typed-array view per
 * row. Concatenating channels-last tensors along the channels makes those rows a few channels
 * long: the scale-attentional layer concatenates four stages of 8 channels at base width 32, so one
 * [4, 128, 128, 32] concat builds 262,144 views. In an SA-U-Net Adam step at 128x128 on wasm,
 * Concat and SplitV (the concat's gradient) took 376 of 2,350 ms. Here rows of 4-byte values that
 * are evenly spaced (a concat's inputs, a block of channels, the rows of a transpose of [a, b, c]
 * to [b, a, c]) go to the row copy of a WebAssembly module working in the heap itself
 * (src/wasm/heap-module.ts: 2.3-3.1x faster than the loops below), which also transposes 2-D;
 * elsewhere, and where it cannot run, short rows are copied by a plain loop, long ones by
 * `copyWithin`, as integers of the value's width: the results are the stock kernels' bit for bit.
 * Strings go to the stock kernels.
 */
import {
  backend_util,
  slice_util,
  util,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { collapseTranspose } from '../kernel-ops.js';
import { stockKernel } from '../registry-state.js';
import { stridedSliceThroughStock } from '../strided-slice.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule, type HeapModule } from './heap-module.js';

type Values = backend_util.TypedArray;

/**
 * Rows shorter than this are copied element by element, longer ones with one `copyWithin` of the
 * heap (measured in Node 20, 1M int32 in rows of L taken from four sources: loop 3.2 ms vs
 * copyWithin 4.9 at L = 8, 3.3 vs 2.6 at 16, 1.8 vs 0.7 at 32; `set` of a `subarray`, which this
 * used before, 11.7, 6.4 and 1.5 ms, as it makes a view per row).
 */
const SHORT_ROW = 12;

/**
 * Row length below which a slice of a block of channels of every pixel (the concat gradient's
 * split) copies with one loop over all its values instead of row by row (measured: splitting
 * [4,64,64,16] into 4, 1.1 ms row by row, 0.6 ms in one loop; [4,128,128,32] into 4, 6.0 and 4.3 ms).
 */
const LONG_ROW = 32;

/**
 * The whole wasm heap as integers of the width of t's values, and where t's values start in it:
 * float32 is copied as its bits, so every NaN payload survives as it does through the stock
 * kernels' `set`. Every tensor lives in that one heap, so rows move with `copyWithin`, without a
 * view per row. Take it after makeOutput, which may grow (and so detach) the heap.
 */
function heapBits(backend: WasmBackendInternals, t: TensorInfo): { heap: Values; start: number } {
  const values = backend.typedArrayFromHeap(t);
  const Bits = values instanceof Float32Array ? Int32Array : (values.constructor as new (buffer: ArrayBufferLike) => Values);
  return { heap: new Bits(values.buffer), start: values.byteOffset / values.BYTES_PER_ELEMENT };
}

/** Copies `length` values from `from` to `to`, both indices into `heap` (the two ranges never overlap). */
function copyRow(heap: Values, from: number, to: number, length: number): void {
  if (length >= SHORT_ROW) {
    heap.copyWithin(to, from, from + length);
    return;
  }
  for (let i = 0; i < length; i++) heap[to + i] = heap[from + i]!;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo> | TensorInfo[];
  backend: KernelBackend;
  attrs?: NamedAttrMap;
}

/** The heap module's row copy where `heap` holds 4-byte values (float32, int32) and the module runs, else null. */
function rowCopyFor(backend: WasmBackendInternals, heap: Values): HeapModule['copyRows'] | null {
  return heap.BYTES_PER_ELEMENT === 4 ? heapModule(backend)?.copyRows ?? null : null;
}

/** Concat: for each of the rows before `axis`, each input's inner block in turn. */
function concat(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const inputs = Object.values(args.inputs) as TensorInfo[];
  const backend = args.backend as WasmBackendInternals;
  const dtype = inputs[0]!.dtype;
  const axis = util.parseAxisParam(args.attrs!['axis'] as number, inputs[0]!.shape)[0]!;
  const nonEmpty = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  if (dtype === 'string' || nonEmpty.length < 2) return stock(args as never);
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const out = backend.makeOutput(backend_util.computeOutShape(inputs.map((t) => t.shape), axis), dtype);
  const outer = util.sizeFromShape(nonEmpty[0]!.shape.slice(0, axis));
  const inner = nonEmpty.map((t) => util.sizeFromShape(t.shape.slice(axis)));
  const starts = nonEmpty.map((t) => heapStart(backend, t));
  const { heap, start } = heapBits(backend, out);
  const copyRows = rowCopyFor(backend, heap);
  if (copyRows !== null) {
    const width = inner.reduce((a, b) => a + b, 0);
    for (let i = 0, offset = 0; i < starts.length; offset += inner[i]!, i++) copyRows(starts[i]!, start + offset, outer, inner[i]!, inner[i]!, width);
    return out;
  }
  let o = start; // the output is written in order, as the stock kernel writes it
  for (let row = 0; row < outer; row++) {
    for (let i = 0; i < starts.length; i++) {
      const length = inner[i]!;
      copyRow(heap, starts[i]! + row * length, o, length);
      o += length;
    }
  }
  return out;
}

/**
 * Slice as rows: the trailing axes taken whole merge with the last partly taken axis into one
 * row, so a slice of whole images copies long rows and a slice of channels short ones.
 */
function sliceInto(backend: WasmBackendInternals, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (util.sizeFromShape(size) === 0) return out;
  const rank = x.shape.length;
  let last = rank - 1; // the innermost axis not taken whole (or 0)
  while (last > 0 && begin[last] === 0 && size[last] === x.shape[last]) last--;
  const strides = [...util.computeStrides(x.shape), 1];
  const rowLength = size[last]! * strides[last]!;
  const rows = util.sizeFromShape(size.slice(0, last));
  const src = heapStart(backend, x);
  const { heap, start: dst } = heapBits(backend, out);
  if (begin.slice(0, last).every((b, a) => b === 0 && size[a] === x.shape[a]) && rowLength < LONG_ROW) {
    // Rows evenly spaced (a block of channels of every pixel): one call of the heap module, or one tight loop.
    const step = strides[last - 1] ?? 0;
    const copyRows = rowCopyFor(backend, heap);
    if (copyRows !== null) {
      copyRows(src + begin[last]! * strides[last]!, dst, rows, rowLength, step, rowLength);
      return out;
    }
    for (let row = 0, s = src + begin[last]! * strides[last]!, d = dst; row < rows; row++, s += step) {
      for (let j = 0; j < rowLength; j++) heap[d++] = heap[s + j]!;
    }
    return out;
  }
  const index = new Array<number>(last).fill(0); // position among the rows, odometer-style
  for (let row = 0; row < rows; row++) {
    let offset = src + begin[last]! * strides[last]!;
    for (let a = 0; a < last; a++) offset += (begin[a]! + index[a]!) * strides[a]!;
    copyRow(heap, offset, dst + row * rowLength, rowLength);
    for (let a = last - 1; a >= 0; a--) {
      if (++index[a]! < size[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}

function slice(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  if (x.dtype === 'string' || x.shape.length === 0) return stock(args as never);
  const [begin, size] = slice_util.parseSliceParams(x as never, args.attrs!['begin'] as number[], args.attrs!['size'] as number[]);
  slice_util.assertParamsValid(x as never, begin, size);
  return sliceInto(args.backend as WasmBackendInternals, x, begin, size);
}

/**
 * StridedSlice: a unit-stride one is a Slice, which the stock kernel copies with the stock Slice
 * (not the registered one: 2.5 to 22 ms for the nine 3x3 windows of a [4,32,32,32] filter
 * gradient); here it is {@link sliceInto}. Other strides go to the stock kernel, corrected where
 * it is wrong (src/strided-slice.ts).
 */
function stridedSlice(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  const a = args.attrs!;
  const info = slice_util.sliceInfo(x.shape, a['begin'] as number[], a['end'] as number[], a['strides'] as number[],
    a['beginMask'] as number, a['endMask'] as number, a['ellipsisMask'] as number, a['newAxisMask'] as number, a['shrinkAxisMask'] as number);
  const size = slice_util.computeOutShape(info.begin, info.end, info.strides);
  // Begin past end: the stock kernel's error.
  if (x.dtype === 'string' || x.shape.length === 0 || info.isIdentity || !info.isSimpleSlice || size.some((d) => d < 0)) {
    return stridedSliceThroughStock(args, stock, 'wasm');
  }
  const out = sliceInto(args.backend as WasmBackendInternals, x, info.begin, size);
  out.shape = info.finalShape; // the same values in the same order (shrunk or new axes of size 1)
  return out;
}

function splitV(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  if (x.dtype === 'string') return stock(args as never);
  const axis = util.parseAxisParam(args.attrs!['axis'] as number, x.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(x as never, args.attrs!['numOrSizeSplits'] as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const part = sliceInto(args.backend as WasmBackendInternals, x, [...begin], size);
    begin[axis]! += s;
    return part;
  });
}

/**
 * x, of 4-byte values, transposed by the heap module where its axes collapse (`collapsed`) to
 * [a, b, c] -> [b, a, c] (the depthwise filter gradient's [n, h·w, c] to [h·w, n, c]: rows of c
 * values moved whole, a calls of the row copy), [rows, cols] -> [cols, rows] (the 1x1 filter
 * gradients' [n·h·w, c] to [c, n·h·w]: 4x4 tiles) or [a, rows, cols] -> [a, cols, rows] (a
 * transposes of that kind). Null for other permutations, other widths, or where the module cannot run.
 */
function transposeInHeap(backend: WasmBackendInternals, x: TensorInfo, collapsed: { shape: number[]; perm: number[] }, perm: number[]): TensorInfo | null {
  const kind = collapsed.perm.join();
  if ((kind !== '1,0,2' && kind !== '1,0' && kind !== '0,2,1') || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
  const module = heapModule(backend);
  if (module === null) return null;
  const out = backend.makeOutput(perm.map((axis) => x.shape[axis]!), x.dtype);
  const [from, to] = [heapStart(backend, x), heapStart(backend, out)];
  if (kind === '1,0,2') {
    const [a, b, c] = collapsed.shape as [number, number, number];
    for (let i = 0; i < a; i++) module.copyRows(from + i * b * c, to + i * c, b, c, c, a * c);
  } else {
    const [a, rows, cols] = (kind === '1,0' ? [1, ...collapsed.shape] : collapsed.shape) as [number, number, number];
    for (let i = 0; i < a; i++) module.transpose(from + i * rows * cols, to + i * rows * cols, rows, cols);
  }
  return out;
}

/**
 * Transpose: by the heap module where it can ({@link transposeInHeap}); else the stock kernel,
 * except for a 2-D transpose [rows, cols] with at least 256 rows
 * (an even number) and 16 columns, which its loops make 5-15x slower than the same transpose
 * seen as [2, rows/2, cols] with perm [2, 0, 1] (measured: [65536, 32] 16.9 vs 2.0 ms, [4096, 105]
 * 4.4 vs 0.3 ms; with fewer rows or columns the 2-D loops win). That is what our filter
 * gradients do to NHWC activations ([n*h*w, c] to [c, n*h*w]). Same kernel, same values. (On
 * another machine, 2026-12-05, the stock 2-D loops were the faster: [65536, 64] 16.7 against 30.1
 * ms; the heap module's tiles took 4.2.)
 */
function transpose(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  const perm = args.attrs!['perm'] as number[];
  const collapsed = collapseTranspose(x.shape, perm);
  const moved = transposeInHeap(args.backend as WasmBackendInternals, x, collapsed, perm);
  if (moved !== null) return moved;
  const { shape } = collapsed; // two axes left: [rows, cols] to [cols, rows]
  const [rows, cols] = shape as [number, number];
  if (shape.length !== 2 || rows < 256 || rows % 2 !== 0 || cols < 16 || x.dtype === 'string') return stock(args as never);
  const out = stock({ ...args, inputs: { x: { ...x, shape: [2, rows / 2, cols] } }, attrs: { perm: [2, 0, 1] } } as never) as TensorInfo;
  out.shape = perm.map((axis) => x.shape[axis]!); // [cols, 2, rows/2] is [cols, rows] in memory, which is this
  return out;
}

/**
 * Identity (tf.clone, and every tensor tfjs saves for a backward pass): the input's storage, shared
 * (as the cpu and webgpu backends do, and as the wasm Reshape does), instead of a copy of it. tfjs
 * tensors are immutable, so the two are interchangeable; a training step saves each layer's input,
 * so with the stock copy every saved activation was held twice.
 */
function identity(args: KernelArgs, stock: KernelFunc): TensorInfo | TensorInfo[] {
  const x = (args.inputs as Record<string, TensorInfo>)['x']!;
  if (x.dtype === 'string') return stock(args as never);
  (args.backend as WasmBackendInternals).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

const COPY_KERNELS = { Identity: identity, Concat: concat, Slice: slice, StridedSlice: stridedSlice, SplitV: splitV, Transpose: transpose };

/** The wasm kernels that `registerTrainingKernels()` replaces with these copies (values bit for bit the stock ones'). */
export const WASM_COPY_KERNELS = Object.keys(COPY_KERNELS) as Array<keyof typeof COPY_KERNELS>;

/** Our wasm kernel `name`, handing what it does not cover (strings) to the stock kernel it replaced. */
export function wasmCopyKernel(name: (typeof WASM_COPY_KERNELS)[number]): KernelFunc {
  const impl = COPY_KERNELS[name];
  return ((args: KernelArgs) => {
    const stock = stockKernel(name, 'wasm');
    if (stock === undefined) throw new Error(`@sa-unet/tfjs-kernels: no stock wasm kernel ${name} to fall back on`);
    return impl(args, stock.kernelFunc);
  }) as KernelFunc;
}
