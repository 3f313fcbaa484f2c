/**
 * Training kernels for the 'webgpu' backend: the filter gradients as WGSL programs (split-K
 * reductions), the input gradients from the backend's own forward kernels where the stock ones
 * ignore dilation.
 */
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { conv2dBackpropInput } from '../conv2d-backprop.js';
import { convInfo, NCHW_TO_NHWC, NHWC_TO_NCHW, toNHWCShape, type ConvAttrs, type Conv2DInfo } from '../conv-geometry.js';
import { depthwiseBackpropInput } from '../depthwise-backprop.js';
import { KernelOps } from '../kernel-ops.js';
import { stockKernel } from '../registry-state.js';
import {
  chooseSplits,
  conv2dFilterGradProgram,
  depthwiseFilterGradProgram,
  geometryUniforms,
  type ConvGeometry,
  type GradientProgram,
} from './filter-grad-programs.js';

interface Args {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}

type Attrs = ConvAttrs & { filterShape?: number[]; inputShape?: number[] };

/** The part of tfjs-backend-webgpu's WebGPUBackend used here. */
interface WebGPUBackendLike extends KernelBackend {
  runWebGPUProgram(program: GradientProgram, inputs: TensorInfo[], outputDtype: 'float32',
    uniforms?: Array<{ type: string; data: number[] }>): TensorInfo;
}

function geometry(info: Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, outChannels: info.outChannels,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

function isDilated(a: ConvAttrs): boolean {
  const d = a.dilations ?? 1;
  return typeof d === 'number' ? d > 1 : d[0] > 1 || d[1] > 1;
}

/** Runs `body` with a KernelOps whose intermediates are released whatever happens. */
function withOps(backend: unknown, body: (ops: KernelOps, gpu: WebGPUBackendLike) => TensorInfo): TensorInfo {
  const ops = new KernelOps(backend as KernelBackend, 'webgpu');
  try {
    return ops.finish(body(ops, backend as WebGPUBackendLike));
  } catch (err) {
    ops.dispose();
    throw err;
  }
}

export function webgpuConv2dBackpropFilter({ inputs, backend, attrs }: Args): TensorInfo {
  const a = attrs as unknown as Attrs;
  return withOps(backend, (ops, gpu) => {
    let { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    if (a.dataFormat === 'NCHW') {
      x = ops.transpose(x, NCHW_TO_NHWC);
      dy = ops.transpose(dy, NCHW_TO_NHWC);
    }
    const info = convInfo(x.shape, a.filterShape!, a, false);
    const g = geometry(info);
    const rows = g.filterHeight * g.filterWidth * g.inChannels;
    const tiles = Math.ceil(rows / 32) * Math.ceil(g.outChannels / 32);
    const { splits, kPerSplit } = chooseSplits(g.batch * g.outHeight * g.outWidth, tiles);
    const partial = ops.adopt(gpu.runWebGPUProgram(conv2dFilterGradProgram(g, splits), [x, dy], 'float32', geometryUniforms(g, kPerSplit, splits)));
    const summed = splits === 1 ? partial : ops.sum(partial, [2]);
    return ops.reshape(summed, [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]);
  });
}

export function webgpuDepthwiseBackpropFilter({ inputs, backend, attrs }: Args): TensorInfo {
  const a = attrs as unknown as Attrs;
  return withOps(backend, (ops, gpu) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const info = convInfo(x.shape, a.filterShape!, a, true);
    const g = geometry(info);
    const multiplier = a.filterShape![3];
    const channels = g.inChannels * multiplier;
    const lanes = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(1, channels))));
    const { splits, kPerSplit } = chooseSplits(g.batch * g.outHeight * g.outWidth, Math.ceil(channels / lanes), 1024, 256, 1);
    const partial = ops.adopt(gpu.runWebGPUProgram(depthwiseFilterGradProgram(g, multiplier, splits), [x, dy], 'float32',
      geometryUniforms(g, kPerSplit, splits)));
    const summed = splits === 1 ? partial : ops.sum(partial, [2]);
    return ops.reshape(summed, [g.filterHeight, g.filterWidth, g.inChannels, multiplier]);
  });
}

/** The stock (matrix-product) input gradient, except with dilation, which it ignores. */
export function webgpuConv2dBackpropInput(args: Args): TensorInfo {
  const a = args.attrs as unknown as Attrs;
  const stock = stockKernel('Conv2DBackpropInput', 'webgpu');
  if (!isDilated(a) && stock !== undefined) return stock.kernelFunc(args as never) as TensorInfo;
  return withOps(args.backend, (ops) => {
    let { dy } = args.inputs as { dy: TensorInfo };
    const { filter } = args.inputs as { filter: TensorInfo };
    if (a.dataFormat === 'NCHW') dy = ops.transpose(dy, NCHW_TO_NHWC);
    const dx = conv2dBackpropInput(ops, dy, filter, toNHWCShape(a.inputShape!, a.dataFormat), a);
    return a.dataFormat === 'NCHW' ? ops.transpose(dx, NHWC_TO_NCHW) : dx;
  });
}

/** Depthwise input gradient from the forward depthwise convolution (dilation supported). */
export function webgpuDepthwiseBackpropInput({ inputs, backend, attrs }: Args): TensorInfo {
  const a = attrs as unknown as Attrs;
  return withOps(backend, (ops) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    return depthwiseBackpropInput(ops, dy, filter, a.inputShape!, a);
  });
}
