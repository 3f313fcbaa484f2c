/**
 * Training-mode batch normalization kernels for webgpu, in a few dispatches each (see
 * batch-norm-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link BATCH_NORM_KERNELS}), and a batch-norm layer uses them where they are registered
 * (@sa-unet/unet-zoo's does) and composes stock kernels elsewhere.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { channelLanes, chooseSplits, gridStrideWorkgroups, PARTIAL_SUM_WORKGROUPS, WORKGROUP } from './grid.js';
import { requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import {
  batchNormUniforms,
  CHANNEL_RESULTS,
  CHANNEL_THREADS,
  channelResultsShader,
  inputGradProgram,
  partialSumsProgram,
  type BatchNormGeometry,
  type PartialSumKind,
} from './batch-norm-programs.js';
import { newGPUTensor, recordDispatch, type RecordingBackend } from './recorded-dispatch.js';

/**
 * Names of the batch-norm kernels this package registers for webgpu; for x of any rank >= 1,
 * normalized over its last axis (C channels):
 * - `moments`: inputs { x, movingMean, movingVariance }, attrs { momentum } -> [mean, variance,
 *   updated movingMean, updated movingVariance], each [C]: the batch's mean and (biased) variance
 *   over every axis but the last, and the moving averages m - (m - batch value) (1 - momentum).
 * - `gradient`: inputs { dy, x, mean, variance, scale }, attrs { varianceEpsilon } -> [dx,
 *   dScale, dOffset]: the gradient of batchNorm(x, mean, variance, offset, scale) when mean and
 *   variance are x's own batch moments (their dependence on x included).
 * Each takes two dispatches (the moments) or three (the gradient).
 */
export const BATCH_NORM_KERNELS = {
  /** The batch's moments and the updated moving averages. */
  moments: 'SaUnetBatchMoments',
  /** The gradient of training-mode batch normalization. */
  gradient: 'SaUnetBatchNormGrad',
} as const;

/**
 * The partial sums of `kind` over x's rows, then the per-channel results finished from them in one
 * dispatch, reading `reads` after the partial sums: new [C] tensors in CHANNEL_RESULTS' order (see
 * channelResultsShader), and the uniforms the kernel's other programs take.
 */
function channelResults(backend: RecordingBackend, kind: PartialSumKind, x: TensorInfo, inputs: TensorInfo[], reads: TensorInfo[],
  rate: number, epsilon: number) {
  const channels = x.shape[x.shape.length - 1] ?? 1;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = size / channels;
  const { splits, kPerSplit } = chooseSplits(rows, Math.ceil(channels / channelLanes(channels)), PARTIAL_SUM_WORKGROUPS, 256, 1);
  const g: BatchNormGeometry = { rows, channels, rowsPerSplit: kPerSplit, splits, rate, epsilon, threads: gridStrideWorkgroups(size) * WORKGROUP };
  const uniforms = batchNormUniforms(g);
  const partial = backend.runWebGPUProgram(partialSumsProgram(kind, channels, splits), inputs, 'float32', uniforms);
  const outputs: TensorInfo[] = [];
  try {
    for (const _ of CHANNEL_RESULTS[kind]) outputs.push(newGPUTensor(backend, [channels]));
    recordDispatch(backend, channelResultsShader(kind), [partial, ...reads, ...outputs], uniforms, [Math.ceil(channels / CHANNEL_THREADS), 1, 1]);
    return { size, uniforms, outputs };
  } catch (err) {
    for (const t of outputs) backend.disposeData(t.dataId);
    throw err;
  } finally {
    backend.disposeData(partial.dataId);
  }
}

function checkX(kernel: string, x: TensorInfo): void {
  if (x.shape.length === 0 || x.shape.some((d) => d === 0)) {
    throw new Error(`${kernel}: x must have at least one axis and no empty one, got shape [${x.shape.join(', ')}]`);
  }
  if (x.dtype !== 'float32') throw new Error(`${kernel}: x must be float32, got ${x.dtype}`);
}

export function webgpuBatchMoments({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.moments;
  const [x, movingMean, movingVariance] = requireInputs(name, inputs, ['x', 'movingMean', 'movingVariance']) as [TensorInfo, TensorInfo, TensorInfo];
  checkX(name, x);
  const momentum = Number((attrs ?? {}).momentum);
  // mean, variance, updated movingMean, updated movingVariance
  return channelResults(backend as RecordingBackend, 'moments', x, [x], [x, movingMean, movingVariance], 1 - momentum, 0).outputs;
}

export function webgpuBatchNormGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.gradient;
  const [dy, x, mean, variance, scale] = requireInputs(name, inputs, ['dy', 'x', 'mean', 'variance', 'scale']) as TensorInfo[] as
    [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  checkX(name, x);
  const epsilon = Number((attrs ?? {}).varianceEpsilon);
  const b = backend as RecordingBackend;
  const { size, uniforms, outputs: [offsetGrad, scaleGrad] } = channelResults(b, 'gradient', x, [dy, x, mean], [variance], 0, epsilon);
  const flat = b.runWebGPUProgram(inputGradProgram(size), [dy, x, mean, variance, scale, offsetGrad!, scaleGrad!], 'float32', uniforms);
  return [withShape(flat, x.shape), scaleGrad!, offsetGrad!];
}
