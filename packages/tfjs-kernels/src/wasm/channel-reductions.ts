/**
 * Sum and Mean of float32 tensors over a run of axes followed by kept ones, for the wasm backend:
 * batch norm's moments and its gradient's channel sums ([n, h, w, c] to [c]) and channel
 * attention's pooling ([n, h, w, c] to [n, c]).
 *
 * The stock kernels (tfjs-backend-wasm 4.22) first transpose such a tensor to put the reduced
 * axes last, then add each output's values in float32, one after another. Here each output is
 * added straight from the input in that same order, so the results are the stock kernels' bit for
 * bit, without the transposed copy: by the heap module's `addRows` (src/wasm/heap-module.ts), four
 * outputs per SIMD addition, 4-8x faster than the JavaScript below (e.g. [1,65536,32] to [32], 0.42
 * against 2.6 ms), or, where the module cannot run, in JavaScript, four outputs at a time in float32
 * accumulators. The JavaScript version, measured on the 2-core development machine (median of 15
 * calls, each with a read of the result, stock then ours): [4,64,64,16] to [16] 0.84 against 0.27 ms, to [4,16] 0.54 against 0.25; [4,128,128,32]
 * to [32] 6.6 against 2.6; [4,128,128,8] 1.07 against 0.47; [4,4,4,256] 0.083 against 0.020. In
 * an SA-U-Net Adam step at 64x64, base 16, where the inputs come from memory, not cache, Sum and
 * Mean took 48 of 310 ms with the stock kernels and 33 with these (tf.profile).
 * Other dtypes, reduced axes given out of order (the stock kernels add those in the given order)
 * or already innermost (no transpose to save) go to the kernel this one wraps.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

/**
 * The wasm kernels that `registerTrainingKernels()` wraps so that float32 reductions over axes
 * before kept ones (batch norm's [n, h, w, c] to [c]) add without the stock kernels' transposed copy.
 */
export const WASM_CHANNEL_REDUCTIONS = ['Sum', 'Mean'] as const;
export type ChannelReduction = (typeof WASM_CHANNEL_REDUCTIONS)[number];

/** A reduction of x viewed as [outer, reduced, inner] over its middle axis. */
export interface MiddleAxisPlan {
  outer: number;
  reduced: number;
  inner: number;
  /** The output's shape, with the reduced axes kept as 1 where keepDims asks. */
  outShape: number[];
}

/**
 * The [outer, reduced, inner] view of a reduction of `shape` over `axis` (as tfjs-core's reductions
 * take it), or null where the stock kernel needs no transpose (the reduced axes are the last ones)
 * or would add in another order (axes not ascending and adjacent).
 */
export function middleAxisPlan(shape: readonly number[], axis: number | number[] | null | undefined, keepDims: boolean): MiddleAxisPlan | null {
  if (axis === undefined || axis === null) return null; // every axis: innermost
  const axes = util.parseAxisParam(axis, [...shape]);
  if (axes.length === 0 || backend_util.axesAreInnerMostDims(axes, shape.length)) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[0]! + i) return null;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  const [outShape] = backend_util.computeOutAndReduceShapes([...shape], axes);
  return {
    outer: util.sizeFromShape(shape.slice(0, first)),
    reduced: util.sizeFromShape(shape.slice(first, last + 1)),
    inner: util.sizeFromShape(shape.slice(last + 1)),
    outShape: keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape,
  };
}

/**
 * Rows of `inner` values added per pass over the outputs: about 64 KB of input, so that a pass over
 * the next four outputs finds those rows in cache.
 */
const BLOCK_VALUES = 1 << 14;

/**
 * out[o * inner + c] = the float32 sum, in order over r, of x[(o * reduced + r) * inner + c];
 * divided by `reduced` (as float32) where `mean`. Each sum starts at +0 and rounds after every
 * addition, as the stock kernels' float loop does.
 */
export function addMiddleAxis(x: Float32Array, plan: Pick<MiddleAxisPlan, 'outer' | 'reduced' | 'inner'>, mean: boolean, out: Float32Array): void {
  const { outer, reduced, inner } = plan;
  const f = Math.fround;
  const acc = new Float32Array(inner);
  const rowsPerBlock = Math.max(1, Math.floor(BLOCK_VALUES / inner));
  const divisor = f(reduced);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * reduced * inner;
    for (let r0 = 0; r0 < reduced; r0 += rowsPerBlock) {
      const r1 = Math.min(reduced, r0 + rowsPerBlock);
      let c = 0;
      for (; c + 4 <= inner; c += 4) {
        let a0 = acc[c]!;
        let a1 = acc[c + 1]!;
        let a2 = acc[c + 2]!;
        let a3 = acc[c + 3]!;
        for (let r = r0, j = base + r0 * inner + c; r < r1; r++, j += inner) {
          a0 = f(a0 + x[j]!);
          a1 = f(a1 + x[j + 1]!);
          a2 = f(a2 + x[j + 2]!);
          a3 = f(a3 + x[j + 3]!);
        }
        acc[c] = a0;
        acc[c + 1] = a1;
        acc[c + 2] = a2;
        acc[c + 3] = a3;
      }
      for (; c < inner; c++) {
        let a = acc[c]!;
        for (let r = r0, j = base + r0 * inner + c; r < r1; r++, j += inner) a = f(a + x[j]!);
        acc[c] = a;
      }
    }
    const to = o * inner;
    if (mean) for (let c = 0; c < inner; c++) out[to + c] = acc[c]! / divisor;
    else out.set(acc, to);
  }
}

/** Our `kernel` for wasm: float32 reductions over middle axes here, everything else to `fallback`. */
export function wasmChannelReduction(kernel: ChannelReduction, fallback: KernelFunc): KernelFunc {
  return ((args: KernelArgs) => {
    const x = (args.inputs as Record<string, TensorInfo>)['x'];
    const attrs = args.attrs ?? {};
    if (x === undefined || x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return fallback(args as never);
    const plan = middleAxisPlan(x.shape, attrs['axis'] as number | number[] | null | undefined, attrs['keepDims'] === true);
    if (plan === null) return fallback(args as never);
    const backend = args.backend as WasmBackendInternals;
    const out = backend.makeOutput(plan.outShape, 'float32');
    // After the allocation, which may have grown (and so moved) the heap.
    const heap = heapModule(backend);
    if (heap !== null) heap.addRows(heapStart(backend, x), heapStart(backend, out), plan.outer, plan.reduced, plan.inner, kernel === 'Mean');
    else addMiddleAxis(backend.typedArrayFromHeap(x) as Float32Array, plan, kernel === 'Mean', backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  }) as KernelFunc;
}
