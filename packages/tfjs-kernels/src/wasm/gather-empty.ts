/**
 * GatherV2 for the wasm backend where the gathered tensor is empty: the stock kernel returns the
 * (empty) result in its internal 4-D layout, [batch, outer, indices, slice] ([1, 1, 0, 3] for
 * gathering nothing from a [0, 3] tensor, [1, 1, 2, 0] for rows 0 and 2 of a [3, 0] one), not in
 * the gather's shape ([0, 3], [2, 0]), and leaves a reference to each input behind. Here the
 * indices are checked as the stock kernel checks them and the empty result gets the cpu backend's
 * shape. A non-empty tensor goes to the stock kernel.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import type { WasmBackendInternals } from './backend-internals.js';

export function wasmGatherKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const { x, indices } = args.inputs as Record<string, TensorInfo>;
    if (x === undefined || indices === undefined || util.sizeFromShape(x.shape) !== 0) {
      return requireStockKernel('GatherV2', 'wasm').kernelFunc(args as never);
    }
    const backend = args.backend as WasmBackendInternals;
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    const parsedAxis = util.parseAxisParam(axis, x.shape)[0]!;
    const axisDim = x.shape[parsedAxis]!;
    for (const index of backend.readSync(indices.dataId) as backend_util.TypedArray) {
      util.assert(index <= axisDim - 1 && index >= 0, () => `GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
    }
    const { outputShape } = backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
    return backend.makeOutput(outputShape, x.dtype);
  }) as KernelFunc;
}
