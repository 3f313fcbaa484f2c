/**
 * Conv2D's filter gradient on webgpu with every tiling of its split-K matrix product
 * (`ProductTiling` of @sa-unet/tfjs-kernels: 32x32 or 64x64 tiles, 4 or 8 rows per thread,
 * 16 or 32 pixels deep) and with the package's choice per shape (tiling-choice.ts), in one run.
 * With 32x32, 4 rows, 16 deep everywhere the filter gradients took 16.4-17.4 ms of the ~55 ms of a
 * U-Net step on an H200 (2026-12-04), 131 GFLOP at 7.5 TFLOPS of the GPU's ~67; the package's
 * rule comes from this script's first run there (12.8 ms by the rule, 21.0 with 32x32 tiles
 * everywhere). Lavapipe (a CPU) cannot tell which is fastest, it only runs the script.
 *
 * Per filter-gradient shape of each model's step (batch 4): ms per call with each version (GPU time
 * where the adapter has timestamp queries, and wall time to a read-back) and its largest difference
 * from the package's; per model, the step's filter-gradient GPU time with each version and with
 * the best one per shape; then the Adam step with each version, alternating in rounds. On the GPU
 * machine (gpu-session.sh):
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-filter-grad --size 256 --out $OUT/filter-grad.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
// Not part of the package's API: the tilings and the kernel made with one.
import { PRODUCT_TILINGS, type ProductTiling } from '../../tfjs-kernels/src/webgpu/product-tiling.js';
import { webgpuConv2dBackpropFilterWith } from '../../tfjs-kernels/src/webgpu/kernels.js';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { trainOneBatch } from './kernel-totals.js';
import { compareVariantsOnCalls, comparisonOptions, recordKernelCalls, stepsPerVariant, useKernel } from './kernel-calls.js';

const { size, baseFilters, runs, steps: stepCount, rounds, models, out } = comparisonOptions({ runs: 10, rounds: 1 });

const { description: adapter } = await selectBackend('webgpu'); // our kernels; a clear error without an adapter
const KERNEL = 'Conv2DBackpropFilter';
const registered = tf.getKernel(KERNEL, 'webgpu')!;
const name = ({ tile, rowsPerThread, tileK }: ProductTiling) => `${tile}x${tile}, ${rowsPerThread} rows, ${tileK} deep`;
/** The package's kernel (a tiling chosen per shape, tiling-choice.ts), then each tiling on every shape. */
const DEFAULT = 'per shape (the package\'s)';
const VARIANTS: Record<string, tf.KernelFunc> = {
  [DEFAULT]: registered.kernelFunc,
  ...Object.fromEntries(PRODUCT_TILINGS.map((t) => [name(t), webgpuConv2dBackpropFilterWith(t) as tf.KernelFunc])),
};

const shapes: Array<Record<string, unknown>> = [];
const perModel: Array<Record<string, unknown>> = [];
const steps: Array<Record<string, unknown>> = [];
const save = () => {
  if (out) {
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, runs, tilings: PRODUCT_TILINGS, shapes, perModel, steps }, null, 2));
  }
};

for (const model of models) {
  const built = buildModel(model, { size, baseFilters }, 1);
  built.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const calls = await recordKernelCalls([KERNEL], 'webgpu', () => trainOneBatch(built, size));
  disposeModel(built);
  const totals = await compareVariantsOnCalls(calls, Object.keys(VARIANTS), (v) => useKernel(KERNEL, 'webgpu', VARIANTS[v]!), DEFAULT, runs,
    (call) => (call === null ? `${model}: the step's filter gradients` : `${model} x [${call.shapes['x']!.join(',')}] filter [${String(call.attrs['filterShape'])}] x${call.calls}`),
    (call, comparison) => {
      shapes.push({ model, x: call.shapes['x'], dy: call.shapes['dy'], filterShape: call.attrs['filterShape'], strides: call.attrs['strides'], calls: call.calls,
        ...comparison });
      save();
    });
  perModel.push({ model, filterGradGpuMsPerStep: totals.gpuMs, bestPerShapeGpuMs: totals.bestPerCallGpuMs });
  save();
}
useKernel(KERNEL, 'webgpu', registered.kernelFunc);

await stepsPerVariant(KERNEL, VARIANTS, { models, size, baseFilters, steps: stepCount, rounds }, (row) => {
  steps.push({ ...row });
  save();
});
