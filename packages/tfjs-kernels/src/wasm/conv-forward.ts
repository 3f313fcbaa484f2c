/**
 * Conv2D, DepthwiseConv2dNative, FusedConv2D and FusedDepthwiseConv2D for the wasm backend: the
 * stock kernels, with two of their faults kept from them.
 *
 * 'Same' padding: the stock kernels hand it to XNNPACK as its TensorFlow-same-padding flag, which
 * gives wrong values (often all zeros) for some strides and filter sizes: in a sweep of inputs 4x3
 * to 16x16, filters 1x1 to 4x4 and strides 1 to 3 on each axis, 186 of 1,152 'same' convolutions
 * and depthwise convolutions differed from the cpu backend (tfjs 4.22; among them 1xN filters with
 * stride 2 or 3 along the height, and 2x2 filters with stride 3: tensorflow/tfjs#6629 and #8405),
 * and every one matched it with the same padding given explicitly. Training composes these kernels
 * (the input gradients are forward convolutions), so the wrong values reached gradients too. Here
 * 'same' becomes the explicit padding tfjs-core computes for it.
 *
 * Empty outputs (a 'valid' filter taller or wider than its input, after padding): XNNPACK refuses
 * the operator, and the stock kernel then corrupts the wasm heap, so that a later, unrelated
 * operation fails with "memory access out of bounds". Here the empty output is returned without
 * running anything.
 *
 * No input channels (Conv2D and FusedConv2D of a [.., 0] input): the output is all zeros (then bias
 * and activation), but the stock kernels sum nothing into an output they never clear and return
 * stale heap values. Here input and filter get one zero channel first.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInfo, type ConvAttrs } from '../conv-geometry.js';
import { requireStockKernel } from '../registry-state.js';
import { compositeKernel, type KernelArgs } from '../kernel-ops.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

/** Whether each kernel's filter is depthwise (its shape [h, w, in, multiplier]). */
const DEPTHWISE = { Conv2D: false, DepthwiseConv2dNative: true, FusedConv2D: false, FusedDepthwiseConv2D: true } as const;

/**
 * The wasm kernels that `registerTrainingKernels()` wraps: 'same' padding reaches XNNPACK as
 * explicit padding, an empty output is returned without running XNNPACK, and an input without
 * channels gives zeros (then bias and activation).
 */
export const WASM_CONV_FORWARD_KERNELS = Object.keys(DEPTHWISE) as Array<keyof typeof DEPTHWISE>;

/** Our wasm kernel `name`: the stock kernel it replaced, given 'same' padding explicitly and kept from empty outputs. */
export function wasmConvForwardKernel(name: (typeof WASM_CONV_FORWARD_KERNELS)[number]): KernelFunc {
  const withOneZeroChannel = compositeKernel('wasm', (ops, inputs, attrs) => ops.convWithOneZeroChannel(name, inputs, attrs, 3));
  return ((args: KernelArgs) => {
    const stock = requireStockKernel(name, 'wasm');
    const { x, filter } = args.inputs as Record<string, TensorInfo>;
    const attrs = (args.attrs ?? {}) as unknown as ConvAttrs;
    // The wasm kernels are channels-last only: anything else goes to them as it came, for their error.
    if (x === undefined || filter === undefined || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return stock.kernelFunc(args as never);
    const info = convInfo(x.shape, filter.shape, attrs, DEPTHWISE[name]);
    if (util.sizeFromShape(info.outShape) === 0) return (args.backend as WasmBackendInternals).makeOutput(info.outShape, 'float32');
    let explicit = args;
    if (attrs.pad === 'same') {
      const { top, bottom, left, right } = info.padInfo;
      const pad: backend_util.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
      explicit = { ...args, attrs: { ...args.attrs, pad } };
    }
    if (name === 'DepthwiseConv2dNative') {
      const inHeap = depthwiseInHeap(args.backend as WasmBackendInternals, x, filter, info, true);
      if (inHeap !== null) return inHeap;
    }
    // A depthwise convolution without channels has an empty output, returned above.
    return x.shape[3] === 0 ? withOneZeroChannel(explicit) : stock.kernelFunc(explicit as never);
  }) as KernelFunc;
}

/**
 * Whether the heap module's `depthwiseConv` adds this depthwise convolution's taps in XNNPACK's
 * order, and so gives its values: float32, stride 1, undilated, multiplier 1 (the
 * scale-attentional layer's), and a 3x3 or 5x5 filter, whose taps XNNPACK adds column by column
 * (at 7x7 it adds them row by row). Its input gradient, a depthwise convolution of dy by the
 * rotated filter, qualifies on the same terms.
 */
export function depthwiseInXnnpackOrder(x: TensorInfo, filter: TensorInfo, info: ReturnType<typeof convInfo>): boolean {
  const [fh, fw, , multiplier] = filter.shape as [number, number, number, number];
  return x.dtype === 'float32' && filter.dtype === 'float32' && multiplier === 1 && fh === fw && (fh === 3 || fh === 5)
    && info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1
    && info.dataFormat === 'channelsLast';
}

/**
 * A depthwise convolution in the heap module, four channels at a time, where
 * {@link depthwiseInXnnpackOrder}: `forward`, the convolution of `input` (x) by `filter`, into
 * `info.outShape`; else its input gradient, `input` being dy, into `info.inShape`. The values of
 * XNNPACK's depthwise convolution (the stock kernel's, or the composed gradient's) bit for bit, but
 * for an infinite or NaN weight, which XNNPACK multiplies by padding's zeros and the module skips
 * with the taps outside its input, as the cpu backend does; or null.
 */
export function depthwiseInHeap(backend: WasmBackendInternals, input: TensorInfo, filter: TensorInfo, info: ReturnType<typeof convInfo>, forward: boolean): TensorInfo | null {
  if (!depthwiseInXnnpackOrder(input, filter, info)) return null;
  const heap = heapModule(backend);
  if (heap === null) return null;
  const out = backend.makeOutput(forward ? info.outShape : info.inShape, 'float32');
  const run = forward ? heap.depthwiseConv : heap.depthwiseInputGrad;
  run(heapStart(backend, input), heapStart(backend, filter), heapStart(backend, out), info.inShape,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.padInfo.top, info.padInfo.left);
  return out;
}
