/**
 * A depthwise-separable convolution in one webgpu dispatch (see separable-conv-programs.ts). tfjs
 * has no such kernel: this is ours, under a name of ours ({@link SEPARABLE_CONV_KERNEL}), and
 * @sa-unet/scale-attn-conv's layer uses it where it is registered, for forward passes that no
 * gradient will follow (inference), composing stock kernels elsewhere.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseFilterSize, dilationAttr, requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { separableConvProgram, separableUniforms, type SeparableGeometry } from './separable-conv-programs.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

/**
 * Name of the separable-convolution kernel this package registers for webgpu: inputs { x [batch,
 * h, w, C], depthwise [kh, kw, C, 1] (kh, kw odd), pointwise [1, 1, C, O], bias? [O] }, attrs
 * { dilation? (default 1) } -> the 1x1 convolution (plus bias) of the depthwise convolution of x,
 * both stride 1 and 'same' (1 dispatch instead of 2, and no depthwise output in memory).
 */
export const SEPARABLE_CONV_KERNEL = 'SaUnetSeparableConv2D';

function shapeText(t: TensorInfo): string {
  return `[${t.shape.join(', ')}]`;
}

/** The geometry of the inputs, checked: an Error naming the kernel, the input and what it expected. */
function geometry(x: TensorInfo, depthwise: TensorInfo, pointwise: TensorInfo, bias: TensorInfo | undefined, dilation: number): SeparableGeometry {
  const name = SEPARABLE_CONV_KERNEL;
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

export function webgpuSeparableConv2D({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const [x, depthwise, pointwise] = requireInputs(SEPARABLE_CONV_KERNEL, inputs, ['x', 'depthwise', 'pointwise']) as [TensorInfo, TensorInfo, TensorInfo];
  const bias = inputs.bias;
  const g = geometry(x, depthwise, pointwise, bias, dilationAttr(SEPARABLE_CONV_KERNEL, attrs));
  const out = (backend as WebGPUBackendInternals).runWebGPUProgram(separableConvProgram(g, bias !== undefined),
    [x, depthwise, pointwise, ...(bias === undefined ? [] : [bias])], 'float32', separableUniforms(g));
  return withShape(out, [g.batch, g.height, g.width, g.outChannels]);
}
