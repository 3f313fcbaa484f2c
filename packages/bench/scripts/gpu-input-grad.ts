/**
 * Conv2D's input gradient on webgpu, two ways, in one run: the stock kernel (a matrix-product
 * shader that reads the filter one value at a time and tests every tap for the stride with a float
 * division; 22 ms of the 86 ms of GPU time of a U-Net step on the H100, against 8.7 ms for the
 * forward convolutions of the same sizes) and @sa-unet/tfjs-kernels' composition (the filter
 * rotated by 180 degrees with its channel axes swapped, then the stock forward convolution, whose
 * shader reads vec4s; for 1x1 filters a transpose and a matrix product). Which is faster on a real
 * GPU decides which one the package registers there; lavapipe (a CPU) cannot tell. (On an H200,
 * 2026-12-04, the composition took 1.7-4.3x less GPU time for every 3x3 shape of the U-Net step
 * but the first layer's, one input channel, 0.85x: webgpu now gets it for filters larger than 1x1,
 * the stock kernel for 1x1 ones.)
 *
 * Per input-gradient shape of a U-Net step (batch 4): ms per call of each (GPU time where the
 * adapter has timestamp queries, and wall time to a read-back) and their largest difference; then
 * the Adam step of U-Net and SA-U-Net with the stock kernel, with the composition for filters
 * larger than 1x1 only, and with the composition for all, alternating in rounds. Tested on
 * lavapipe; on the GPU machine (gpu-session.sh):
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-input-grad --size 256 --out $OUT/input-grad.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
// Not part of the package's API: the composed kernel that the package registers on cpu and wasm.
import { conv2dBackpropInputKernel } from '../../tfjs-kernels/src/conv2d-backprop.js';
import { requireStockKernel } from '../../tfjs-kernels/src/registry-state.js';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { trainOneBatch } from './kernel-totals.js';
import { compareVariantsOnCalls, comparisonOptions, recordKernelCalls, stepsPerVariant, useKernel, type KernelCall } from './kernel-calls.js';

const { size, baseFilters, runs, steps: stepCount, rounds, models, out } = comparisonOptions({ runs: 10, rounds: 2 });

const { description: adapter } = await selectBackend('webgpu'); // our kernels; a clear error without an adapter
const KERNEL = 'Conv2DBackpropInput';
// Ours since 2026-12-04: composed for filters larger than 1x1 (decided by this script's run on an
// H200), else the stock kernel unless the convolution is dilated.
const registered = tf.getKernel(KERNEL, 'webgpu')!;
const stockKernelFunc = requireStockKernel(KERNEL, 'webgpu').kernelFunc;
const composed = conv2dBackpropInputKernel('webgpu') as tf.KernelFunc;
const isPointwise = (args: Parameters<tf.KernelFunc>[0]) => {
  const [fh, fw] = (args.inputs as { filter: tf.TensorInfo }).filter.shape;
  return fh === 1 && fw === 1;
};
const VARIANTS: Record<string, tf.KernelFunc> = {
  stock: stockKernelFunc,
  'composed, 1x1 stock': (args) => (isPointwise(args) ? stockKernelFunc(args) : composed(args)),
  composed,
};
const use = (kernelFunc: tf.KernelFunc) => useKernel(KERNEL, 'webgpu', kernelFunc);

/** The distinct (dy, filter, attrs) of the input gradients of one U-Net step (stock kernel), with their counts. */
async function inputGradCalls(): Promise<KernelCall[]> {
  use(stockKernelFunc);
  const model = buildModel('unet', { size, baseFilters }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  try {
    return await recordKernelCalls([KERNEL], 'webgpu', () => trainOneBatch(model, size));
  } finally {
    disposeModel(model);
    use(registered.kernelFunc);
  }
}

const shapes: Array<Record<string, unknown>> = [];
const steps: Array<Record<string, unknown>> = [];
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, runs, shapes, steps }, null, 2));
};

const PER_SHAPE: Record<string, tf.KernelFunc> = { stock: stockKernelFunc, composed };
await compareVariantsOnCalls(await inputGradCalls(), Object.keys(PER_SHAPE), (v) => use(PER_SHAPE[v]!), 'stock', runs,
  (call) => (call === null ? 'the U-Net step\'s input gradients' : `dy [${call.shapes['dy']!.join(',')}] filter [${call.shapes['filter']!.join(',')}] x${call.calls}`),
  (call, comparison) => {
    shapes.push({ dy: call.shapes['dy'], filter: call.shapes['filter'], inputShape: call.attrs['inputShape'], calls: call.calls, ...comparison });
    save();
  });
use(registered.kernelFunc);

await stepsPerVariant(KERNEL, VARIANTS, { models, size, baseFilters, steps: stepCount, rounds }, ({ kernelGpuMs: inputGradGpuMs, kernelCalls: inputGradCalls, ...row }) => {
  steps.push({ ...row, inputGradGpuMs, inputGradCalls });
  save();
});
