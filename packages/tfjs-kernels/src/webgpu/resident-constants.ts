/**
 * Small constants kept on the GPU, so that stock webgpu kernels stop uploading them on every call.
 *
 * tfjs creates scalars on the CPU all the time: Adam makes six per variable per step (beta1,
 * 1 - beta1, epsilon, -learningRate, ...), gradients and losses make more. When such a tensor
 * meets a GPU tensor in a webgpu kernel, tfjs-backend-webgpu uploads it through a staging buffer
 * that it creates and destroys for that one upload. On an H100 through Dawn that costs about
 * 1.3 ms per upload (500 adds: 38 ms on GPU tensors, 667 ms with a fresh scalar each), and an
 * SA-U-Net Adam step makes 1,653 of them: most of its wall time.
 *
 * The wrapped kernels below swap each small CPU-side input for a GPU copy of the same values,
 * made once and kept in a per-backend cache (least recently used out first). tfjs tensors are
 * immutable, so the copy is interchangeable with the original. Where the stock kernel would
 * compute on the CPU (all inputs there and small) it is left alone: no upload happens at all.
 * What still changes every step (Adam's bias corrections 1 - beta^t, computed on the CPU by
 * tfjs-core) is uploaded once per step instead of once per variable.
 */
import { util, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { requireStockKernel } from '../registry-state.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

/** Kernels whose small CPU inputs are served from the cache: those a training step feeds constants. */
export const RESIDENT_INPUT_KERNELS = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference',
  'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'Select', 'GatherV2',
] as const;

/** Inputs with at most this many elements count as constants (scalars, index lists, per-axis shapes). */
export const MAX_CONSTANT_SIZE = 64;
/** Distinct constants kept per backend; an Adam step needs about ten. */
export const MAX_CACHED_CONSTANTS = 1024;

const caches = new WeakMap<KernelBackend, Map<string, TensorInfo>>();

/** The values of a small numeric tensor that lives on the CPU, else null. */
function smallCpuValues(backend: WebGPUBackendInternals, t: TensorInfo): ArrayLike<number> | null {
  if (t.dtype === 'string' || t.dtype === 'complex64' || util.sizeFromShape(t.shape) > MAX_CONSTANT_SIZE) return null;
  const data = backend.tensorMap.get(t.dataId);
  return data === undefined || data.resource != null ? null : data.values;
}

/** Bit-exact key, so that 0 and -0 (and NaN payloads) stay distinct constants. */
function keyOf(t: TensorInfo, values: ArrayLike<number>): string {
  const bits = t.dtype === 'float32' ? new Int32Array(Float32Array.from(values).buffer) : Array.from(values);
  return `${t.dtype}|${t.shape.join(',')}|${bits.join(',')}`;
}

/** The GPU copy of a small CPU tensor, made on first use. */
function residentCopy(backend: WebGPUBackendInternals, t: TensorInfo, values: ArrayLike<number>): TensorInfo {
  let cache = caches.get(backend);
  if (cache === undefined) caches.set(backend, (cache = new Map()));
  const key = keyOf(t, values);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key); // re-insert: Map order is the recency order
    cache.set(key, hit);
    return hit;
  }
  const copy = t.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  const info: TensorInfo = { dataId: backend.write(copy, t.shape, t.dtype), shape: [...t.shape], dtype: t.dtype };
  backend.uploadToGPU(info.dataId);
  cache.set(key, info);
  if (cache.size > MAX_CACHED_CONSTANTS) {
    const [oldestKey, oldest] = cache.entries().next().value as [string, TensorInfo];
    cache.delete(oldestKey);
    backend.disposeData(oldest.dataId); // deferred by the backend while a queued command still reads it
  }
  return info;
}

/** How many constants the cache of `backend` holds (for tests and diagnostics). */
export function residentConstantCount(backend: KernelBackend): number {
  return caches.get(backend)?.size ?? 0;
}

/** The stock kernel `kernelName` of webgpu, with its small CPU inputs served from the GPU cache. */
export function withResidentConstants(kernelName: string): KernelFunc {
  return (args) => {
    const stock = requireStockKernel(kernelName, 'webgpu');
    const backend = args.backend as WebGPUBackendInternals;
    const entries = Object.entries(args.inputs) as Array<[string, TensorInfo]>;
    const small = entries.map(([, t]) => smallCpuValues(backend, t));
    if (small.every((v) => v === null) || backend.shouldExecuteOnCPU(entries.map(([, t]) => t))) return stock.kernelFunc(args);
    const inputs = Object.fromEntries(entries.map(([name, t], i) => [name, small[i] === null ? t : residentCopy(backend, t, small[i]!)]));
    return stock.kernelFunc({ ...args, inputs } as Parameters<KernelConfig['kernelFunc']>[0]);
  };
}
