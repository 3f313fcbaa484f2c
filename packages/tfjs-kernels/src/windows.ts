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

/**
 * For each output value of a max pool ([output position, channel], flat), the flat input index of
 * its window's maximum, or -1 for a window without a value above -Infinity; and the maxima. NaN is
 * never a maximum, as on the cpu backend.
 */
export function windowMaxima(info: WindowGeometry, x: ArrayLike<number>, ties: TieRule): { at: Int32Array; max: Float32Array } {
  const channels = info.inChannels;
  const size = info.batchSize * info.outDepth * info.outHeight * info.outWidth * channels;
  const at = new Int32Array(size).fill(-1);
  const max = new Float32Array(size).fill(-Infinity);
  const last = ties === 'last';
  forEachTap(info, (o, i) => {
    for (let c = 0; c < channels; c++) {
      const v = x[i * channels + c]!;
      const m = max[o * channels + c]!;
      if (v > m || (last && v === m)) {
        max[o * channels + c] = v;
        at[o * channels + c] = i * channels + c;
      }
    }
  });
  return { at, max };
}

/** The gradient of a max pool: each output's dy added (in double precision) to its window's maximum. */
export function maxPoolGradient(backend: KernelBackend, info: WindowGeometry, input: TensorInfo, dy: TensorInfo, ties: TieRule): TensorInfo {
  const { at } = windowMaxima(info, backend.readSync(input.dataId) as Float32Array, ties);
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float64Array(util.sizeFromShape(input.shape));
  for (let k = 0; k < at.length; k++) if (at[k]! >= 0) dx[at[k]!]! += dyValues[k]!;
  return float32Output(backend, Float32Array.from(dx), input.shape);
}
