/**
 * MaxPoolGrad for the wasm backend: each output's gradient added to the input that was the
 * window's maximum, chosen as the cpu backend chooses it (the first strictly greater value in
 * row-major window order, starting from -Infinity).
 *
 * The stock wasm kernel (tfjs-backend-wasm 4.22) gives the gradient of a window whose maximum is
 * negative to the window's first input, as if its search for the maximum started from 0: max
 * pooling after a ReLU never sees such a window, but MultiRes U-Net pools the output of its blocks'
 * last batch normalization, so on wasm the gradients of its encoder went to the wrong pixels in
 * every negative window. This kernel reads x and dy once and is linear in the size of dy times
 * the window.
 */
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from '../kernel-ops.js';

type Shape4D = [number, number, number, number];

export function wasmMaxPoolGrad(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { dy, input } = inputs as Record<string, TensorInfo>;
    if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad: expected inputs dy and input');
    const a = attrs ?? {};
    const info = backend_util.computePool2DInfo(input.shape as Shape4D, a['filterSize'] as [number, number] | number,
      a['strides'] as [number, number] | number, 1, a['pad'] as 'valid' | 'same' | number,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined);
    const kernelBackend = backend as KernelBackend;
    const x = kernelBackend.readSync(input.dataId) as Float32Array;
    const dyValues = kernelBackend.readSync(dy.dataId) as Float32Array;
    const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
    const { effectiveFilterHeight: filterHeight, effectiveFilterWidth: filterWidth } = info;
    const dx = new Float32Array(x.length);
    let at = 0; // dy in order: batch, row, column, channel
    for (let b = 0; b < batchSize; b++) {
      for (let outRow = 0; outRow < outHeight; outRow++) {
        const rowStart = outRow * strideHeight - info.padInfo.top;
        const rowEnd = Math.min(inHeight, rowStart + filterHeight);
        for (let outCol = 0; outCol < outWidth; outCol++) {
          const colStart = outCol * strideWidth - info.padInfo.left;
          const colEnd = Math.min(inWidth, colStart + filterWidth);
          for (let c = 0; c < channels; c++) {
            let best = Number.NEGATIVE_INFINITY;
            let bestAt = -1;
            for (let r = Math.max(0, rowStart); r < rowEnd; r++) {
              for (let q = Math.max(0, colStart); q < colEnd; q++) {
                const i = ((b * inHeight + r) * inWidth + q) * channels + c;
                if (x[i]! > best) {
                  best = x[i]!;
                  bestAt = i;
                }
              }
            }
            const g = dyValues[at++]!;
            if (bestAt >= 0) dx[bestAt] += g;
          }
        }
      }
    }
    return float32Output(kernelBackend, dx, input.shape);
  }) as KernelFunc;
}
