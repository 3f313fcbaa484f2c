/**
 * TopK for the wasm backend where the input's last axis is empty (k is then 0): the stock kernel
 * divides by that axis' size and traps ("RuntimeError: divide by zero"). Here the result is what
 * the cpu backend gives, empty values and indices of shape [..., 0]. Every other input goes to the
 * stock kernel.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import type { WasmBackendInternals } from './backend-internals.js';

export function wasmTopKKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    if (x === undefined || x.shape.length === 0 || x.shape[x.shape.length - 1] !== 0) {
      return requireStockKernel('TopK', 'wasm').kernelFunc(args as never);
    }
    const backend = args.backend as WasmBackendInternals;
    const { k } = args.attrs as unknown as { k: number };
    const outShape = [...x.shape.slice(0, -1), k];
    return [backend.makeOutput(outShape, x.dtype), backend.makeOutput(outShape, 'int32')];
  }) as KernelFunc;
}
