/**
 * The soft Dice coefficient and its gradient in three webgpu dispatches (see
 * soft-dice-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link SOFT_DICE_KERNELS}), and @sa-unet/seg-metrics' softDice (so diceLoss) uses them where
 * they are registered, composing stock kernels elsewhere.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { chooseSplits, gridStrideWorkgroups, WORKGROUP } from './grid.js';
import { requireInputs } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { recordIntoNew, storageType, type RecordingBackend } from './recorded-dispatch.js';
import {
  DICE_THREADS,
  diceFinishShader,
  diceGradShader,
  dicePartialSumsProgram,
  finishUniforms,
  gradUniforms,
  partialSumsUniforms,
} from './soft-dice-programs.js';

/**
 * Names of the soft-Dice kernels this package registers for webgpu, for yTrue and yPred of one
 * shape (float32, rank >= 1, not empty), per sample over every axis but the first:
 * - `forward`: inputs { yTrue, yPred } (at most 65,535 samples), attrs { smooth } -> [dice, sums]: dice the mean over the
 *   batch of (2 I + smooth) / (S + smooth), a scalar; sums [batch, 2]: I = sum(yTrue yPred) and
 *   S = sum(yTrue) + sum(yPred) per sample. 2 dispatches.
 * - `gradient`: inputs { dy, yTrue, yPred, sums }, attrs { smooth } -> [dTrue, dPred]: dy times
 *   the gradients of dice for yTrue and yPred, their shape. 1 dispatch.
 */
export const SOFT_DICE_KERNELS = {
  /** The coefficient, and the per-sample sums its gradient reads. */
  forward: 'SaUnetSoftDice',
  /** The gradients for yTrue and yPred. */
  gradient: 'SaUnetSoftDiceGrad',
} as const;

/** The most samples the kernels take (their partial sums dispatch a row of workgroups per sample). */
export const MAX_BATCH = 65535;

/** yTrue and yPred checked; the batch and the values per sample. */
function geometry(kernel: string, yTrue: TensorInfo, yPred: TensorInfo): { batch: number; perSample: number; size: number } {
  for (const [label, t] of [['yTrue', yTrue], ['yPred', yPred]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${label} must be float32, got ${t.dtype}`);
  }
  if (yTrue.shape.join() !== yPred.shape.join()) {
    throw new Error(`${kernel}: yPred must have yTrue's shape [${yTrue.shape.join(', ')}], got [${yPred.shape.join(', ')}]`);
  }
  if (yTrue.shape.length === 0 || yTrue.shape.some((d) => d === 0)) {
    throw new Error(`${kernel}: yTrue must have a batch axis and no empty one, got shape [${yTrue.shape.join(', ')}]`);
  }
  const size = util.sizeFromShape(yTrue.shape);
  const batch = yTrue.shape[0]!;
  // A workgroup row per sample: WebGPU's least limit on workgroups along one dimension.
  if (batch > MAX_BATCH) throw new Error(`${kernel}: at most ${MAX_BATCH} samples (the batch axis), got ${batch}`);
  return { batch, perSample: size / batch, size };
}

function smoothAttr(kernel: string, attrs: KernelArgs['attrs']): number {
  const smooth = Number((attrs as { smooth?: unknown } | undefined)?.smooth);
  if (!(smooth >= 0) || !Number.isFinite(smooth)) throw new Error(`${kernel}: smooth must be a finite number >= 0, got ${String(smooth)}`);
  return smooth;
}

export function webgpuSoftDice({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = SOFT_DICE_KERNELS.forward;
  const [yTrue, yPred] = requireInputs(name, inputs, ['yTrue', 'yPred']) as [TensorInfo, TensorInfo];
  const { batch, perSample } = geometry(name, yTrue, yPred);
  const smooth = smoothAttr(name, attrs);
  const b = backend as RecordingBackend;
  // Chunks of at least 1,024 values (4 per thread), about 256 workgroups in all.
  const { splits, kPerSplit: perSplit } = chooseSplits(perSample, batch, 256, 4 * DICE_THREADS, 1);
  const partial = b.runWebGPUProgram(dicePartialSumsProgram(batch, splits), [yTrue, yPred], 'float32',
    partialSumsUniforms(perSample, perSplit, splits));
  try {
    return recordIntoNew(b, diceFinishShader, [partial], [[], [batch, 2]], finishUniforms(batch, splits, smooth), [1, 1, 1]);
  } finally {
    b.disposeData(partial.dataId);
  }
}

export function webgpuSoftDiceGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = SOFT_DICE_KERNELS.gradient;
  const [dy, yTrue, yPred, sums] = requireInputs(name, inputs, ['dy', 'yTrue', 'yPred', 'sums']) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const { batch, perSample, size } = geometry(name, yTrue, yPred);
  if (dy.dtype !== 'float32' || util.sizeFromShape(dy.shape) !== 1) {
    throw new Error(`${name}: dy must be one float32 value, got ${dy.dtype} [${dy.shape.join(', ')}]`);
  }
  if (sums.dtype !== 'float32' || sums.shape.join() !== `${batch},2`) {
    throw new Error(`${name}: sums must be float32 of shape [${batch}, 2], got ${sums.dtype} [${sums.shape.join(', ')}]`);
  }
  const smooth = smoothAttr(name, attrs);
  const b = backend as RecordingBackend;
  const workgroups = gridStrideWorkgroups(size);
  return recordIntoNew(b, diceGradShader(storageType(b, yTrue), storageType(b, yPred)), [dy, yTrue, yPred, sums], [[...yTrue.shape], [...yTrue.shape]],
    gradUniforms(size, workgroups * WORKGROUP, perSample, batch, smooth), [workgroups, 1, 1]);
}
