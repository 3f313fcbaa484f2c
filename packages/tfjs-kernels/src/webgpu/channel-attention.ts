/**
 * Efficient channel attention (ECA) kernels for webgpu (see channel-attention-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link CHANNEL_ATTENTION_KERNELS}); @sa-unet/scale-attn-conv's layer uses them where they are
 * registered and composes stock kernels elsewhere.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { chooseSplits } from './filter-grad-programs.js';
import { channelLanes, elementWorkgroups, PARTIAL_SUM_WORKGROUPS } from './batch-norm-programs.js';
import {
  attendProgram,
  attentionUniforms,
  inputGradBlockProgram,
  kernelGradProgram,
  perChannelProgram,
  pixelSumsProgram,
  type AttentionGeometry,
} from './channel-attention-programs.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

/**
 * Names of the channel-attention kernels this package registers for webgpu; z is [batch, h, w, C]
 * float32, kernel the 1-D kernel [k, 1, 1] (k odd), the gate sigmoid(conv1d(pooled, kernel,
 * 'same')):
 * - `forward`: inputs { z, kernel } -> [pooled [batch, C] (the mean over pixels), y = z * gate]
 *   (3 dispatches).
 * - `gradient`: inputs { dy, z, pooled, kernel } -> [logitGrad [batch, C] (the gradient of the
 *   gate's logits), dKernel] (3 dispatches).
 * - `inputGrad`: inputs { dy, pooled, kernel, logitGrad, addend? }, attrs { channelBegin,
 *   channelCount } -> that channel block of dz = dy * gate + dPooled / pixels (the gradient of y
 *   for z, through the gate too), plus `addend` of the block's shape if given (1 dispatch).
 */
export const CHANNEL_ATTENTION_KERNELS = {
  forward: 'SaUnetChannelAttention',
  gradient: 'SaUnetChannelAttentionGrad',
  inputGrad: 'SaUnetChannelAttentionInputGrad',
} as const;

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: NamedAttrMap;
}

function input(kernel: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

/** The geometry of z (or dy, of z's shape) and kernel, checked. */
function geometry(kernelName: string, z: TensorInfo, kernel: TensorInfo, zName = 'z'): AttentionGeometry {
  if (z.shape.length !== 4 || z.shape.some((d) => d === 0)) {
    throw new Error(`${kernelName}: ${zName} must be [batch, height, width, channels] with no empty axis, got shape [${z.shape.join(', ')}]`);
  }
  if (z.dtype !== 'float32') throw new Error(`${kernelName}: ${zName} must be float32, got ${z.dtype}`);
  const taps = kernel.shape[0] ?? 0;
  if (kernel.shape.length !== 3 || kernel.shape[1] !== 1 || kernel.shape[2] !== 1 || taps % 2 !== 1) {
    throw new Error(`${kernelName}: kernel must be [k, 1, 1] with k odd, got shape [${kernel.shape.join(', ')}]`);
  }
  const [batch, h, w, channels] = z.shape as [number, number, number, number];
  const pixels = h * w;
  const { splits, kPerSplit } = chooseSplits(pixels, batch * Math.ceil(channels / channelLanes(channels)), PARTIAL_SUM_WORKGROUPS, 256, 1);
  return {
    batch, pixels, channels, taps, pixelsPerSplit: kPerSplit, splits,
    threads: elementWorkgroups(batch * pixels * channels) * 64, channelBegin: 0, blockChannels: channels,
  };
}

/** A flat program output seen with `shape` (the same buffer). */
function shaped(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

export function webgpuChannelAttention({ inputs, backend }: KernelArgs): TensorInfo[] {
  const name = CHANNEL_ATTENTION_KERNELS.forward;
  const z = input(name, inputs, 'z');
  const kernel = input(name, inputs, 'kernel');
  const g = geometry(name, z, kernel);
  const b = backend as WebGPUBackendInternals;
  const uniforms = attentionUniforms(g);
  const sums = b.runWebGPUProgram(pixelSumsProgram('pool', g.batch, g.channels, g.splits), [z], 'float32', uniforms);
  try {
    const pooled = b.runWebGPUProgram(perChannelProgram('pooled', g.batch, g.channels), [sums], 'float32', uniforms);
    const y = b.runWebGPUProgram(attendProgram(g.batch * g.pixels * g.channels), [z, pooled, kernel], 'float32', uniforms);
    return [shaped(pooled, [g.batch, g.channels]), shaped(y, [...z.shape])];
  } finally {
    b.disposeData(sums.dataId);
  }
}

export function webgpuChannelAttentionGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const name = CHANNEL_ATTENTION_KERNELS.gradient;
  const [dy, z, pooled, kernel] = ['dy', 'z', 'pooled', 'kernel'].map((n) => input(name, inputs, n)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const g = geometry(name, z, kernel);
  const b = backend as WebGPUBackendInternals;
  const uniforms = attentionUniforms(g);
  const sums = b.runWebGPUProgram(pixelSumsProgram('gateGrad', g.batch, g.channels, g.splits), [dy, z], 'float32', uniforms);
  try {
    const logitGrad = b.runWebGPUProgram(perChannelProgram('logitGrad', g.batch, g.channels), [sums, pooled, kernel], 'float32', uniforms);
    const kernelGrad = b.runWebGPUProgram(kernelGradProgram(g.taps), [logitGrad, pooled], 'float32', uniforms);
    return [shaped(logitGrad, [g.batch, g.channels]), shaped(kernelGrad, [...kernel.shape])];
  } finally {
    b.disposeData(sums.dataId);
  }
}

export function webgpuChannelAttentionInputGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const name = CHANNEL_ATTENTION_KERNELS.inputGrad;
  const [dy, pooled, kernel, logitGrad] = ['dy', 'pooled', 'kernel', 'logitGrad'].map((n) => input(name, inputs, n)) as
    [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const g = geometry(name, dy, kernel, 'dy');
  const channelBegin = Number(attrs?.channelBegin ?? 0);
  const blockChannels = Number(attrs?.channelCount ?? g.channels);
  if (!Number.isInteger(channelBegin) || !Number.isInteger(blockChannels) || channelBegin < 0 || blockChannels < 1 || channelBegin + blockChannels > g.channels) {
    throw new Error(`${name}: channels [${channelBegin}, ${channelBegin + blockChannels}) are not a block of dy's ${g.channels}`);
  }
  const blockShape = [g.batch, dy.shape[1]!, dy.shape[2]!, blockChannels];
  const addend = inputs.addend;
  if (addend !== undefined && addend.shape.join() !== blockShape.join()) {
    throw new Error(`${name}: addend must have the block's shape [${blockShape.join(', ')}], got [${addend.shape.join(', ')}]`);
  }
  const size = g.batch * g.pixels * blockChannels;
  const uniforms = attentionUniforms({ ...g, threads: elementWorkgroups(size) * 64, channelBegin, blockChannels });
  const block = (backend as WebGPUBackendInternals).runWebGPUProgram(inputGradBlockProgram(size, addend !== undefined),
    [dy, pooled, kernel, logitGrad, ...(addend === undefined ? [] : [addend])], 'float32', uniforms);
  return shaped(block, blockShape);
}
