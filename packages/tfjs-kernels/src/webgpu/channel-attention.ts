/**
 * Efficient channel attention (ECA) kernels for webgpu (see channel-attention-programs.ts). tfjs has no such kernels: these are ours, under names of ours
 * ({@link CHANNEL_ATTENTION_KERNELS}); @sa-unet/scale-attn-conv's layer uses them where they are
 * registered and composes stock kernels elsewhere.
 */
import { getKernel, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { channelRowSplits, gridStrideWorkgroups, PARTIAL_SUM_WORKGROUPS, reductionThreads, WORKGROUP } from './grid.js';
import { depthwiseFilterSize, dilationAttr, requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import {
  attendProgram,
  type AttendEpilogue,
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
 * float32, given whole as input `z` or as equal-width parts along the channels, inputs `z0`, `z1`,
 * ... (read where they are, never concatenated); kernel is the 1-D kernel [k, 1, 1] (k odd), the
 * gate sigmoid(conv1d(pooled, kernel, 'same')):
 * - `forward`: inputs { z, kernel, scale?, shift? }, attrs { activation? } -> [pooled [batch, C]
 *   (the mean over pixels), y = z * gate] (3 dispatches). With `scale` and `shift` ([C] each,
 *   both or neither), y = z * gate * scale + shift; with activation 'relu' (default 'linear'),
 *   y = max(that, 0): a batch normalization and a ReLU after the attention, in inference, in the
 *   same dispatch.
 * - `gradient`: inputs { dy, z, pooled, kernel } -> [logitGrad [batch, C] (the gradient of the
 *   gate's logits), dKernel] (3 dispatches).
 * - `inputGrad`: inputs { dy, pooled, kernel, logitGrad, addend? }, attrs { channelBegin,
 *   channelCount } -> that channel block of dz = dy * gate + dPooled / pixels (the gradient of y
 *   for z, through the gate too), plus `addend` of the block's shape if given (1 dispatch).
 * - `inputGradDepthwise`: inputs { dy, pooled, kernel, logitGrad, depthwiseDy, depthwiseFilter },
 *   attrs { channelBegin, channelCount, dilation? (default 1) } -> that block of dz plus the input
 *   gradient of a depthwise convolution of the block (stride 1, 'same'; depthwiseDy [batch, h, w,
 *   channelCount] its output gradient, depthwiseFilter [kh, kw, channelCount, 1], kh and kw odd):
 *   what DepthwiseConv2dNativeBackpropInput would give as `addend`, without that dispatch and
 *   its output in memory (1 dispatch instead of 2). For a channel block that also feeds a
 *   depthwise convolution, as the scale-attentional cascade's stages do.
 */
export const CHANNEL_ATTENTION_KERNELS = {
  /** Pooled channels and the attended z. */
  forward: 'SaUnetChannelAttention',
  /** The gradient of the gate's logits and of the 1-D kernel. */
  gradient: 'SaUnetChannelAttentionGrad',
  /** One channel block of dz. */
  inputGrad: 'SaUnetChannelAttentionInputGrad',
  /** One channel block of dz plus the input gradient of the depthwise convolution it feeds. */
  inputGradDepthwise: 'SaUnetChannelAttentionInputGradDepthwise',
} as const;

function checkImage(kernelName: string, t: TensorInfo, name: string): void {
  if (t.shape.length !== 4 || t.shape.some((d) => d === 0)) {
    throw new Error(`${kernelName}: ${name} must be [batch, height, width, channels] with no empty axis, got shape [${t.shape.join(', ')}]`);
  }
  if (t.dtype !== 'float32') throw new Error(`${kernelName}: ${name} must be float32, got ${t.dtype}`);
}

/** z whole (input 'z') or its parts ('z0', 'z1', ...: equal shapes), checked. */
function zParts(kernelName: string, inputs: NamedTensorInfoMap): TensorInfo[] {
  if (inputs.z !== undefined) {
    checkImage(kernelName, inputs.z, 'z');
    return [inputs.z];
  }
  const parts: TensorInfo[] = [];
  while (inputs[`z${parts.length}`] !== undefined) parts.push(inputs[`z${parts.length}`]!);
  if (parts.length === 0) throw new Error(`${kernelName}: missing input 'z' (or its parts 'z0', 'z1', ...)`);
  for (const [j, part] of parts.entries()) {
    checkImage(kernelName, part, `z${j}`);
    if (part.shape.join() !== parts[0]!.shape.join()) {
      throw new Error(`${kernelName}: the parts of z must have one shape, got [${parts[0]!.shape.join(', ')}] and [${part.shape.join(', ')}] (z${j})`);
    }
  }
  return parts;
}

/** The shape of z from its parts (concatenated along the channels). */
function zShape(parts: TensorInfo[]): number[] {
  const [batch, h, w, width] = parts[0]!.shape as [number, number, number, number];
  return [batch, h, w, width * parts.length];
}

/** The geometry of z (or dy, of z's shape; `parts`: how many parts z comes in) and kernel, checked. */
function geometry(kernelName: string, z: TensorInfo, kernel: TensorInfo, zName = 'z', parts = 1): AttentionGeometry {
  checkImage(kernelName, z, zName);
  const taps = kernel.shape[0] ?? 0;
  if (kernel.shape.length !== 3 || kernel.shape[1] !== 1 || kernel.shape[2] !== 1 || taps % 2 !== 1) {
    throw new Error(`${kernelName}: kernel must be [k, 1, 1] with k odd, got shape [${kernel.shape.join(', ')}]`);
  }
  const [batch, h, w, channels] = z.shape as [number, number, number, number];
  const pixels = h * w;
  const { lanes, strands } = reductionThreads(channels, 'sums');
  const { splits, kPerSplit } = channelRowSplits(pixels, batch * Math.ceil(channels / lanes), strands, PARTIAL_SUM_WORKGROUPS);
  return {
    batch, pixels, channels, taps, pixelsPerSplit: kPerSplit, splits,
    threads: gridStrideWorkgroups(batch * pixels * channels) * WORKGROUP, channelBegin: 0, blockChannels: channels, partWidth: channels / parts,
    width: w, filterHeight: 1, filterWidth: 1, dilation: 1,
  };
}

/**
 * z's parts as the programs read them: as given where a shader may bind them all beside its other
 * buffers (`others`, the output included), else concatenated first (one Concat dispatch).
 */
function bindableParts(backend: WebGPUBackendInternals, parts: TensorInfo[], others: number): { z: TensorInfo[]; dispose(): void } {
  const limit = (backend as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
  if (parts.length === 1 || parts.length + others <= limit) return { z: parts, dispose: () => {} };
  const concat = getKernel('Concat', 'webgpu')!.kernelFunc({ inputs: parts as never, backend, attrs: { axis: 3 } }) as TensorInfo;
  return { z: [concat], dispose: () => backend.disposeData(concat.dataId) };
}

/** The forward kernel's epilogue from its optional scale and shift ([C] float32, both or neither) and activation attribute, checked. */
function attendEpilogue(name: string, inputs: NamedTensorInfoMap, attrs: KernelArgs['attrs'], channels: number): { epilogue: AttendEpilogue; affine: TensorInfo[] } {
  const { scale, shift } = inputs;
  if ((scale === undefined) !== (shift === undefined)) {
    throw new Error(`${name}: give 'scale' and 'shift' together or neither, got only '${scale === undefined ? 'shift' : 'scale'}'`);
  }
  const affine = scale === undefined ? [] : [scale, shift!];
  for (const [label, t] of [['scale', scale], ['shift', shift]] as const) {
    if (t === undefined) continue;
    if (t.shape.length !== 1 || t.shape[0] !== channels || t.dtype !== 'float32') {
      throw new Error(`${name}: ${label} must be float32 of shape [${channels}] (z's channels), got ${t.dtype} [${t.shape.join(', ')}]`);
    }
  }
  const activation = attrs?.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') {
    throw new Error(`${name}: activation must be 'linear' or 'relu', got ${JSON.stringify(activation)}`);
  }
  return { epilogue: { affine: affine.length > 0, relu: activation === 'relu' }, affine };
}

export function webgpuChannelAttention({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = CHANNEL_ATTENTION_KERNELS.forward;
  const b = backend as WebGPUBackendInternals;
  const [kernel] = requireInputs(name, inputs, ['kernel']) as [TensorInfo];
  const given = zParts(name, inputs);
  const { epilogue, affine } = attendEpilogue(name, inputs, attrs, zShape(given)[3]!);
  const { z, dispose } = bindableParts(b, given, 3 + affine.length); // attend binds pooled, kernel, the affine's scale and shift, and its output
  const g = geometry(name, { ...z[0]!, shape: zShape(z) }, kernel, 'z', z.length);
  const uniforms = attentionUniforms(g);
  const sums = b.runWebGPUProgram(pixelSumsProgram('pool', g.batch, g.channels, g.splits, z.length), z, 'float32', uniforms);
  try {
    const pooled = b.runWebGPUProgram(perChannelProgram('pooled', g.batch, g.channels, g.taps), [sums], 'float32', uniforms);
    const y = b.runWebGPUProgram(attendProgram(g.batch * g.pixels * g.channels, z.length, g.taps, epilogue), [...z, pooled, kernel, ...affine], 'float32', uniforms);
    return [withShape(pooled, [g.batch, g.channels]), withShape(y, zShape(z))];
  } finally {
    b.disposeData(sums.dataId);
    dispose();
  }
}

export function webgpuChannelAttentionGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const name = CHANNEL_ATTENTION_KERNELS.gradient;
  const [dy, pooled, kernel] = requireInputs(name, inputs, ['dy', 'pooled', 'kernel']) as [TensorInfo, TensorInfo, TensorInfo];
  const b = backend as WebGPUBackendInternals;
  const { z, dispose } = bindableParts(b, zParts(name, inputs), 2); // the sums bind dy and their output
  const g = geometry(name, { ...z[0]!, shape: zShape(z) }, kernel, 'z', z.length);
  if (dy.shape.join() !== zShape(z).join()) throw new Error(`${name}: dy must have z's shape [${zShape(z).join(', ')}], got [${dy.shape.join(', ')}]`);
  const uniforms = attentionUniforms(g);
  const sums = b.runWebGPUProgram(pixelSumsProgram('gateGrad', g.batch, g.channels, g.splits, z.length), [dy, ...z], 'float32', uniforms);
  try {
    const logitGrad = b.runWebGPUProgram(perChannelProgram('logitGrad', g.batch, g.channels, g.taps), [sums, pooled, kernel], 'float32', uniforms);
    const kernelGrad = b.runWebGPUProgram(kernelGradProgram(g.taps), [logitGrad, pooled], 'float32', uniforms);
    return [withShape(logitGrad, [g.batch, g.channels]), withShape(kernelGrad, [...kernel.shape])];
  } finally {
    b.disposeData(sums.dataId);
    dispose();
  }
}

/** The block an input-gradient kernel writes, from dy's geometry and the channel attributes, checked. */
function inputGradBlock(name: string, dy: TensorInfo, kernel: TensorInfo, attrs: KernelArgs['attrs']): { g: AttentionGeometry; size: number; blockShape: number[] } {
  const g = geometry(name, dy, kernel, 'dy');
  const channelBegin = Number(attrs?.channelBegin ?? 0);
  const blockChannels = Number(attrs?.channelCount ?? g.channels);
  if (!Number.isInteger(channelBegin) || !Number.isInteger(blockChannels) || channelBegin < 0 || blockChannels < 1 || channelBegin + blockChannels > g.channels) {
    throw new Error(`${name}: channels [${channelBegin}, ${channelBegin + blockChannels}) are not a block of dy's ${g.channels}`);
  }
  const size = g.batch * g.pixels * blockChannels;
  return { g: { ...g, threads: gridStrideWorkgroups(size) * WORKGROUP, channelBegin, blockChannels }, size, blockShape: [g.batch, dy.shape[1]!, dy.shape[2]!, blockChannels] };
}

function checkBlockShaped(name: string, label: string, t: TensorInfo, blockShape: number[]): void {
  if (t.shape.join() !== blockShape.join()) {
    throw new Error(`${name}: ${label} must have the block's shape [${blockShape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
}

const INPUT_GRAD_OPERANDS = ['dy', 'pooled', 'kernel', 'logitGrad'] as const;

export function webgpuChannelAttentionInputGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const name = CHANNEL_ATTENTION_KERNELS.inputGrad;
  const operands = requireInputs(name, inputs, INPUT_GRAD_OPERANDS);
  const { g, size, blockShape } = inputGradBlock(name, operands[0]!, operands[2]!, attrs);
  const addend = inputs.addend;
  if (addend !== undefined) checkBlockShaped(name, 'addend', addend, blockShape);
  const block = (backend as WebGPUBackendInternals).runWebGPUProgram(inputGradBlockProgram(size, addend === undefined ? 'none' : 'addend', g.taps),
    [...operands, ...(addend === undefined ? [] : [addend])], 'float32', attentionUniforms(g));
  return withShape(block, blockShape);
}

export function webgpuChannelAttentionInputGradDepthwise({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const name = CHANNEL_ATTENTION_KERNELS.inputGradDepthwise;
  const operands = requireInputs(name, inputs, [...INPUT_GRAD_OPERANDS, 'depthwiseDy', 'depthwiseFilter']);
  const { g, size, blockShape } = inputGradBlock(name, operands[0]!, operands[2]!, attrs);
  const [depthwiseDy, filter] = operands.slice(4) as [TensorInfo, TensorInfo];
  checkBlockShaped(name, 'depthwiseDy', depthwiseDy, blockShape);
  const [filterHeight, filterWidth] = depthwiseFilterSize(name, 'depthwiseFilter', filter, g.blockChannels);
  const dilation = dilationAttr(name, attrs);
  for (const [label, t] of [['depthwiseDy', depthwiseDy], ['depthwiseFilter', filter]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${name}: ${label} must be float32, got ${t.dtype}`);
  }
  const block = (backend as WebGPUBackendInternals).runWebGPUProgram(inputGradBlockProgram(size, 'depthwise', g.taps, [filterHeight, filterWidth]),
    operands, 'float32', attentionUniforms({ ...g, filterHeight, filterWidth, dilation }));
  return withShape(block, blockShape);
}
