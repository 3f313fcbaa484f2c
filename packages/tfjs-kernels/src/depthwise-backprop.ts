/**
 * DepthwiseConv2dNativeBackpropFilter and -Input from the backend's own forward kernels, with
 * dilation (the stock tfjs kernels ignore it) and any channel multiplier m; on wasm the filter
 * gradient of stride 1 and multiplier 1 is summed by the heap module instead.
 *
 * Forward: y[n,i,j,c*m+k] = sum_{p,q} x[n, i*sh + p*dh - top, j*sw + q*dw - left, c] * w[p,q,c,k].
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { convInfo, type ConvAttrs } from './conv-geometry.js';
import { compositeKernel, KernelOps, transposedConvInput, zerosIfEmpty } from './kernel-ops.js';
import { heapStart, type WasmBackendInternals } from './wasm/backend-internals.js';
import { heapModule } from './wasm/heap-module.js';
import { depthwiseInHeap } from './wasm/conv-forward.js';


/**
 * dW[p,q,c,k] = sum_{n,i,j} x[n, i*sh + p*dh - top, j*sw + q*dw - left, c] * dy[n,i,j,c*m+k]:
 * a depthwise convolution of x seen as one image with n*c channels [1, h, w, n*c] by dy seen as a
 * [ho, wo, n*c, m] filter, whose stride is the forward dilation and whose dilation is the forward
 * stride; then the sum over n. (Measured on wasm, 4x128x128x32: 35 ms, against 153 ms for
 * multiplying and summing each tap's window.)
 */
export function depthwiseBackpropFilter(ops: KernelOps, x: TensorInfo, dy: TensorInfo, filterShape: number[], attrs: ConvAttrs): TensorInfo {
  const info = convInfo(x.shape, filterShape, attrs, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const m = filterShape[3];
  const image = ops.reshape(ops.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]);
  const filter = ops.reshape(ops.transpose(ops.reshape(dy, [n, ho, wo, c, m]), [1, 2, 0, 3, 4]), [ho, wo, n * c, m]);
  const bottom = Math.max(0, (fh - 1) * dh + (ho - 1) * sh - padInfo.top - (h - 1));
  const right = Math.max(0, (fw - 1) * dw + (wo - 1) * sw - padInfo.left - (w - 1));
  let g = ops.depthwiseConv2d(image, filter, [dh, dw], [[0, 0], [padInfo.top, bottom], [padInfo.left, right], [0, 0]], [sh, sw]);
  if (g.shape[1] !== fh || g.shape[2] !== fw) g = ops.slice(g, [0, 0, 0, 0], [1, fh, fw, n * c * m]);
  const perImage = ops.reshape(g, [fh, fw, n, c * m]);
  return ops.reshape(n === 1 ? perImage : ops.sum(perImage, [2]), [fh, fw, c, m]);
}

/**
 * dX[.., c] = sum_k of the depthwise correlation of dy (zero-inserted by the stride) channel c*m+k
 * with the tap w[:,:,c,k] rotated by 180 degrees, dilated like the forward pass.
 */
export function depthwiseBackpropInput(ops: KernelOps, dy: TensorInfo, filter: TensorInfo, inputShape: number[], attrs: ConvAttrs): TensorInfo {
  const info = convInfo(inputShape, filter.shape, attrs, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = filter.shape[3];
  const rotated = ops.reshape(ops.rotate180(filter), [fh, fw, c * m, 1]);
  const { input, pad } = transposedConvInput(ops, dy, info);
  const dx = ops.depthwiseConv2d(input, rotated, [1, 1], pad, [dh, dw]);
  return m === 1 ? dx : ops.sum(ops.reshape(dx, [n, h, w, c, m]), [4]);
}

/**
 * On wasm, where the heap module runs: the filter gradient of a stride-1 depthwise convolution of
 * multiplier 1 (the scale-attentional layer's), summed straight from x and dy four channels at a
 * time (src/wasm/heap-module.wat), or null for anything else. XNNPACK runs the composed form's
 * depthwise convolution, whose filter is the whole of dy, at a fraction of its forward rate.
 */
function depthwiseFilterGradInHeap(ops: KernelOps, x: TensorInfo, dy: TensorInfo, filterShape: number[], attrs: ConvAttrs): TensorInfo | null {
  if (ops.backendName !== 'wasm' || x.dtype !== 'float32' || dy.dtype !== 'float32' || filterShape[3] !== 1) return null;
  const backend = ops.backend as WasmBackendInternals;
  const heap = heapModule(backend);
  if (heap === null) return null;
  const info = convInfo(x.shape, filterShape, attrs, true);
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dataFormat !== 'channelsLast') return null;
  const out = ops.adopt(backend.makeOutput([...filterShape], 'float32'));
  heap.depthwiseFilterGrad(heapStart(backend, x), heapStart(backend, dy), heapStart(backend, out), x.shape as [number, number, number, number], info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.padInfo.top, info.padInfo.left, info.dilationHeight, info.dilationWidth);
  return out;
}

/** Kernel function of DepthwiseConv2dNativeBackpropFilter for one backend. */
export function depthwiseBackpropFilterKernel(backendName: string) {
  return compositeKernel(backendName, (ops, { x, dy }, a) => zerosIfEmpty(ops, [x, dy], a.filterShape!) ??
    depthwiseFilterGradInHeap(ops, x, dy, a.filterShape!, a) ?? depthwiseBackpropFilter(ops, x, dy, a.filterShape!, a));
}

/** On wasm: the input gradient in the heap module ({@link depthwiseInHeap}), or null. */
function depthwiseInputGradInHeap(ops: KernelOps, dy: TensorInfo, filter: TensorInfo, inputShape: number[], attrs: ConvAttrs): TensorInfo | null {
  if (ops.backendName !== 'wasm') return null;
  const out = depthwiseInHeap(ops.backend as WasmBackendInternals, dy, filter, convInfo(inputShape, filter.shape, attrs, true), false);
  return out === null ? null : ops.adopt(out);
}

/** Kernel function of DepthwiseConv2dNativeBackpropInput for one backend. */
export function depthwiseBackpropInputKernel(backendName: string) {
  return compositeKernel(backendName, (ops, { dy, filter }, a) => zerosIfEmpty(ops, [dy, filter], a.inputShape!) ??
    depthwiseInputGradInHeap(ops, dy, filter, a.inputShape!, a) ?? depthwiseBackpropInput(ops, dy, filter, a.inputShape!, a));
}
