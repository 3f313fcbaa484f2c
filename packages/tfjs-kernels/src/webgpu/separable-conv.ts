/**
 * A depthwise-separable convolution in one webgpu dispatch (see separable-conv-programs.ts). tfjs
 * has no such kernel: this is ours, under names of ours ({@link SEPARABLE_CONV_KERNEL} for
 * inference, {@link SEPARABLE_CONV_TRAINING_KERNEL}, which also writes the depthwise output, for
 * training), and @sa-unet/scale-attn-conv's layer uses them where they are registered, composing
 * stock kernels elsewhere.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseFilterSize, dilationAttr, requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { separableConvKeepShader, separableConvProgram, separableLayout, separableUniforms, separableWorkgroups, type SeparableGeometry } from './separable-conv-programs.js';
import type { WebGPUBackendInternals } from './backend-internals.js';
import { recordIntoNew, storageType, type RecordingBackend } from './recorded-dispatch.js';

/**
 * Name of the separable-convolution kernel this package registers for webgpu: inputs { x [batch,
 * h, w, C], depthwise [kh, kw, C, 1] (kh, kw odd), pointwise [1, 1, C, O], bias? [O] }, attrs
 * { dilation? (default 1) } -> the 1x1 convolution (plus bias) of the depthwise convolution of x,
 * both stride 1 and 'same' (1 dispatch instead of 2, and no depthwise output in memory).
 */
export const SEPARABLE_CONV_KERNEL = 'SaUnetSeparableConv2D';

/**
 * Name of its training form, registered for webgpu too: the same inputs and attrs -> [the same
 * output, the depthwise convolution of x] (1 dispatch instead of 2; the depthwise output is what
 * the backward pass reads).
 */
export const SEPARABLE_CONV_TRAINING_KERNEL = 'SaUnetSeparableConv2DTraining';

function shapeText(t: TensorInfo): string {
  return `[${t.shape.join(', ')}]`;
}

/** The geometry of the inputs, checked: an Error naming the kernel, the input and what it expected. */
function geometry(name: string, x: TensorInfo, depthwise: TensorInfo, pointwise: TensorInfo, bias: TensorInfo | undefined, dilation: number): SeparableGeometry {
  for (const [label, t] of [['x', x], ['depthwise', depthwise], ['pointwise', pointwise], ['bias', bias]] as const) {
    if (t !== undefined && t.dtype !== 'float32') throw new Error(`${name}: ${label} must be float32, got ${t.dtype}`);
  }
  if (x.shape.length !== 4 || x.shape.some((d) => d === 0)) {
    throw new Error(`${name}: x must be [batch, height, width, channels] with no empty axis, got shape ${shapeText(x)}`);
  }
  const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
  const [kernelHeight, kernelWidth] = depthwiseFilterSize(name, 'depthwise', depthwise, inChannels);
  const outChannels = pointwise.shape[3] ?? 0;
  if (pointwise.shape.length !== 4 || pointwise.shape[0] !== 1 || pointwise.shape[1] !== 1 || pointwise.shape[2] !== inChannels || outChannels < 1) {
    throw new Error(`${name}: pointwise must be [1, 1, ${inChannels}, outChannels], got shape ${shapeText(pointwise)}`);
  }
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== outChannels)) {
    throw new Error(`${name}: bias must be [${outChannels}], got shape ${shapeText(bias)}`);
  }
  return { batch, height, width, inChannels, outChannels, kernelHeight, kernelWidth, dilation };
}

/** The kernel `name`'s inputs (x, depthwise, pointwise, optional bias, in binding order) and their geometry, checked. */
function operands(name: string, { inputs, attrs }: KernelArgs): { bound: TensorInfo[]; withBias: boolean; g: SeparableGeometry } {
  const [x, depthwise, pointwise] = requireInputs(name, inputs, ['x', 'depthwise', 'pointwise']) as [TensorInfo, TensorInfo, TensorInfo];
  const bias = inputs.bias;
  const g = geometry(name, x, depthwise, pointwise, bias, dilationAttr(name, attrs));
  return { bound: [x, depthwise, pointwise, ...(bias === undefined ? [] : [bias])], withBias: bias !== undefined, g };
}

export function webgpuSeparableConv2D(args: KernelArgs): TensorInfo {
  const { bound, withBias, g } = operands(SEPARABLE_CONV_KERNEL, args);
  const layout = separableLayout(g);
  const out = (args.backend as WebGPUBackendInternals).runWebGPUProgram(separableConvProgram(g, layout, withBias), bound, 'float32', separableUniforms(g, layout));
  return withShape(out, [g.batch, g.height, g.width, g.outChannels]);
}

export function webgpuSeparableConv2DTraining(args: KernelArgs): TensorInfo[] {
  const { bound, withBias, g } = operands(SEPARABLE_CONV_TRAINING_KERNEL, args);
  const b = args.backend as RecordingBackend;
  const layout = separableLayout(g);
  return recordIntoNew(b, separableConvKeepShader(g.outChannels, [g.kernelHeight, g.kernelWidth], layout, withBias, storageType(b, bound[0]!)), bound,
    [[g.batch, g.height, g.width, g.outChannels], [g.batch, g.height, g.width, g.inChannels]], separableUniforms(g, layout), [separableWorkgroups(g, layout), 1, 1]);
}
