/**
 * Conv3D and its two gradients for the wasm backend as 2-D convolutions of depth slices, which run
 * in XNNPACK (the gradients through this package's 2-D gradient kernels). The stock Conv3D kernel
 * loops in C++ without XNNPACK: a [1, 24, 24, 24, 16] volume with a 3x3x3 filter from 16 to 16
 * channels took 280 ms (the pure-JS cpu backend 199 ms). A 3-D convolution is, for each depth tap
 * of the filter, a 2-D convolution of the input's depth slices that tap reads, stacked as a batch
 * of images, with that tap's [height, width, in, out] filter; the taps' results add up. So the
 * same volume takes 7.9 ms (the slices, the filter taps and the sum included). Below about 2M
 * multiply-adds the fixed cost of the extra kernels outweighs the gain and the stock kernel runs, as
 * it does for a stride in depth.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, type KernelOps } from '../kernel-ops.js';

/** Multiply-adds below which the stock kernel is faster (measured: 262k of them, 0.9 ms stock, 4.1 ms here). */
const MIN_MULTIPLY_ADDS = 2_000_000;

type Triple = [number, number, number];

export function wasmConv3dKernel(): KernelFunc {
  return compositeKernel('wasm', (ops, inputs, attrs) => {
    const { x, filter } = inputs as Record<string, TensorInfo>;
    const info = convInfoOf(x!.shape, filter!.shape, attrs);
    if (!bySlices(info) || x!.dtype !== 'float32' || filter!.dtype !== 'float32') return ops.runStock('Conv3D', { x: x!, filter: filter! }, attrs);
    const padded = padDepth(ops, x!, info.padInfo.front, info.padInfo.back);
    const taps = Array.from({ length: info.filterDepth }, (_, fd) => ops.run('Conv2D',
      { x: depthSlices(ops, padded, fd * info.dilationDepth, info.outDepth), filter: tapFilter(ops, filter!, fd, info) }, planeAttrs(info) as never));
    return ops.reshape(ops.addN(taps), info.outShape);
  }) as KernelFunc;
}

type Pair = [number, number];

/**
 * Whether a 3-D convolution goes by depth slices: stride 1 in depth (strided slices of the input
 * made a [1, 31, 32, 30, 8] volume, 3x3x3, stride 2 slower than the stock kernel: 46 against 19 ms;
 * 3-D U-Nets convolve with stride 1 and pool to downsample), 2M multiply-adds or more.
 */
function bySlices(info: backend_util.Conv3DInfo): boolean {
  const work = util.sizeFromShape(info.outShape) * info.filterDepth * info.filterHeight * info.filterWidth * info.inChannels;
  return work >= MIN_MULTIPLY_ADDS && info.strideDepth === 1;
}

/** The 2-D attributes of one depth tap: the convolution's height and width geometry, padding explicit. */
function planeAttrs(info: backend_util.Conv3DInfo) {
  const { top, bottom, left, right } = info.padInfo;
  return {
    strides: [info.strideHeight, info.strideWidth] as Pair,
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]] as Pair[],
    dilations: [info.dilationHeight, info.dilationWidth] as Pair,
    dataFormat: 'NHWC',
    dimRoundingMode: null as never,
  };
}

/** The [height, width, in, out] filter of depth tap fd. */
function tapFilter(ops: KernelOps, filter: TensorInfo, fd: number, info: backend_util.Conv3DInfo): TensorInfo {
  const shape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  return ops.reshape(ops.slice(filter, [fd, 0, 0, 0, 0], [1, ...shape]), shape);
}

/** `depth` slices of a [b, d, h, w, c] tensor from `first`, as [b * depth, h, w, c] images. */
function depthSlices(ops: KernelOps, t: TensorInfo, first: number, depth: number): TensorInfo {
  const [b, , h, w, c] = t.shape as [number, number, number, number, number];
  return ops.reshape(ops.slice(t, [0, first, 0, 0, 0], [b, depth, h, w, c]), [b * depth, h, w, c]);
}

/** t zero-padded in depth (axis 1) by `before` and `after`. */
function padDepth(ops: KernelOps, t: TensorInfo, before: number, after: number): TensorInfo {
  return before + after > 0 ? ops.pad(t, [[0, 0], [before, after], [0, 0], [0, 0], [0, 0]]) : t;
}

/**
 * Conv3DBackpropInputV2 (conv3d's input gradient, conv3dTranspose's forward pass): input depth d
 * gets, from each depth tap fd, the 2-D input gradient of dy's depth slice d + front - fd, so dy
 * is padded in depth and sliced once per tap. Otherwise `fallback` (the JS kernel).
 */
export function wasmConv3dBackpropInputKernel(fallback: KernelFunc): KernelFunc {
  return compositeKernel('wasm', (ops, inputs, attrs, backend) => {
    const { dy, filter } = inputs as Record<string, TensorInfo>;
    const info = convInfoOf((attrs as unknown as { inputShape: number[] }).inputShape, filter!.shape, attrs);
    if (!bySlices(info) || filter!.dtype !== 'float32') return ops.adopt(fallback({ inputs, backend, attrs } as never) as TensorInfo);
    const { batchSize, inDepth, outDepth, filterDepth, inHeight, inWidth, inChannels } = info;
    const { front } = info.padInfo;
    const before = filterDepth - 1 - front;
    const padded = padDepth(ops, dy!, before, Math.max(0, front + inDepth - outDepth));
    const taps = Array.from({ length: filterDepth }, (_, fd) => ops.run('Conv2DBackpropInput',
      { dy: depthSlices(ops, padded, front - fd + before, inDepth), filter: tapFilter(ops, filter!, fd, info) },
      { ...planeAttrs(info), inputShape: [batchSize * inDepth, inHeight, inWidth, inChannels] } as never));
    return ops.reshape(ops.addN(taps), [batchSize, inDepth, inHeight, inWidth, inChannels]);
  }) as KernelFunc;
}

/**
 * Conv3DBackpropFilterV2 (conv3d's filter gradient): depth tap fd's [height, width, in, out] filter
 * gradient is the 2-D one of the input's depth slices that tap reads against dy. Otherwise
 * `fallback` (the JS kernel).
 */
export function wasmConv3dBackpropFilterKernel(fallback: KernelFunc): KernelFunc {
  return compositeKernel('wasm', (ops, inputs, attrs, backend) => {
    const { x, dy } = inputs as Record<string, TensorInfo>;
    const info = convInfoOf(x!.shape, (attrs as unknown as { filterShape: number[] }).filterShape, attrs);
    if (!bySlices(info) || x!.dtype !== 'float32') return ops.adopt(fallback({ inputs, backend, attrs } as never) as TensorInfo);
    const { batchSize, outDepth, outHeight, outWidth, outChannels, filterHeight, filterWidth, inChannels } = info;
    const padded = padDepth(ops, x!, info.padInfo.front, info.padInfo.back);
    const dyImages = ops.reshape(dy!, [batchSize * outDepth, outHeight, outWidth, outChannels]);
    const taps = Array.from({ length: info.filterDepth }, (_, fd) => ops.reshape(ops.run('Conv2DBackpropFilter',
      { x: depthSlices(ops, padded, fd, outDepth), dy: dyImages },
      { ...planeAttrs(info), filterShape: [filterHeight, filterWidth, inChannels, outChannels] } as never),
    [1, filterHeight, filterWidth, inChannels, outChannels]));
    return taps.length === 1 ? taps[0]! : ops.concat(taps, 0);
  }) as KernelFunc;
}

function convInfoOf(xShape: number[], filterShape: number[], attrs: object): backend_util.Conv3DInfo {
  const { strides, pad, dilations } = attrs as { strides: Triple; pad: 'valid' | 'same'; dilations?: Triple | number };
  return backend_util.computeConv3DInfo(xShape as never, filterShape as never, strides, dilations ?? 1, pad);
}
