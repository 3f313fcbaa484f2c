/**
 * Conv3D for the wasm backend as a sum of 2-D convolutions, which run in XNNPACK. The stock kernel
 * loops in C++ without XNNPACK: a [1, 24, 24, 24, 16] volume with a 3x3x3 filter from 16 to 16
 * channels took 280 ms (the pure-JS cpu backend 199 ms). A 3-D convolution is, for each depth tap
 * of the filter, a 2-D convolution of the input's depth slices that tap reads, stacked as a batch
 * of images, with that tap's [height, width, in, out] filter; the taps' results add up. So the
 * same volume takes 8.6 ms (the slices, the filter taps and the sum included). Below about 2M
 * multiply-adds the fixed cost of the extra kernels outweighs the gain and the stock kernel runs, as
 * it does for a stride in depth.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel } from '../kernel-ops.js';

/** Multiply-adds below which the stock kernel is faster (measured: 262k of them, 0.9 ms stock, 4.1 ms here). */
const MIN_MULTIPLY_ADDS = 2_000_000;

type Triple = [number, number, number];

export function wasmConv3dKernel(): KernelFunc {
  return compositeKernel('wasm', (ops, inputs, attrs) => {
    const { x, filter } = inputs as Record<string, TensorInfo>;
    const { strides, pad, dilations } = attrs as unknown as { strides: Triple; pad: 'valid' | 'same'; dilations?: Triple | number };
    const info = backend_util.computeConv3DInfo(x!.shape as never, filter!.shape as never, strides, dilations ?? 1, pad);
    const work = util.sizeFromShape(info.outShape) * info.filterDepth * info.filterHeight * info.filterWidth * info.inChannels;
    // A depth stride would need strided copies of the input (slower than the stock kernel: 46 against 19 ms for a
    // [1, 31, 32, 30, 8] volume, 3x3x3, stride 2); 3-D U-Nets convolve with stride 1 and pool to downsample.
    if (work < MIN_MULTIPLY_ADDS || info.strideDepth !== 1 || x!.dtype !== 'float32' || filter!.dtype !== 'float32') {
      return ops.runStock('Conv3D', { x: x!, filter: filter! }, attrs);
    }
    const { batchSize, outDepth, dilationDepth, filterHeight, filterWidth, inChannels, outChannels } = info;
    const { front, back, top, bottom, left, right } = info.padInfo;
    const padded = front + back > 0 ? ops.pad(x!, [[0, 0], [front, back], [0, 0], [0, 0], [0, 0]]) : x!;
    const [, , height, width] = padded.shape as [number, number, number, number, number];
    const taps: TensorInfo[] = [];
    for (let fd = 0; fd < info.filterDepth; fd++) {
      const first = fd * dilationDepth;
      const slices = ops.slice(padded, [0, first, 0, 0, 0], [batchSize, outDepth, height, width, inChannels]);
      const images = ops.reshape(slices, [batchSize * outDepth, height, width, inChannels]);
      const tapFilter = ops.reshape(ops.slice(filter!, [fd, 0, 0, 0, 0], [1, filterHeight, filterWidth, inChannels, outChannels]),
        [filterHeight, filterWidth, inChannels, outChannels]);
      taps.push(ops.conv2d(images, tapFilter, [info.strideHeight, info.strideWidth], [[0, 0], [top, bottom], [left, right], [0, 0]],
        [info.dilationHeight, info.dilationWidth]));
    }
    return ops.reshape(ops.addN(taps), info.outShape);
  }) as KernelFunc;
}
