/**
 * The forward convolution on webgpu: tfjs-backend-webgpu's conv2d_mm shader (a tiled matrix
 * product with 32x32 tiles and 4x4 outputs per thread) against @sa-unet/tfjs-kernels' tiled
 * product with each of its tilings (`ProductTiling`: 32x32 or 64x64 tiles, 4 or 8 rows per thread,
 * 16 or 32 deep) on every shape, and against the package's registered kernel (64x64 tiles on the
 * shapes where the first run of this script on an H200 found them faster, else stock:
 * tiling-choice.ts). The forward convolutions took 4.9 of the 6.1 ms of GPU time of a U-Net forward
 * pass at batch 1 on an H200 (2026-12-04), 8.4 ms of a U-Net step, and the composed input gradient
 * (9.6 ms) is convolutions too.
 *
 * Per distinct Conv2D and FusedConv2D call of each model's forward pass (batch 1) and Adam step
 * (batch 4): ms per call of the stock kernel and of each version (GPU time where the adapter has
 * timestamp queries, and wall time to a read-back), and the largest difference from the stock
 * result; per model and pass, the totals; then each model's forward latency and Adam step with the
 * stock kernels and with each tiling, alternating in rounds. Two more versions split the product's
 * reduction into partial sums where a convolution has few output tiles (forwardSplit of
 * tiling-choice.ts, which the package registers with 32x32 tiles since 2026-12-05, before a GPU
 * has timed it), the package's choice elsewhere.
 * Tested on lavapipe; on the GPU machine
 * (gpu-session.sh):
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-conv-forward --size 256 --out $OUT/conv-forward.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
// Not part of the package's API: the tiled product, its tilings, the stock kernels ours replaced.
import { requireStockKernel } from '../../tfjs-kernels/src/registry-state.js';
import { webgpuConvForwardWith } from '../../tfjs-kernels/src/webgpu/conv-forward.js';
import { PRODUCT_TILINGS, type ProductTiling } from '../../tfjs-kernels/src/webgpu/product-tiling.js';
import { forwardSplit, LARGE_TILES, SMALL_TILES } from '../../tfjs-kernels/src/webgpu/tiling-choice.js';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import type { ModelName } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import type { LatencyRow } from '../src/commands/latency.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { trainOneBatch } from './kernel-totals.js';
import { compareVariantsOnCalls, comparisonOptions, latencyPerVariant, recordKernelCalls, useKernel, type KernelCall } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out, values } = comparisonOptions({ runs: 10, rounds: 1 }, { 'latency-runs': '30' });

const { description: adapter } = await selectBackend('webgpu'); // our kernels; a clear error without an adapter
const KERNELS = ['FusedConv2D', 'Conv2D'] as const;
const stock = Object.fromEntries(KERNELS.map((k) => [k, requireStockKernel(k, 'webgpu').kernelFunc])) as Record<(typeof KERNELS)[number], tf.KernelFunc>;
const name = ({ tile, rowsPerThread, tileK }: ProductTiling) => `${tile}x${tile}, ${rowsPerThread} rows, ${tileK} deep`;
/** Each version: the kernel functions of both names. */
const VARIANTS: Record<string, Record<string, tf.KernelFunc>> = {
  stock,
  'per shape (the package\'s)': Object.fromEntries(KERNELS.map((k) => [k, tf.getKernel(k, 'webgpu')!.kernelFunc])),
  ...Object.fromEntries(PRODUCT_TILINGS.map((t) => [name(t), Object.fromEntries(KERNELS.map((k) => [k, webgpuConvForwardWith(t, stock[k]) as tf.KernelFunc]))])),
  // The reduction split where there are few output tiles (tiling-choice.ts's forwardSplit, with each of the two tilings), the rest as the package's choice.
  ...Object.fromEntries([SMALL_TILES, LARGE_TILES].map((t) => [`${name(t)}, split where few tiles`, Object.fromEntries(KERNELS.map((k) => [k,
    webgpuConvForwardWith(t, tf.getKernel(k, 'webgpu')!.kernelFunc, (_, splits) => splits !== null, forwardSplit) as tf.KernelFunc]))])),
};
const use = (variant: string) => {
  for (const k of KERNELS) useKernel(k, 'webgpu', VARIANTS[variant]![k]!);
};

const shapes: Array<Record<string, unknown>> = [];
const totals: Array<Record<string, unknown>> = [];
const latency: Array<LatencyRow & { round: number; variant: string }> = [];
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, runs, shapes, totals, latency }, null, 2));
};

/** The distinct calls of both kernels in one pass of a model (the stock kernels computing them). */
async function convCalls(model: ModelName, pass: 'forward' | 'step'): Promise<KernelCall[]> {
  use('stock');
  const built = buildModel(model, { size, baseFilters }, 1);
  built.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const run = pass === 'step' ? () => trainOneBatch(built, size) : async () => {
    const x = tf.randomUniform([1, size, size, 1]);
    const y = built.predict(x) as tf.Tensor;
    await y.data();
    tf.dispose([x, y]);
  };
  try {
    return await recordKernelCalls(KERNELS, 'webgpu', run);
  } finally {
    disposeModel(built);
  }
}

for (const model of models) {
  for (const pass of ['forward', 'step'] as const) {
    const label = (call: KernelCall | null) => (call === null ? `${model} ${pass}: the convolutions`
      : `${model} ${pass} ${call.kernel} x [${call.shapes['x']!.join(',')}] filter [${call.shapes['filter']!.join(',')}] x${call.calls}`);
    const passTotals = await compareVariantsOnCalls(await convCalls(model, pass), Object.keys(VARIANTS), use, 'stock', runs, label, (call, comparison) => {
      shapes.push({ model, pass, kernel: call.kernel, inputs: call.shapes, strides: call.attrs['strides'], activation: call.attrs['activation'],
        calls: call.calls, ...comparison });
      save();
    });
    totals.push({ model, pass, convGpuMs: passTotals.gpuMs, bestPerShapeGpuMs: passTotals.bestPerCallGpuMs });
    save();
  }
}

await latencyPerVariant(Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, () => use(v)])),
  { models, size, baseFilters, runs: Number(values['latency-runs']), steps, rounds }, (row) => {
    latency.push(row);
    save();
  });
use('stock');
