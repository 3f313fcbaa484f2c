/**
 * Conv2DBackpropFilter and Conv2DBackpropInput built from the backend's forward Conv2D and its
 * BatchMatMul (whichever form is faster for the shape), and exact.
 *
 * Forward (NHWC): y[n,i,j,o] = sum_{p,q,c} x[n, i*sh + p*dh - top, j*sw + q*dw - left, c] * w[p,q,c,o].
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { convInfo, NCHW_TO_NHWC, NHWC_TO_NCHW, toNHWCShape, type ConvAttrs } from './conv-geometry.js';
import { compositeKernel, KernelOps, transposedConvInput, zerosIfEmpty, type GradAttrs } from './kernel-ops.js';
import { heapStart, type WasmBackendInternals } from './wasm/backend-internals.js';
import { heapModule } from './wasm/heap-module.js';


/** True when a 1x1 convolution is a plain matrix product over pixels (stride 1, no padding). */
function isPointwise(info: ReturnType<typeof convInfo>): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  return filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1
    && padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0;
}

/**
 * dW[p,q,c,o] = sum_{n,i,j} x[n, i*sh + p*dh - top, j*sw + q*dw - left, c] * dy[n,i,j,o]:
 * a convolution of x seen as [c, h, w, n] by dy seen as [ho, wo, n, o], whose stride is the
 * forward dilation and whose dilation is the forward stride. 1x1: dW = X^T dY.
 */
export function conv2dBackpropFilter(ops: KernelOps, x: TensorInfo, dy: TensorInfo, filterShape: number[], attrs: ConvAttrs): TensorInfo {
  const info = convInfo(x.shape, filterShape, attrs, false);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, outChannels: o } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  if (isPointwise(info)) {
    // x is its own tap grid: one run of rows, every pixel
    const inHeap = filterGradByRunsInHeap(ops, x, dy, info, h, w);
    if (inHeap !== null) return inHeap;
    const xT = ops.transpose(ops.reshape(x, [n * h * w, c]), [1, 0]);
    const product = ops.matMul(ops.reshape(xT, [1, c, n * h * w]), ops.reshape(dy, [1, n * h * w, o]));
    return ops.reshape(product, [1, 1, c, o]);
  }
  const method = filterGradMethod(ops.backendName, info);
  if (method === 'shifted-rows') return filterGradShiftedRows(ops, x, dy, info);
  if (method === 'per-tap') return filterGradPerTap(ops, x, dy, info);
  const xT = ops.transpose(x, [3, 1, 2, 0]);
  const dyT = ops.transpose(dy, [1, 2, 0, 3]);
  // Pad the far sides just enough to reach every pixel the forward pass read.
  const bottom = Math.max(0, (fh - 1) * dh + (ho - 1) * sh - padInfo.top - (h - 1));
  const right = Math.max(0, (fw - 1) * dw + (wo - 1) * sw - padInfo.left - (w - 1));
  let g = ops.conv2d(xT, dyT, [dh, dw], [[0, 0], [padInfo.top, bottom], [padInfo.left, right], [0, 0]], [sh, sw]);
  if (g.shape[1] !== fh || g.shape[2] !== fw) g = ops.slice(g, [0, 0, 0, 0], [c, fh, fw, o]);
  return ops.transpose(g, [1, 2, 0, 3]);
}

type FilterGradMethod = 'convolution' | 'shifted-rows' | 'per-tap';

/**
 * The fastest way to a filter gradient on this backend, as measured (wasm, one thread, batch 4,
 * ms for convolution / shifted rows / per tap): 64x64x16->16 20/19/29, 32x32x32->32 19/17/28,
 * 32x32x96->32 50/41/65, 16x16x64->64 18/15/26, 64x64x64->64 231/167/188, 32x32x256->128
 * 461/304/350, 16x16x256->256 248/188/202, 128x128x32->32 189/154/169. The shifted rows multiply
 * padding zeros too (1.06 times the pixels at 64x64, 1.25 at 16x16, 1.5 at 8x8: at batch 8,
 * 16x16x256->256 took 465/442/415), so below 16x16 the convolution wins with few output channels
 * (8x8x128->128 10/14/12, 4x4x256->256 22/30/24) and the products with many (8x8x512->512
 * 246/203/161). The shifted rows need stride 1; strided convolutions take the convolution form,
 * since strided windows are copied by the stock StridedSlice (the attention gates' 2x2, stride 2,
 * [4,64,64,16] -> 8: 2.3 against 72 ms per tap; [4,256,256,64] -> 32: 529 against 4,042 ms). On
 * the cpu backend the convolution beat the per-tap products at every size measured (3-7x at 16x16
 * to 64x64).
 */
function filterGradMethod(backendName: string, info: ReturnType<typeof convInfo>): FilterGradMethod {
  const { outChannels: o, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
  if (backendName !== 'wasm' || sh !== 1 || sw !== 1) return 'convolution';
  if (ho * wo >= 16 * 16) return 'shifted-rows';
  return o * Math.sqrt(ho * wo) <= 1024 ? 'convolution' : 'per-tap';
}

/**
 * x padded (or cropped) to the [n, hp, wp] grid that a stride-1 convolution's taps read: tap (p, q)
 * of output pixel (i, j) is grid pixel (i + p*dh, j + q*dw).
 */
function padToTapGrid(ops: KernelOps, x: TensorInfo, info: ReturnType<typeof convInfo>): { padded: TensorInfo; hp: number; wp: number } {
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const hp = ho + (fh - 1) * dh;
  const wp = wo + (fw - 1) * dw;
  return { padded: ops.cropOrPad(x, padInfo.top, hp - h - padInfo.top, padInfo.left, wp - w - padInfo.left), hp, wp };
}

/**
 * dW[p,q] = X_pq^T dY with the windows read as runs of rows: in the padded image flattened to
 * [n*hp*wp, c], the pixel that tap (p, q) pairs with output pixel t is row t + p*dh*wp + q*dw.
 * With dy zero-padded to the same [n, hp, wp] grid, each tap's window is one contiguous run of
 * rows (whole-row copies of the channel-major image, not one copy per image row), and the
 * pixels that run past an image's edge meet zeros. dY is the right-hand operand of all taps, so
 * it is packed once.
 */
function filterGradShiftedRows(ops: KernelOps, x: TensorInfo, dy: TensorInfo, info: ReturnType<typeof convInfo>): TensorInfo {
  const { batchSize: n, inChannels: c, outHeight: ho, outWidth: wo, outChannels: o } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  // Each large temporary is released as soon as it is read: this kernel's peak stays near the
  // convolution form's (two copies of x and one of dy beside its inputs).
  const { padded, hp, wp } = padToTapGrid(ops, x, info);
  const inHeap = filterGradByRunsInHeap(ops, padded, dy, info, hp, wp);
  if (inHeap !== null) return inHeap;
  const paddedRows = ops.reshape(padded, [n * hp * wp, c]);
  const xT = ops.transpose(paddedRows, [1, 0]);
  ops.release(paddedRows, padded);
  const rows = runLength(info, hp, wp);
  const dyPadded = ops.cropOrPad(dy, 0, hp - ho, 0, wp - wo);
  const dyPaddedRows = ops.reshape(dyPadded, [n * hp * wp, o]);
  const dyRows = ops.slice(dyPaddedRows, [0, 0], [rows, o]);
  ops.release(dyPaddedRows, dyPadded);
  return productPerTap(ops, info, ops.reshape(dyRows, [1, rows, o]), (p, q) => ops.slice(xT, [0, p * dh * wp + q * dw], [c, rows]));
}

/** Rows per tap's run in the flattened [n*hp*wp] grid: the last output pixel sits this many rows before its end, so no run goes past it. */
function runLength(info: ReturnType<typeof convInfo>, hp: number, wp: number): number {
  const { batchSize: n, filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  return n * hp * wp - ((fh - 1) * dh * wp + (fw - 1) * dw);
}

/**
 * On wasm, where the heap module runs: the products of {@link filterGradShiftedRows} (and a 1x1
 * filter's X^T dY, whose grid is x itself) summed straight from x on the tap grid and dy, one
 * `pointwiseFilterGrad` per tap from its run's first row: the same sums in the same order as the
 * backend's matrix products, so their values bit for bit, without transposing x, copying a run per
 * tap or packing dy for XNNPACK. Output channels a multiple of 4, else null.
 */
function filterGradByRunsInHeap(ops: KernelOps, grid: TensorInfo, dy: TensorInfo, info: ReturnType<typeof convInfo>, hp: number, wp: number): TensorInfo | null {
  const { inChannels: c, outHeight: ho, outWidth: wo, outChannels: o } = info;
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  if (ops.backendName !== 'wasm' || grid.dtype !== 'float32' || dy.dtype !== 'float32' || o % 4 !== 0) return null;
  const backend = ops.backend as WasmBackendInternals;
  const heap = heapModule(backend);
  if (heap === null) return null;
  const rows = runLength(info, hp, wp);
  const dyPadded = ops.cropOrPad(dy, 0, hp - ho, 0, wp - wo);
  const out = ops.adopt(backend.makeOutput([fh, fw, c, o], 'float32'));
  const [xAt, dyAt, outAt] = [heapStart(backend, grid), heapStart(backend, dyPadded), heapStart(backend, out)];
  for (let p = 0; p < fh; p++) {
    for (let q = 0; q < fw; q++) {
      heap.pointwiseFilterGrad(xAt + (p * dh * wp + q * dw) * c, dyAt, outAt + (p * fw + q) * c * o, rows, c, o);
    }
  }
  ops.release(dyPadded);
  return out;
}

/**
 * dW[p,q] = window(p,q)^T dY for each tap of a stride-1 convolution: the windows of x channel-major
 * [c, n, ho, wo], each one slice of the padded image.
 */
function filterGradPerTap(ops: KernelOps, x: TensorInfo, dy: TensorInfo, info: ReturnType<typeof convInfo>): TensorInfo {
  const { batchSize: n, inChannels: c, outHeight: ho, outWidth: wo, outChannels: o, dilationHeight: dh, dilationWidth: dw } = info;
  const xT = ops.transpose(padToTapGrid(ops, x, info).padded, [3, 0, 1, 2]);
  return productPerTap(ops, info, ops.reshape(dy, [1, n * ho * wo, o]), (p, q) => ops.slice(xT, [0, 0, p * dh, q * dw], [c, n, ho, wo]));
}

/**
 * The filter gradient [fh, fw, c, o] as one product per tap: window(p, q) (c rows of k values,
 * any shape) times dyMatrix [1, k, o]. Each window is released right after its product: all of
 * them at once would take fh*fw times the input's memory.
 */
function productPerTap(ops: KernelOps, info: ReturnType<typeof convInfo>, dyMatrix: TensorInfo, window: (p: number, q: number) => TensorInfo): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, inChannels: c, outChannels: o } = info;
  const k = dyMatrix.shape[1]!;
  const taps: TensorInfo[] = [];
  for (let p = 0; p < fh; p++) {
    for (let q = 0; q < fw; q++) {
      const values = window(p, q);
      const matrix = ops.reshape(values, [1, c, k]);
      taps.push(ops.matMul(matrix, dyMatrix));
      ops.release(matrix, values);
    }
  }
  const stacked = taps.length === 1 ? taps[0]! : ops.concat(taps, 0);
  return ops.reshape(stacked, [fh, fw, c, o]);
}

/**
 * dX = the correlation of dy (zero-inserted by the stride) with the filter rotated by 180 degrees
 * and its channel axes swapped, dilated like the forward pass. 1x1: dX = dY W^T. For small
 * images at stride 1: one matrix product with the filter as the streamed operand, then each tap's
 * contribution shifted into place.
 */
export function conv2dBackpropInput(ops: KernelOps, dy: TensorInfo, filter: TensorInfo, inputShape: number[], attrs: ConvAttrs): TensorInfo {
  const info = convInfo(inputShape, filter.shape, attrs, false);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: o } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  if (isPointwise(info)) {
    const filterT = ops.transpose(ops.reshape(filter, [c, o]), [1, 0]);
    const product = ops.matMul(ops.reshape(dy, [1, n * h * w, o]), ops.reshape(filterT, [1, o, c]));
    return ops.reshape(product, [n, h, w, c]);
  }
  if (isInputGradByTaps(info)) return inputGradByTaps(ops, dy, filter, info);
  const { input, pad } = transposedConvInput(ops, dy, info);
  return ops.conv2d(input, ops.flippedFilter(filter), [1, 1], pad, [dh, dw]);
}

// Up to this many output pixels (batch included), the input gradient is cheaper as one matrix
// product with the filter streamed than as a convolution that must repack the rotated filter
// (measured on wasm, 4 x 4x4 pixels, 3x3x512x512 filter: 34 ms against 196 ms). Above it the
// shifted slices of the products cost more than the repacking.
const FEW_PIXELS = 64;

/**
 * Whether conv2dBackpropInput computes this (not pointwise) input gradient by taps: one matrix
 * product, then a slice and a pad per filter tap, about 2 + 2 taps kernels (20 for 3x3).
 */
export function isInputGradByTaps(info: ReturnType<typeof convInfo>): boolean {
  return info.strideHeight === 1 && info.strideWidth === 1 && info.outHeight * info.outWidth * info.batchSize <= FEW_PIXELS;
}

/**
 * Stride-1 input gradient for small images: P = W [taps*c, o] times dY^T [o, pixels], then
 * dX[c, n, a, b] = sum over taps (p, q) of P[p, q, c, n, a + top - p*dh, b + left - q*dw].
 */
function inputGradByTaps(ops: KernelOps, dy: TensorInfo, filter: TensorInfo, info: ReturnType<typeof convInfo>): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, outChannels: o } = info;
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const dyT = ops.transpose(ops.reshape(dy, [n * ho * wo, o]), [1, 0]);
  const product = ops.matMul(ops.reshape(filter, [1, fh * fw * c, o]), ops.reshape(dyT, [1, o, n * ho * wo]));
  const perTap = ops.reshape(product, [fh * fw, c * n, ho, wo]);
  const parts: TensorInfo[] = [];
  for (let p = 0; p < fh; p++) {
    for (let q = 0; q < fw; q++) {
      const offY = p * dh - padInfo.top; // output row a receives dy row a - offY
      const offX = q * dw - padInfo.left;
      const a0 = Math.max(0, offY);
      const a1 = Math.min(h, ho + offY);
      const b0 = Math.max(0, offX);
      const b1 = Math.min(w, wo + offX);
      if (a1 <= a0 || b1 <= b0) continue;
      const tap = ops.slice(perTap, [p * fw + q, 0, a0 - offY, b0 - offX], [1, c * n, a1 - a0, b1 - b0]);
      parts.push(ops.pad(tap, [[0, 0], [0, 0], [a0, h - a1], [b0, w - b1]]));
    }
  }
  const sum = parts.length > 0 ? ops.addN(parts) : ops.pad(ops.slice(perTap, [0, 0, 0, 0], [1, c * n, 0, 0]), [[0, 0], [0, 0], [0, h], [0, w]]);
  return ops.transpose(ops.reshape(sum, [c, n, h, w]), [1, 2, 3, 0]);
}

/** Kernel function of Conv2DBackpropFilter for one backend (NHWC and NCHW). */
export function conv2dBackpropFilterKernel(backendName: string) {
  return compositeKernel(backendName, (ops, { x, dy }, a) => {
    const empty = zerosIfEmpty(ops, [x, dy], a.filterShape!);
    if (empty !== null) return empty;
    const nchw = a.dataFormat === 'NCHW';
    return conv2dBackpropFilter(ops, nchw ? ops.transpose(x, NCHW_TO_NHWC) : x, nchw ? ops.transpose(dy, NCHW_TO_NHWC) : dy, a.filterShape!, a);
  });
}

/** Kernel function of Conv2DBackpropInput for one backend (NHWC and NCHW). */
export function conv2dBackpropInputKernel(backendName: string) {
  return compositeKernel(backendName, (ops, { dy, filter }, a) =>
    zerosIfEmpty(ops, [dy, filter], a.inputShape!) ?? conv2dBackpropInputAnyLayout(ops, dy, filter, a));
}

/** conv2dBackpropInput for NHWC or NCHW gradients. */
export function conv2dBackpropInputAnyLayout(ops: KernelOps, dy: TensorInfo, filter: TensorInfo, a: GradAttrs): TensorInfo {
  const nchw = a.dataFormat === 'NCHW';
  const dx = conv2dBackpropInput(ops, nchw ? ops.transpose(dy, NCHW_TO_NHWC) : dy, filter, toNHWCShape(a.inputShape!, a.dataFormat), a);
  return nchw ? ops.transpose(dx, NHWC_TO_NCHW) : dx;
}
