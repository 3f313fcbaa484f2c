/**
 * Training-mode batch normalization kernels for webgpu, in a few dispatches each (see
 * batch-norm-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link BATCH_NORM_KERNELS}), and a batch-norm layer uses them where they are registered
 * (@sa-unet/unet-zoo's does) and composes stock kernels elsewhere.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { channelLanes, channelRowSplits, gridStrideWorkgroups, PARTIAL_SUM_WORKGROUPS, WORKGROUP } from './grid.js';
import { requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { BATCH_NORM_KERNELS, checkNormalizedX } from '../own-kernels.js';
import {
  batchNormUniforms,
  CHANNEL_RESULTS,
  channelResultsShader,
  inputGradProgram,
  PARTIAL_SUM_THREADS,
  partialSumsProgram,
  rectifiedNormalizeProgram,
  totalsDispatch,
  type BatchNormGeometry,
  type PartialSumKind,
} from './batch-norm-programs.js';
import { recordIntoNew, writableInPlace, type RecordingBackend } from './recorded-dispatch.js';

/**
 * The partial sums of `kind` over x's rows, then the per-channel results finished from them in one
 * dispatch, reading `reads` after the partial sums: new tensors in CHANNEL_RESULTS' order (see
 * channelResultsShader), and the uniforms the kernel's other programs take.
 */
function channelResults(backend: RecordingBackend, kind: PartialSumKind, x: TensorInfo, inputs: TensorInfo[], reads: TensorInfo[],
  rate: number, epsilon: number, rectified = false, movingInPlace = false) {
  const channels = x.shape[x.shape.length - 1] ?? 1;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = size / channels;
  const lanes = channelLanes(channels);
  const { splits, kPerSplit } = channelRowSplits(rows, Math.ceil(channels / lanes), PARTIAL_SUM_THREADS / lanes, PARTIAL_SUM_WORKGROUPS);
  const g: BatchNormGeometry = { rows, channels, rowsPerSplit: kPerSplit, splits, rate, epsilon, threads: gridStrideWorkgroups(size) * WORKGROUP };
  const uniforms = batchNormUniforms(g);
  const partial = backend.runWebGPUProgram(partialSumsProgram(kind, channels, splits, rectified), inputs, 'float32', uniforms);
  try {
    const outputShapes = movingInPlace ? [[channels], [channels]] : CHANNEL_RESULTS[kind].map(([, perChannel]) => [perChannel * channels]);
    const outputs = recordIntoNew(backend, channelResultsShader(kind, channels, movingInPlace), [partial, ...reads],
      outputShapes, uniforms, totalsDispatch(channels));
    return { size, uniforms, outputs };
  } finally {
    backend.disposeData(partial.dataId);
  }
}

export function webgpuBatchMoments({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.moments;
  const [x, movingMean, movingVariance] = requireInputs(name, inputs, ['x', 'movingMean', 'movingVariance']) as [TensorInfo, TensorInfo, TensorInfo];
  checkNormalizedX(name, x);
  const momentum = Number((attrs ?? {}).momentum);
  const gpu = backend as RecordingBackend;
  if ((attrs ?? {}).inPlace !== true || !writableInPlace(gpu, [movingMean, movingVariance])) {
    // mean, variance, updated movingMean, updated movingVariance
    return channelResults(gpu, 'moments', x, [x], [x, movingMean, movingVariance], 1 - momentum, 0).outputs;
  }
  const [mean, variance] = channelResults(gpu, 'moments', x, [x], [x, movingMean, movingVariance], 1 - momentum, 0, false, true).outputs;
  // The updated averages are the inputs' own storage, returned as tfjs's Reshape returns its input's.
  const own = (t: TensorInfo): TensorInfo => {
    gpu.incRef(t.dataId);
    return { dataId: t.dataId, shape: [...t.shape], dtype: t.dtype };
  };
  return [mean!, variance!, own(movingMean), own(movingVariance)];
}

export function webgpuBatchNormGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.gradient;
  const [dy, x, mean, variance, scale] = requireInputs(name, inputs, ['dy', 'x', 'mean', 'variance', 'scale']) as TensorInfo[] as
    [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  checkNormalizedX(name, x);
  const y = inputs['y'];
  if (y !== undefined) checkSameShape(name, 'y', y, x);
  const rectified = y === undefined ? [] : [y];
  const epsilon = Number((attrs ?? {}).varianceEpsilon);
  const b = backend as RecordingBackend;
  const { size, uniforms, outputs: [offsetGrad, scaleGrad, channelTerms] } =
    channelResults(b, 'gradient', x, [dy, x, mean, ...rectified], [variance, mean, scale], 0, epsilon, y !== undefined);
  try {
    const flat = b.runWebGPUProgram(inputGradProgram(size, y !== undefined), [dy, x, channelTerms!, ...rectified], 'float32', uniforms);
    return [withShape(flat, x.shape), scaleGrad!, offsetGrad!];
  } catch (err) {
    for (const t of [offsetGrad!, scaleGrad!]) b.disposeData(t.dataId);
    throw err;
  } finally {
    b.disposeData(channelTerms!.dataId);
  }
}

function checkSameShape(kernel: string, label: string, t: TensorInfo, x: TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.join() !== x.shape.join()) {
    throw new Error(`${kernel}: ${label} must be float32 of x's shape [${x.shape.join(', ')}], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

export function webgpuBatchNormRelu({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const name = BATCH_NORM_KERNELS.normalizeRelu;
  const [x, ...perChannel] = requireInputs(name, inputs, ['x', 'mean', 'variance', 'offset', 'scale']) as [TensorInfo, ...TensorInfo[]];
  checkNormalizedX(name, x);
  const channels = x.shape[x.shape.length - 1]!;
  for (const [i, label] of ['mean', 'variance', 'offset', 'scale'].entries()) {
    const t = perChannel[i]!;
    if (t.dtype !== 'float32' || t.shape.length !== 1 || t.shape[0] !== channels) {
      throw new Error(`${name}: ${label} must be float32 of shape [${channels}], got ${t.dtype} [${t.shape.join(', ')}]`);
    }
  }
  const size = x.shape.reduce((a, b) => a * b, 1);
  const uniforms = batchNormUniforms({
    rows: size / channels, channels, rowsPerSplit: 0, splits: 0, rate: 0,
    epsilon: Number((attrs ?? {}).varianceEpsilon), threads: gridStrideWorkgroups(size) * WORKGROUP,
  });
  const flat = (backend as RecordingBackend).runWebGPUProgram(rectifiedNormalizeProgram(size), [x, ...perChannel], 'float32', uniforms);
  return withShape(flat, x.shape);
}
