/**
 * BatchMatMul and _FusedMatMul for the wasm and webgpu backends where the shared dimension is 0 (a
 * [m, 0] by [0, n] product, a dense layer on zero features): the product is then all zeros, but
 * the stock wasm kernels multiply nothing into an output they never clear and return stale heap
 * values, and the stock webgpu _FusedMatMul returns zeros without its bias and activation. Here
 * both operands get one zero along the shared dimension before the stock kernel runs, which gives
 * the zeros (and, fused, bias and activation applied to them) as the cpu backend does. Every
 * other product goes to the stock kernels unchanged.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, type KernelArgs } from './kernel-ops.js';
import { requireStockKernel } from './registry-state.js';

/** The matrix products that `registerTrainingKernels()` wraps on wasm and webgpu for a shared dimension of 0. */
export const EMPTY_INNER_MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
type MatMulKernel = (typeof EMPTY_INNER_MATMUL_KERNELS)[number];

/** The axis of `t` (rank >= 2) that a product shares: its columns, or its rows if transposed. */
function sharedAxis(t: TensorInfo, sharedIsRows: boolean): number {
  return t.shape.length - (sharedIsRows ? 2 : 1);
}

/** Our kernel `name` for `backendName`: the stock kernel, with a shared dimension of 0 made a zero of size 1. */
export function emptyInnerMatMulKernel(name: MatMulKernel, backendName: string): KernelFunc {
  const padded = compositeKernel(backendName, (ops, inputs, attrs) => {
    const { a, b } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB } = attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
    const a1 = ops.appendZero(a!, sharedAxis(a!, transposeA === true));
    const b1 = ops.appendZero(b!, sharedAxis(b!, transposeB !== true));
    return ops.runStock(name, { ...inputs, a: a1, b: b1 }, attrs);
  });
  return ((args: KernelArgs) => {
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    const { transposeA } = (args.attrs ?? {}) as { transposeA?: boolean };
    // Malformed operands go to the stock kernel as they came, for its error.
    const wellFormed = a !== undefined && b !== undefined && a.shape.length >= 2 && b.shape.length >= 2;
    if (wellFormed && a.shape[sharedAxis(a, transposeA === true)] === 0) return padded(args);
    return requireStockKernel(name, backendName).kernelFunc(args as never);
  }) as KernelFunc;
}
