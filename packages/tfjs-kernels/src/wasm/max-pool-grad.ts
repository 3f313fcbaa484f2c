/**
 * MaxPoolGrad for the wasm backend: each output's gradient added to the input that was the
 * window's maximum, chosen as the cpu backend chooses it (the first strictly greater value in
 * row-major window order, starting from -Infinity).
 *
 * The stock wasm kernel (tfjs-backend-wasm 4.22) gives the gradient of a window whose maximum is
 * negative to the window's first input, as if its search for the maximum started from 0: max
 * pooling after a ReLU never sees such a window, but MultiRes U-Net pools the output of its blocks'
 * last batch normalization, so on wasm the gradients of its encoder went to the wrong pixels in
 * every negative window. This kernel is the 3-D one's ({@link maxPoolGradient}) at depth 1, with
 * the cpu backend's 2-D tie rule.
 *
 * Windows that do not overlap and start at the image's corner (stride equal to the window, no
 * padding before: the zoo's 2x2 pooling with stride 2) go to the heap module (src/wasm/heap-module.ts):
 * each input belongs to at most one window, so its gradient is that window's dy or 0, found four
 * channels at a time by comparisons and selects, without the branches that random data makes
 * unpredictable (a loop in JavaScript over the heap took 14 ms for [4,128,128,32] of random values,
 * 7 ms of increasing ones), no list of targets and no copies of x and dy out of the heap; the same
 * values bit for bit (-0 in dy gives +0, as the sum from 0 does). Elsewhere, and where the module
 * cannot run, the general kernel.
 */
import { backend_util, util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { maxPoolGradient, planeGeometry } from '../windows.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

type Shape4D = [number, number, number, number];

/** Whether every input of `info`'s pooling lies in at most one window, windows starting at (0, 0). */
function windowsApart(info: backend_util.Conv2DInfo): boolean {
  return info.strideHeight === info.filterHeight && info.strideWidth === info.filterWidth &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0;
}

export function wasmMaxPoolGrad(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { dy, input } = inputs as Record<string, TensorInfo>;
    if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad: expected inputs dy and input');
    const a = attrs ?? {};
    const info = backend_util.computePool2DInfo(input.shape as Shape4D, a['filterSize'] as [number, number] | number,
      a['strides'] as [number, number] | number, 1, a['pad'] as 'valid' | 'same' | number,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined);
    const wasm = backend as WasmBackendInternals;
    const heap = heapModule(wasm);
    if (heap !== null && windowsApart(info) && input.dtype === 'float32' && dy.dtype === 'float32' && util.sizeFromShape(input.shape) > 0) {
      const out = wasm.makeOutput([...input.shape], 'float32');
      heap.maxPoolGradApart(heapStart(wasm, input), heapStart(wasm, dy), heapStart(wasm, out), input.shape as Shape4D, info.outHeight, info.outWidth,
        info.filterHeight, info.filterWidth);
      return out;
    }
    return maxPoolGradient(backend as KernelBackend, planeGeometry(info), input, dy, 'first');
  }) as KernelFunc;
}
