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
import { backend_util, util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';
import { forEachTap, planeGeometry } from './windows.js';

interface DilationAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same';
  dilations: number | [number, number];
}

/** What the cpu backend gives a window without a value: its starting maximum. */
const NO_VALUE = Number.MIN_SAFE_INTEGER;

/**
 * For each output value ([output position, channel], flat): the window's maximum of x + filter,
 * the flat index of the input value and of the filter value it came from (-1 if none).
 */
function dilationMaxima(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, attrs: DilationAttrs) {
  const info = backend_util.computeDilation2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number],
    attrs.strides, attrs.pad, 'NHWC', attrs.dilations);
  const xValues = backend.readSync(x.dataId) as Float32Array;
  const filterValues = backend.readSync(filter.dataId) as Float32Array;
  const channels = info.inChannels;
  const size = util.sizeFromShape(info.outShape);
  const max = new Float64Array(size).fill(NO_VALUE);
  const input = new Int32Array(size).fill(-1);
  const tapOf = new Int32Array(size).fill(-1);
  forEachTap(planeGeometry(info), (o, i, tap) => {
    for (let c = 0; c < channels; c++) {
      const v = xValues[i * channels + c]! + filterValues[tap * channels + c]!;
      if (v > max[o * channels + c]!) {
        max[o * channels + c] = v;
        input[o * channels + c] = i * channels + c;
        tapOf[o * channels + c] = tap * channels + c;
      }
    }
  });
  return { info, max, input, tapOf };
}

/** Each output's dy added (in double precision) at `targets` into a float32 result of `shape`. */
function scatter(backend: KernelBackend, dy: TensorInfo, targets: Int32Array, shape: number[]): TensorInfo {
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const sums = new Float64Array(util.sizeFromShape(shape));
  for (let k = 0; k < targets.length; k++) if (targets[k]! >= 0) sums[targets[k]!] += dyValues[k]!;
  return float32Output(backend, Float32Array.from(sums), shape);
}

type Inputs = Record<string, TensorInfo>;

export function dilation2dKernel(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { x, filter } = inputs as Inputs;
    const { info, max } = dilationMaxima(backend as KernelBackend, x!, filter!, attrs as unknown as DilationAttrs);
    return float32Output(backend as KernelBackend, Float32Array.from(max), info.outShape);
  }) as KernelFunc;
}

/** The gradient of Dilation2D in x ('input') or in the filter: dy where each window's maximum came from. */
function dilation2dBackpropKernel(target: 'input' | 'filter'): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { x, filter, dy } = inputs as Inputs;
    const { input, tapOf } = dilationMaxima(backend as KernelBackend, x!, filter!, attrs as unknown as DilationAttrs);
    return target === 'input' ? scatter(backend as KernelBackend, dy!, input, x!.shape) : scatter(backend as KernelBackend, dy!, tapOf, filter!.shape);
  }) as KernelFunc;
}

export const dilation2dBackpropInputKernel = (): KernelFunc => dilation2dBackpropKernel('input');
export const dilation2dBackpropFilterKernel = (): KernelFunc => dilation2dBackpropKernel('filter');
