/**
 * Multiply and Add of float32 tensors by a per-channel operand broadcast over the pixels, for the
 * wasm backend: channel attention's gate, x [n, h, w, c] times g [n, 1, 1, c], in its forward pass
 * and its gradient (and an operand of shape [c], or [1, ..., 1, c]).
 *
 * The stock kernels (tfjs-backend-wasm 4.22, XNNPACK's broadcasting operators) take about 1.5 times
 * as long for such a product as for one of two full tensors. Here the heap module's `channelOp`
 * computes it in one pass, four channels per SIMD operation: one float32 multiplication or addition
 * per value, so the values are the stock kernels' bit for bit (the operands' order, which the
 * module may swap, changes neither). Other dtypes, shapes and broadcasts, or no heap module: the
 * stock kernel.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

/** The wasm kernels that `registerTrainingKernels()` wraps for operands broadcast over the pixels. */
export const WASM_CHANNEL_OPS = ['Multiply', 'Add'] as const;
export type ChannelOp = (typeof WASM_CHANNEL_OPS)[number];

/** x [outer, pixels, channels] and g's rows of channels, gStride values apart (0: one row for every outer index). */
export interface ChannelBroadcastPlan {
  full: TensorInfo;
  gate: TensorInfo;
  outer: number;
  pixels: number;
  channels: number;
  gStride: number;
}

/**
 * The plan for a binary operation of `a` and `b` where one has the output's shape [n, ..., c] and
 * the other is [n or 1, 1, ..., 1, c] (or a shorter shape ending in c, its missing leading axes 1)
 * with something to broadcast, or null.
 */
export function channelBroadcastPlan(a: TensorInfo, b: TensorInfo): ChannelBroadcastPlan | null {
  if (util.arraysEqual(a.shape, b.shape)) return null; // nothing broadcast
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const [full, gate] = util.arraysEqual(a.shape, outShape) ? [a, b] : util.arraysEqual(b.shape, outShape) ? [b, a] : [null, null];
  if (full === null || gate === null || outShape.length < 2) return null;
  const channels = outShape[outShape.length - 1]!;
  const size = util.sizeFromShape(outShape);
  if (size === 0) return null;
  const g = [...new Array<number>(outShape.length - gate.shape.length).fill(1), ...gate.shape];
  if (g[g.length - 1] !== channels || !g.slice(1, -1).every((d) => d === 1)) return null;
  const perBatch = g[0] !== 1; // then g[0] is outShape[0]
  const outer = perBatch ? outShape[0]! : 1;
  return { full, gate, outer, pixels: size / (outer * channels), channels, gStride: perBatch ? channels : 0 };
}

/** Our Multiply or Add for wasm (over the stock kernel, which it calls where it does not apply). */
export function wasmChannelOp(name: ChannelOp): KernelFunc {
  return ((args: KernelArgs) => {
    const stock = requireStockKernel(name, 'wasm');
    const { a, b } = args.inputs as Record<string, TensorInfo | undefined>;
    const backend = args.backend as WasmBackendInternals;
    const heap = heapModule(backend);
    if (heap === null || a === undefined || b === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args as never);
    const plan = channelBroadcastPlan(a, b);
    if (plan === null) return stock.kernelFunc(args as never);
    const out = backend.makeOutput([...plan.full.shape], 'float32');
    heap.channelOp(heapStart(backend, plan.full), heapStart(backend, plan.gate), heapStart(backend, out), plan.outer, plan.pixels, plan.channels,
      plan.gStride, name === 'Add');
    return out;
  }) as KernelFunc;
}
