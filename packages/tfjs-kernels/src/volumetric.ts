/**
 * Kernels of 3-D conv nets (volumetric segmentation: a 3-D U-Net) that tfjs 4.22 gets wrong on the
 * CPU backends, as loops in JS over [batch, depth, height, width, channels] tensors:
 *
 * - Conv3DBackpropInputV2 (wasm): the input gradient of tf.conv3d and the forward pass of
 *   tf.conv3dTranspose. The stock wasm kernel returns wrong values for every shape tried, a
 *   1x1x1 filter included (there it fills only the first depth slice).
 * - Conv3DBackpropFilterV2 (wasm): the filter gradient of tf.conv3d. The stock wasm kernel is wrong
 *   with strides greater than 1.
 * - MaxPool3D (wasm): the stock wasm kernel returns 0 for a window whose maximum is negative.
 * - MaxPool3DGrad (wasm and cpu): the stock wasm kernel gives no gradient to a window whose
 *   maximum is negative; the cpu kernel sends it to the wrong voxel when the window's height and
 *   width differ (it numbers window positions with the height where the width belongs).
 *
 * On wasm, convolutions large enough (and of depth stride 1) take the gradients of
 * src/wasm/conv3d-slices.ts instead: 2-D gradients of depth slices, in XNNPACK, 50x faster there.
 *
 * Each follows the cpu backend's definitions (geometry from tfjs-core's computeConv3DInfo and
 * computePool3DInfo; a window's gradient goes to its last maximum, NaN is never a maximum), sums
 * in double precision and rounds once, so that the results equal the cpu backend's within float32
 * rounding (and bit for bit for the pooling kernels where the cpu kernels are right).
 */
import { backend_util, util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';
import { forEachTap, maxPoolGradient, windowMaxima } from './windows.js';

type Triple = [number, number, number];
type Pad3D = 'valid' | 'same' | number;

/** Float values of a tensor, on any backend that can read synchronously (cpu, wasm). */
function values(backend: KernelBackend, t: TensorInfo): ArrayLike<number> {
  return backend.readSync(t.dataId) as ArrayLike<number>;
}

function inputOf(args: KernelArgs, name: string, kernel: string): TensorInfo {
  const t = (args.inputs as Record<string, TensorInfo | undefined>)[name];
  if (t === undefined) throw new Error(`${kernel}: expected input '${name}'`);
  return t;
}

function convInfo(xShape: number[], filterShape: number[], attrs: KernelArgs['attrs']): backend_util.Conv3DInfo {
  const { strides, pad } = attrs as unknown as { strides: Triple; pad: Pad3D };
  return backend_util.computeConv3DInfo(xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number], strides, 1, pad);
}

/** Conv3DBackpropInputV2: dx[i, ic] = sum over the taps reading i of filter[tap, ic, oc] · dy[o, oc]. */
export function conv3dBackpropInputKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const dy = inputOf(args, 'dy', 'Conv3DBackpropInputV2');
    const filter = inputOf(args, 'filter', 'Conv3DBackpropInputV2');
    const { inputShape } = args.attrs as unknown as { inputShape: number[] };
    const backend = args.backend as KernelBackend;
    const info = convInfo(inputShape, filter.shape, args.attrs);
    const { inChannels, outChannels } = info;
    const dyValues = values(backend, dy);
    const w = values(backend, filter);
    const dx = new Float64Array(util.sizeFromShape(inputShape));
    forEachTap(info, (o, i, tap) => {
      const dyAt = o * outChannels;
      const dxAt = i * inChannels;
      let wAt = tap * inChannels * outChannels;
      for (let ic = 0; ic < inChannels; ic++, wAt += outChannels) {
        let sum = 0;
        for (let oc = 0; oc < outChannels; oc++) sum += w[wAt + oc]! * dyValues[dyAt + oc]!;
        dx[dxAt + ic]! += sum;
      }
    });
    return float32Output(backend, Float32Array.from(dx), inputShape);
  }) as KernelFunc;
}

/** Conv3DBackpropFilterV2: dw[tap, ic, oc] = sum over output positions o of x[i(o, tap), ic] · dy[o, oc]. */
export function conv3dBackpropFilterKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const x = inputOf(args, 'x', 'Conv3DBackpropFilterV2');
    const dy = inputOf(args, 'dy', 'Conv3DBackpropFilterV2');
    const { filterShape } = args.attrs as unknown as { filterShape: number[] };
    const backend = args.backend as KernelBackend;
    const info = convInfo(x.shape, filterShape, args.attrs);
    const { inChannels, outChannels } = info;
    const xValues = values(backend, x);
    const dyValues = values(backend, dy);
    const dw = new Float64Array(util.sizeFromShape(filterShape));
    forEachTap(info, (o, i, tap) => {
      const dyAt = o * outChannels;
      const xAt = i * inChannels;
      let dwAt = tap * inChannels * outChannels;
      for (let ic = 0; ic < inChannels; ic++, dwAt += outChannels) {
        const xv = xValues[xAt + ic]!;
        for (let oc = 0; oc < outChannels; oc++) dw[dwAt + oc]! += xv * dyValues[dyAt + oc]!;
      }
    });
    return float32Output(backend, Float32Array.from(dw), filterShape);
  }) as KernelFunc;
}

function poolInfo(xShape: number[], attrs: KernelArgs['attrs']): backend_util.Conv3DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: Triple | number; strides: Triple | number; pad: Pad3D; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return backend_util.computePool3DInfo(xShape as [number, number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/** MaxPool3D: the maximum of each window (NaN ignored, as on cpu). */
export function maxPool3dKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const x = inputOf(args, 'x', 'MaxPool3D');
    const backend = args.backend as KernelBackend;
    const info = poolInfo(x.shape, args.attrs);
    const { max } = windowMaxima(info, values(backend, x), 'last'); // the cpu kernel's tie rule
    return float32Output(backend, max, info.outShape);
  }) as KernelFunc;
}

/** MaxPool3DGrad: each output's dy added to the input voxel that was its window's (last) maximum. */
export function maxPool3dGradKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const dy = inputOf(args, 'dy', 'MaxPool3DGrad');
    const input = inputOf(args, 'input', 'MaxPool3DGrad');
    const backend = args.backend as KernelBackend;
    return maxPoolGradient(backend, poolInfo(input.shape, args.attrs), input, dy, 'last');
  }) as KernelFunc;
}
