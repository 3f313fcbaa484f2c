/**
 * Grayscale dilation (tf.dilation2d: max over a window of x plus a structuring function, a
 * morphological layer or a mask's dilation) and its two gradients, for the wasm backend.
 *
 * tfjs-backend-wasm 4.22 starts each window's maximum at 0 instead of at the lowest value, so any
 * window whose x + filter stays below 0 gave 0 (or whatever positive value it met) and its
 * gradients went to the wrong input and filter tap: with x and filter drawn from [-1, 1] the
 * results were off by 10% to 80% of their largest value, with x below 0 by all of it. Ours walk
 * the windows in JS (src/windows.ts) as the cpu backend does: the first maximum in window order
 * takes the gradient, and a window with no tap inside the input (possible only with unusual
 * padding) gives the cpu backend's lowest value and no gradient.
 */
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';
import { planeGeometry, scatterAdd, windowMaxima } from './windows.js';

interface DilationAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same';
  dilations: number | [number, number];
}

/** What the cpu backend gives a window without a value: its starting maximum. */
const NO_VALUE = Number.MIN_SAFE_INTEGER;

/** The window maxima of x + filter ({@link windowMaxima}, the cpu backend's first-maximum rule) and the geometry. */
function dilationMaxima(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, attrs: DilationAttrs) {
  const info = backend_util.computeDilation2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number],
    attrs.strides, attrs.pad, 'NHWC', attrs.dilations);
  const addend = backend.readSync(filter.dataId) as Float32Array;
  return { info, ...windowMaxima(planeGeometry(info), backend.readSync(x.dataId) as Float32Array, 'first', { addend, empty: NO_VALUE }) };
}

type Inputs = Record<string, TensorInfo>;

export function dilation2dKernel(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { x, filter } = inputs as Inputs;
    const { info, max } = dilationMaxima(backend as KernelBackend, x!, filter!, attrs as unknown as DilationAttrs);
    return float32Output(backend as KernelBackend, max, info.outShape);
  }) as KernelFunc;
}

/** The gradient of Dilation2D in x ('input') or in the filter: dy where each window's maximum came from. */
function dilation2dBackpropKernel(target: 'input' | 'filter'): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { x, filter, dy } = inputs as Inputs;
    const { at, tap } = dilationMaxima(backend as KernelBackend, x!, filter!, attrs as unknown as DilationAttrs);
    return target === 'input' ? scatterAdd(backend as KernelBackend, dy!, at, x!.shape) : scatterAdd(backend as KernelBackend, dy!, tap, filter!.shape);
  }) as KernelFunc;
}

export const dilation2dBackpropInputKernel = (): KernelFunc => dilation2dBackpropKernel('input');
export const dilation2dBackpropFilterKernel = (): KernelFunc => dilation2dBackpropKernel('filter');
