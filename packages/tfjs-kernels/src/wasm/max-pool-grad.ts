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
 */
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import { maxPoolGradient, planeGeometry } from '../windows.js';

type Shape4D = [number, number, number, number];

export function wasmMaxPoolGrad(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { dy, input } = inputs as Record<string, TensorInfo>;
    if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad: expected inputs dy and input');
    const a = attrs ?? {};
    const info = backend_util.computePool2DInfo(input.shape as Shape4D, a['filterSize'] as [number, number] | number,
      a['strides'] as [number, number] | number, 1, a['pad'] as 'valid' | 'same' | number,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined);
    return maxPoolGradient(backend as KernelBackend, planeGeometry(info), input, dy, 'first');
  }) as KernelFunc;
}
