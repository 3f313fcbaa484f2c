/**
 * FusedBatchNorm for the wasm backend: the stock kernel's values bit for bit, four channels per
 * SIMD pass of the heap module (src/wasm/heap-module.ts) instead of one value per pass of its C++
 * loop, which finds each value's mean, variance, offset and scale by counters that wrap around.
 *
 * The stock kernel (tfjs-backend-wasm 4.22) computes (x - mean) * scale in float32, divides that
 * by sqrt(variance + epsilon) rounded to float32, and adds offset, the division and addition in
 * float64, rounding to float32 once (every one of 520,000 random values agreed with this order,
 * none with all-float32 arithmetic). The heap module does the same operations, so its values are
 * the stock ones; the per-channel divisors are computed here once per call.
 *
 * Batch norm runs twice per layer and training step in the zoo (forward, and once more in the
 * closed-form gradient): 44 calls, about a tenth of an SA-U-Net Adam step at 64x64, base 16.
 * Inputs other than float32, statistics whose size is neither 1 nor x's last dimension (the stock
 * kernel cycles through them by flat index), an empty x, or no heap module: the stock kernel.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

/** Per-channel values: the statistic's own where it has one per channel, its one value for all where it has one, `absent` where it is not given. */
function perChannel(values: Float32Array | undefined, channels: number, absent: number): Float32Array {
  if (values === undefined) return new Float32Array(channels).fill(absent);
  return values.length === channels ? values : new Float32Array(channels).fill(values[0]!);
}

/** FusedBatchNorm's statistics (each of 1 or `channels` values; offset and scale optional) and its epsilon. */
export interface Normalization {
  mean: TensorInfo;
  variance: TensorInfo;
  offset?: TensorInfo | null;
  scale?: TensorInfo | null;
  varianceEpsilon: number;
}

/**
 * The heap module's batchNorm parameters in new heap storage (release it with disposeData): mean
 * and scale as float32, then divisor, sqrt(variance + epsilon) rounded to float32 as the stock
 * kernel rounds it, and offset as float64, then `after` (float32 [channels] each): 6 float32
 * slots per channel, 7 with one tensor after.
 */
export function normalizationParams(backend: WasmBackendInternals, channels: number, n: Normalization, after: TensorInfo[] = []): TensorInfo {
  const params = backend.makeOutput([(6 + after.length) * channels], 'float32');
  // Views after the allocation, which may have grown (and so moved) the heap.
  const view = (t: TensorInfo | null | undefined) => (t == null ? undefined : backend.typedArrayFromHeap(t) as Float32Array);
  const epsilon = Math.fround(n.varianceEpsilon); // a C float in the stock kernel
  const variance = perChannel(view(n.variance), channels, 0);
  const offset = perChannel(view(n.offset), channels, 0);
  const doubles = new Float64Array(2 * channels);
  for (let c = 0; c < channels; c++) {
    doubles[c] = Math.fround(Math.sqrt(Math.fround(variance[c]! + epsilon)));
    doubles[channels + c] = offset[c]!;
  }
  const p = view(params)!;
  p.set(perChannel(view(n.mean), channels, 0), 0);
  p.set(perChannel(view(n.scale), channels, 1), channels);
  new Uint8Array(p.buffer, p.byteOffset + 8 * channels, 16 * channels).set(new Uint8Array(doubles.buffer));
  after.forEach((t, i) => p.set(view(t)!, (6 + i) * channels));
  return params;
}

/** Our FusedBatchNorm for wasm (over the stock kernel, which it calls where it does not apply). */
export function wasmFusedBatchNorm(): KernelFunc {
  return ((args: KernelArgs) => {
    const stock = requireStockKernel('FusedBatchNorm', 'wasm');
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const backend = args.backend as WasmBackendInternals;
    const heap = heapModule(backend);
    if (heap === null || x === undefined || mean === undefined || variance === undefined) return stock.kernelFunc(args as never);
    const channels = x.shape[x.shape.length - 1] ?? 0;
    const size = util.sizeFromShape(x.shape);
    const statistics = [mean, variance, offset, scale].filter((t): t is TensorInfo => t !== undefined && t !== null);
    const fits = (t: TensorInfo) => t.dtype === 'float32' && [1, channels].includes(util.sizeFromShape(t.shape));
    if (x.dtype !== 'float32' || size === 0 || channels === 0 || !statistics.every(fits)) return stock.kernelFunc(args as never);

    const out = backend.makeOutput(x.shape, 'float32');
    const varianceEpsilon = (args.attrs?.['varianceEpsilon'] as number | undefined) ?? 0;
    const params = normalizationParams(backend, channels, { mean, variance, offset, scale, varianceEpsilon });
    try {
      heap.batchNorm(heapStart(backend, x), heapStart(backend, out), size / channels, channels, heapStart(backend, params));
    } finally {
      backend.disposeData(params.dataId);
    }
    return out;
  }) as KernelFunc;
}
