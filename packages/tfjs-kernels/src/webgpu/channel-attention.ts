/**
 * Efficient channel attention (ECA) kernels for webgpu, in 3 and 4 dispatches (see
 * channel-attention-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link CHANNEL_ATTENTION_KERNELS}); @sa-unet/scale-attn-conv's layer uses them where they are
 * registered and composes stock kernels elsewhere.
 */
import type { KernelBackend, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { chooseSplits } from './filter-grad-programs.js';
import { channelLanes, elementWorkgroups, PARTIAL_SUM_WORKGROUPS } from './batch-norm-programs.js';
import {
  attentionUniforms,
  elementwiseProgram,
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
 * - `forward`: inputs { z, kernel } -> [pooled [batch, C] (the mean over pixels), y = z * gate].
 * - `gradient`: inputs { dy, z, pooled, kernel } -> [dz, dKernel]: the gradient of y's forward
 *   pass for z (through the gate too) and the kernel.
 */
export const CHANNEL_ATTENTION_KERNELS = { forward: 'SaUnetChannelAttention', gradient: 'SaUnetChannelAttentionGrad' } as const;

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
}

function input(kernel: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

/** The geometry of z and kernel, checked. */
function geometry(kernelName: string, z: TensorInfo, kernel: TensorInfo): AttentionGeometry {
  if (z.shape.length !== 4 || z.shape.some((d) => d === 0)) {
    throw new Error(`${kernelName}: z must be [batch, height, width, channels] with no empty axis, got shape [${z.shape.join(', ')}]`);
  }
  if (z.dtype !== 'float32') throw new Error(`${kernelName}: z must be float32, got ${z.dtype}`);
  const taps = kernel.shape[0] ?? 0;
  if (kernel.shape.length !== 3 || kernel.shape[1] !== 1 || kernel.shape[2] !== 1 || taps % 2 !== 1) {
    throw new Error(`${kernelName}: kernel must be [k, 1, 1] with k odd, got shape [${kernel.shape.join(', ')}]`);
  }
  const [batch, h, w, channels] = z.shape as [number, number, number, number];
  const pixels = h * w;
  const { splits, kPerSplit } = chooseSplits(pixels, batch * Math.ceil(channels / channelLanes(channels)), PARTIAL_SUM_WORKGROUPS, 256, 1);
  return { batch, pixels, channels, taps, pixelsPerSplit: kPerSplit, splits, threads: elementWorkgroups(batch * pixels * channels) * 64 };
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
    const y = b.runWebGPUProgram(elementwiseProgram('attend', g.batch * g.pixels * g.channels), [z, pooled, kernel], 'float32', uniforms);
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
  let logitGrad: TensorInfo | null = null;
  try {
    logitGrad = b.runWebGPUProgram(perChannelProgram('logitGrad', g.batch, g.channels), [sums, pooled, kernel], 'float32', uniforms);
    const kernelGrad = b.runWebGPUProgram(kernelGradProgram(g.taps), [logitGrad, pooled], 'float32', uniforms);
    const dz = b.runWebGPUProgram(elementwiseProgram('inputGrad', g.batch * g.pixels * g.channels), [dy, pooled, kernel, logitGrad], 'float32', uniforms);
    return [shaped(dz, [...z.shape]), shaped(kernelGrad, [...kernel.shape])];
  } finally {
    b.disposeData(sums.dataId);
    if (logitGrad !== null) b.disposeData(logitGrad.dataId);
  }
}
