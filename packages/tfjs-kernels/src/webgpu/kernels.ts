/**
 * Training kernels for the 'webgpu' backend: the filter gradients as WGSL programs (split-K
 * reductions); the input gradients composed from the backend's own forward kernels where that is
 * faster on a GPU (Conv2D with filters larger than 1x1) or where the stock ones are wrong (dilation,
 * which they ignore), else the stock ones.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { conv2dBackpropInputKernel, isInputGradByTaps } from '../conv2d-backprop.js';
import { convInfo, NCHW_TO_NHWC, toNHWCShape, type ConvAttrs } from '../conv-geometry.js';
import { depthwiseBackpropInput } from '../depthwise-backprop.js';
import { compositeKernel, zerosIfEmpty, type GradAttrs, type KernelArgs } from '../kernel-ops.js';
import { stockKernel } from '../registry-state.js';
import { channelLanes, channelRowSplits, chooseSplits, FILTER_GRAD_WORKGROUPS, WORKGROUP } from './grid.js';
import {
  conv2dFilterGradProgram,
  depthwiseFilterGradProgram,
  geometryUniforms,
} from './filter-grad-programs.js';
import { convGeometry } from './conv-program-geometry.js';
import { checkProductTiling, type ProductTiling } from './product-tiling.js';
import { filterGradTiling } from './tiling-choice.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

function isDilated(a: ConvAttrs): boolean {
  const d = a.dilations ?? 1;
  return typeof d === 'number' ? d > 1 : d[0] > 1 || d[1] > 1;
}

/**
 * The Conv2D filter gradient with the matrix product tiled as `tiling` says, one tiling for every
 * shape or one chosen from the product's rows and columns (the package's: {@link filterGradTiling};
 * the bench's gpu-filter-grad.ts compares fixed tilings through this); the partial sums of the K
 * chunks, enough to give about 1,024 workgroups, are added by the backend's Sum.
 */
export function webgpuConv2dBackpropFilterWith(tiling: ProductTiling | ((rows: number, cols: number) => ProductTiling)) {
  if (typeof tiling !== 'function') checkProductTiling(tiling);
  const tilingOf = typeof tiling === 'function' ? tiling : () => tiling;
  return compositeKernel('webgpu', (ops, inputs, a, backend) => {
    const empty = zerosIfEmpty(ops, [inputs.x, inputs.dy], a.filterShape!);
    if (empty !== null) return empty;
    const nchw = a.dataFormat === 'NCHW';
    const x = nchw ? ops.transpose(inputs.x, NCHW_TO_NHWC) : inputs.x;
    const dy = nchw ? ops.transpose(inputs.dy, NCHW_TO_NHWC) : inputs.dy;
    const g = convGeometry(convInfo(x.shape, a.filterShape!, a, false));
    const rows = g.filterHeight * g.filterWidth * g.inChannels;
    const chosen = tilingOf(rows, g.outChannels);
    const tiles = Math.ceil(rows / chosen.tile) * Math.ceil(g.outChannels / chosen.tile);
    const { splits, kPerSplit } = chooseSplits(g.batch * g.outHeight * g.outWidth, tiles, FILTER_GRAD_WORKGROUPS, 256, chosen.tileK);
    const partial = ops.adopt((backend as WebGPUBackendInternals).runWebGPUProgram(conv2dFilterGradProgram(g, splits, chosen), [x, dy], 'float32',
      geometryUniforms(g, kPerSplit, splits)));
    const summed = splits === 1 ? partial : ops.sum(partial, [2]);
    return ops.reshape(summed, [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]);
  });
}

export const webgpuConv2dBackpropFilter = webgpuConv2dBackpropFilterWith(filterGradTiling);

export const webgpuDepthwiseBackpropFilter = compositeKernel('webgpu', (ops, { x, dy }, a, backend) => {
  const empty = zerosIfEmpty(ops, [x, dy], a.filterShape!);
  if (empty !== null) return empty;
  const g = convGeometry(convInfo(x.shape, a.filterShape!, a, true));
  const multiplier = a.filterShape![3];
  const channels = g.inChannels * multiplier;
  const lanes = channelLanes(channels);
  const { splits, kPerSplit } = channelRowSplits(g.batch * g.outHeight * g.outWidth, Math.ceil(channels / lanes), WORKGROUP / lanes, FILTER_GRAD_WORKGROUPS);
  const partial = ops.adopt((backend as WebGPUBackendInternals).runWebGPUProgram(depthwiseFilterGradProgram(g, multiplier, splits), [x, dy], 'float32',
    geometryUniforms(g, kPerSplit, splits)));
  const summed = splits === 1 ? partial : ops.sum(partial, [2]);
  return ops.reshape(summed, [g.filterHeight, g.filterWidth, g.inChannels, multiplier]);
});

/**
 * The stock input gradient `name` of webgpu (for Conv2D a matrix product, for the depthwise
 * convolution one direct program), except where `composedFaster` says the composition is faster,
 * with dilation, which the stock kernels ignore, or with an empty operand: then `composed`, from
 * the backend's forward kernels (zeros where an operand is empty).
 */
function stockUnlessDilatedOrEmpty(name: string, composed: (args: KernelArgs) => TensorInfo,
  composedFaster: (args: KernelArgs) => boolean = () => false): (args: KernelArgs) => TensorInfo {
  return (args) => {
    const stock = stockKernel(name, 'webgpu');
    const empty = Object.values(args.inputs).some((t) => t?.shape.includes(0));
    if (!composedFaster(args) && !isDilated(args.attrs as unknown as GradAttrs) && !empty && stock !== undefined) {
      return stock.kernelFunc(args as never) as TensorInfo;
    }
    return composed(args);
  };
}

/**
 * Whether a Conv2D's filter is larger than 1x1 and its gradient has more than a few pixels: then
 * the composition (the filter rotated, then the stock forward convolution, whose shader reads
 * vec4s) beats the stock input gradient. On an H200 it took 1.7-4.3x less GPU time than the stock
 * matrix-product shader for every 3x3 shape of a U-Net step but one (one input channel: 0.85x), the
 * step's input gradients 22.1 -> 9.4 ms and the Adam step 88.6 -> 69.0 ms (gpu-input-grad.ts,
 * 2026-12-04). For 1x1 filters the stock kernel is one dispatch and as fast. With a few pixels the
 * composition takes its CPU form, a product and a slice and a pad per tap (about 20 dispatches for
 * 3x3), where a GPU's time goes to the dispatches, not the arithmetic: the stock kernel's one
 * dispatch (a U-Net step at 32x32, batch 4: 619 -> 465 dispatches, on lavapipe).
 */
function composedFaster(args: KernelArgs): boolean {
  const filter = (args.inputs as { filter: TensorInfo }).filter;
  const [filterHeight, filterWidth] = filter.shape;
  if (filterHeight === 1 && filterWidth === 1) return false;
  const a = args.attrs as unknown as GradAttrs;
  return !isInputGradByTaps(convInfo(toNHWCShape(a.inputShape!, a.dataFormat), filter.shape, a, false));
}

export const webgpuConv2dBackpropInput = stockUnlessDilatedOrEmpty('Conv2DBackpropInput',
  conv2dBackpropInputKernel('webgpu'), composedFaster);

/** With dilation: the forward depthwise convolution of dy with the rotated filter. */
export const webgpuDepthwiseBackpropInput = stockUnlessDilatedOrEmpty('DepthwiseConv2dNativeBackpropInput',
  compositeKernel('webgpu', (ops, { dy, filter }, a) => zerosIfEmpty(ops, [dy, filter], a.inputShape!) ?? depthwiseBackpropInput(ops, dy, filter, a.inputShape!, a)));
