/**
 * The windows of convolutions and pooling, 2-D or 3-D, walked in JS: which input position each tap
 * of each output's window reads, and the max-pooling gradient built on that (for the kernels that
 * loop in JS on the CPU backends). A 2-D operation is a 3-D one of depth 1 ({@link planeGeometry}).
 */
import { backend_util, util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output } from './kernel-ops.js';

/** What {@link forEachTap} needs of tfjs-core's Conv3DInfo (which computePool3DInfo returns too). */
export type WindowGeometry = Pick<backend_util.Conv3DInfo,
  'batchSize' | 'inDepth' | 'inHeight' | 'inWidth' | 'inChannels' | 'outDepth' | 'outHeight' | 'outWidth' |
  'strideDepth' | 'strideHeight' | 'strideWidth' | 'dilationDepth' | 'dilationHeight' | 'dilationWidth' |
  'filterDepth' | 'filterHeight' | 'filterWidth'> & { padInfo: { front: number; top: number; left: number } };

/** The geometry of a 2-D convolution or pooling as a 3-D one of depth 1. */
export function planeGeometry(info: backend_util.Conv2DInfo): WindowGeometry {
  return {
    ...info, inDepth: 1, outDepth: 1, strideDepth: 1, dilationDepth: 1, filterDepth: 1,
    padInfo: { front: 0, top: info.padInfo.top, left: info.padInfo.left },
  };
}

/**
 * Calls `visit(o, i, tap)` for every output position o of a window operation, every tap of its
 * window and the input position i that tap reads (taps in the padding are skipped). Positions
 * are flat indices into [batch, depth, height, width] (channels excluded); taps count in
 * depth, height, width order.
 */
export function forEachTap(info: WindowGeometry, visit: (o: number, i: number, tap: number) => void): void {
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

/**
 * Which of a window's equal maxima is its maximum: the 'first' in window order (the cpu backend's
 * 2-D max pooling) or the 'last' (its 3-D max pooling).
 */
export type TieRule = 'first' | 'last';

/** Options of {@link windowMaxima}. */
export interface WindowMaximaOptions {
  /** Added to the value each tap reads before comparing, by [tap, channel] (flat): a dilation's structuring function. */
  addend?: ArrayLike<number>;
  /** The maximum of a window without a value (default -Infinity; the cpu backend's dilation starts at MIN_SAFE_INTEGER). */
  empty?: number;
}

/**
 * For each output value of a max pool or a grayscale dilation ([output position, channel], flat):
 * the window's maximum, the flat input index it was read from and the flat [tap, channel] index
 * of its tap, each -1 for a window without a value above `empty`. NaN is never a maximum, as on the
 * cpu backend. Maxima are compared in double precision (x + addend, as the cpu backend adds them)
 * and rounded to float32 once.
 */
export function windowMaxima(
  info: WindowGeometry, x: ArrayLike<number>, ties: TieRule, { addend, empty = -Infinity }: WindowMaximaOptions = {},
): { at: Int32Array; tap: Int32Array; max: Float32Array } {
  const channels = info.inChannels;
  const size = info.batchSize * info.outDepth * info.outHeight * info.outWidth * channels;
  const at = new Int32Array(size).fill(-1);
  const tapOf = new Int32Array(size).fill(-1);
  const max = new Float64Array(size).fill(empty);
  const last = ties === 'last';
  forEachTap(info, (o, i, tap) => {
    for (let c = 0; c < channels; c++) {
      const v = addend === undefined ? x[i * channels + c]! : x[i * channels + c]! + addend[tap * channels + c]!;
      const m = max[o * channels + c]!;
      if (v > m || (last && v === m)) {
        max[o * channels + c] = v;
        at[o * channels + c] = i * channels + c;
        tapOf[o * channels + c] = tap * channels + c;
      }
    }
  });
  return { at, tap: tapOf, max: Float32Array.from(max) };
}

/** Each of dy's values added (in double precision) at its index in `targets` (none where -1), into a float32 result of `shape`. */
export function scatterAdd(backend: KernelBackend, dy: TensorInfo, targets: Int32Array, shape: readonly number[]): TensorInfo {
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const sums = new Float64Array(util.sizeFromShape([...shape]));
  for (let k = 0; k < targets.length; k++) if (targets[k]! >= 0) sums[targets[k]!] += dyValues[k]!;
  return float32Output(backend, Float32Array.from(sums), shape);
}

/** The gradient of a max pool: each output's dy added to its window's maximum. */
export function maxPoolGradient(backend: KernelBackend, info: WindowGeometry, input: TensorInfo, dy: TensorInfo, ties: TieRule): TensorInfo {
  return scatterAdd(backend, dy, windowMaxima(info, backend.readSync(input.dataId) as Float32Array, ties).at, input.shape);
}
