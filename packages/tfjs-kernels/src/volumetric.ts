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
 * Each follows the cpu backend's definitions (geometry from tfjs-core's computeConv3DInfo and
 * computePool3DInfo; a window's gradient goes to its last maximum, NaN is never a maximum), sums
 * in double precision and rounds once, so that the results equal the cpu backend's within float32
 * rounding (and bit for bit for the pooling kernels where the cpu kernels are right).
 */
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';

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

/**
 * Calls `visit(o, i, tap)` for every output position o of a window operation, every tap of its
 * window and the input position i that tap reads (taps in the padding are skipped). Positions
 * are flat indices into [batch, depth, height, width] (channels excluded); taps count in
 * depth, height, width order.
 */
function forEachTap(info: backend_util.Conv3DInfo, visit: (o: number, i: number, tap: number) => void): void {
  const { batchSize, inDepth, inHeight, inWidth, outDepth, outHeight, outWidth } = info;
  const { strideDepth, strideHeight, strideWidth, dilationDepth, dilationHeight, dilationWidth } = info;
  const { filterDepth, filterHeight, filterWidth } = info;
  const { front, top, left } = info.padInfo;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let od = 0; od < outDepth; od++) {
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++, o++) {
          let tap = 0;
          for (let fd = 0; fd < filterDepth; fd++) {
            const id = od * strideDepth - front + fd * dilationDepth;
            for (let fh = 0; fh < filterHeight; fh++) {
              const ih = oh * strideHeight - top + fh * dilationHeight;
              for (let fw = 0; fw < filterWidth; fw++, tap++) {
                const iw = ow * strideWidth - left + fw * dilationWidth;
                if (id < 0 || id >= inDepth || ih < 0 || ih >= inHeight || iw < 0 || iw >= inWidth) continue;
                visit(o, ((b * inDepth + id) * inHeight + ih) * inWidth + iw, tap);
              }
            }
          }
        }
      }
    }
  }
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
    const dx = new Float64Array(inputShape.reduce((a, b) => a * b, 1));
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
    const dw = new Float64Array(filterShape.reduce((a, b) => a * b, 1));
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

/**
 * For each output value of a 3-D max pool ([output position, channel], flat), the flat input index
 * of its window's last maximum, or -1 for a window without a value above -Infinity; and the maxima.
 */
function windowMaxima(info: backend_util.Conv3DInfo, x: ArrayLike<number>): { at: Int32Array; max: Float32Array } {
  const channels = info.inChannels;
  const outPositions = info.batchSize * info.outDepth * info.outHeight * info.outWidth;
  const at = new Int32Array(outPositions * channels).fill(-1);
  const max = new Float32Array(outPositions * channels).fill(-Infinity);
  forEachTap(info, (o, i) => {
    for (let c = 0; c < channels; c++) {
      const v = x[i * channels + c]!;
      // >= so that ties go to the last maximum, as the cpu kernel has it; NaN never compares.
      if (v >= max[o * channels + c]!) {
        max[o * channels + c] = v;
        at[o * channels + c] = i * channels + c;
      }
    }
  });
  return { at, max };
}

/** MaxPool3D: the maximum of each window (NaN ignored, as on cpu). */
export function maxPool3dKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const x = inputOf(args, 'x', 'MaxPool3D');
    const backend = args.backend as KernelBackend;
    const info = poolInfo(x.shape, args.attrs);
    const { max } = windowMaxima(info, values(backend, x));
    return float32Output(backend, max, info.outShape);
  }) as KernelFunc;
}

/** MaxPool3DGrad: each output's dy added to the input voxel that was its window's (last) maximum. */
export function maxPool3dGradKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const dy = inputOf(args, 'dy', 'MaxPool3DGrad');
    const input = inputOf(args, 'input', 'MaxPool3DGrad');
    const backend = args.backend as KernelBackend;
    const info = poolInfo(input.shape, args.attrs);
    const { at } = windowMaxima(info, values(backend, input));
    const dyValues = values(backend, dy);
    const dx = new Float64Array(input.shape.reduce((a, b) => a * b, 1));
    for (let k = 0; k < at.length; k++) if (at[k]! >= 0) dx[at[k]!]! += dyValues[k]!;
    return float32Output(backend, Float32Array.from(dx), input.shape);
  }) as KernelFunc;
}
