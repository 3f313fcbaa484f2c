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
 *   bash .gpu/run.sh .gpu/gpu-input-grad.mjs --size 256 --out $OUT/input-grad.json
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
// Not part of the package's API: the composed kernel that the package registers on cpu and wasm.
import { conv2dBackpropInputKernel } from '../../tfjs-kernels/src/conv2d-backprop.js';
import { requireStockKernel } from '../../tfjs-kernels/src/registry-state.js';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { stepTimes } from '../src/commands/latency.js';
import { buildModel, disposeModel } from '../src/commands/run-model.js';
import { timeCalls } from '../src/eval/timing.js';
import { profileStep, trainOneBatch } from './kernel-totals.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '256' },
  'base-filters': { type: 'string', default: '32' },
  runs: { type: 'string', default: '10' },
  steps: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '2' },
  models: { type: 'string', default: 'unet,sa-unet' },
  out: { type: 'string' },
} });
const size = Number(values.size);
const baseFilters = Number(values['base-filters']);
const runs = Number(values.runs);

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
function use(kernelFunc: tf.KernelFunc): void {
  tf.unregisterKernel(KERNEL, 'webgpu');
  tf.registerKernel({ ...registered, kernelFunc });
}

/** The distinct (dy, filter, attrs) of the input gradients of one U-Net step, with their counts. */
async function inputGradCalls(): Promise<Array<{ dy: number[]; filter: number[]; attrs: tf.NamedAttrMap; calls: number }>> {
  const seen = new Map<string, { dy: number[]; filter: number[]; attrs: tf.NamedAttrMap; calls: number }>();
  use((args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const key = JSON.stringify([dy.shape, filter.shape, args.attrs]);
    const entry = seen.get(key) ?? { dy: [...dy.shape], filter: [...filter.shape], attrs: { ...args.attrs }, calls: 0 };
    entry.calls++;
    seen.set(key, entry);
    return stockKernelFunc(args);
  });
  const model = buildModel('unet', { size, baseFilters }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  await trainOneBatch(model, size);
  disposeModel(model);
  use(registered.kernelFunc);
  return [...seen.values()];
}

interface KernelTime { gpuMs: number; wallMs: number }

/**
 * ms per call of the current kernel: median wall time to a read-back, then the median GPU time of
 * `runs` calls under one tf.profile (NaN without timestamp queries), apart so that the profiler's
 * own work stays out of the wall times.
 */
async function timeKernel(dy: tf.Tensor, filter: tf.Tensor, attrs: tf.NamedAttrMap): Promise<KernelTime> {
  const callAndRead = async () => {
    const r = tf.engine().runKernel(KERNEL, { dy, filter }, attrs) as tf.Tensor;
    await r.data();
    r.dispose();
  };
  const wall = await timeCalls(async () => {
    const t0 = performance.now();
    await callAndRead();
    return performance.now() - t0;
  }, 1, runs);
  const info = await tf.profile(async () => {
    for (let i = 0; i < runs; i++) await callAndRead();
  });
  const gpu = info.kernels.filter((k) => k.name === KERNEL).map((k) => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN));
  return { gpuMs: percentile(Float64Array.from(gpu), 50), wallMs: wall.medianMs };
}

const shapes: Array<Record<string, unknown>> = [];
const steps: Array<Record<string, unknown>> = [];
const save = () => {
  if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), adapter, size, baseFilters, runs, shapes, steps }, null, 2));
};

for (const { dy: dyShape, filter: filterShape, attrs, calls } of await inputGradCalls()) {
  const dy = tf.randomUniform(dyShape, -1, 1, 'float32', 1);
  const filter = tf.randomUniform(filterShape, -0.1, 0.1, 'float32', 2);
  use(stockKernelFunc);
  const stock = await timeKernel(dy, filter, attrs);
  const stockDx = tf.engine().runKernel(KERNEL, { dy, filter }, attrs) as tf.Tensor;
  use(composed);
  const composedTime = await timeKernel(dy, filter, attrs);
  const composedDx = tf.engine().runKernel(KERNEL, { dy, filter }, attrs) as tf.Tensor;
  // Both maxima in one tidy: the |dx| and difference tensors are as large as dx itself.
  const maxima = tf.tidy(() => tf.stack([tf.max(tf.abs(stockDx)), tf.max(tf.abs(tf.sub(stockDx, composedDx)))]));
  const [scale, diff] = (await maxima.data()) as Float32Array;
  tf.dispose([dy, filter, stockDx, composedDx, maxima]);
  shapes.push({ dy: dyShape, filter: filterShape, inputShape: attrs['inputShape'], calls, stock, composed: composedTime, maxDifferenceOverMaxAbs: diff / scale });
  console.log(`dy [${dyShape.join(',')}] filter [${filterShape.join(',')}] x${calls}: stock ${stock.gpuMs.toFixed(3)} ms GPU (${stock.wallMs.toFixed(2)} wall), ` +
    `composed ${composedTime.gpuMs.toFixed(3)} ms GPU (${composedTime.wallMs.toFixed(2)} wall); max difference ${(diff / scale).toExponential(1)} of max |dx|`);
  save();
}
use(registered.kernelFunc);

for (let round = 0; round < Number(values.rounds); round++) {
  for (const variant of Object.keys(VARIANTS)) {
    use(VARIANTS[variant]!);
    for (const name of values.models.split(',') as Array<'unet' | 'sa-unet'>) {
      const model = buildModel(name, { size, baseFilters }, 1);
      const step = await stepTimes(model, size, Number(values.steps));
      const totals = await profileStep(model, size);
      const { ms: inputGradGpuMs, calls: inputGradCalls } = totals.find((k) => k.kernel === KERNEL) ?? { ms: 0, calls: 0 };
      const gpuMs = totals.reduce((sum, k) => sum + k.ms, 0);
      steps.push({ round, variant, model: name, step, gpuMs, inputGradGpuMs, inputGradCalls });
      console.log(`round ${round} ${variant} ${name}: Adam step ${step.medianMs.toFixed(1)} ms (p90 ${step.p90Ms.toFixed(1)}); ` +
        `GPU ${gpuMs.toFixed(1)} ms, of it ${KERNEL} ${inputGradGpuMs.toFixed(1)} ms x${inputGradCalls}`);
      disposeModel(model);
      save();
    }
  }
}
use(registered.kernelFunc);
