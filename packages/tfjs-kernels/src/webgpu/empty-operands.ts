/**
 * Stock webgpu kernels that fail on empty operands where the cpu backend, the reference, gives a
 * result: Conv2D and FusedConv2D of an input without channels (zeros, then bias and activation) or
 * with an empty output, Softmax of an empty tensor, and UnsortedSegmentSum (the gradient of a
 * gather) of an empty input (zeros). The stock kernels throw from a reshape that infers a size
 * from 0 elements ("Cannot infer the missing size", "new shape (NaN,0)"). The stock
 * UnsortedSegmentSum also sums int32 inputs as floats into an int32 output, returning float bit
 * patterns (1065353216 for 1): ours sums them as float32 and returns float32, as the cpu backend
 * does. Every other call goes to the stock kernel unchanged. (The convolutions are registered as
 * this package's forward convolution, conv-forward.ts, which hands every call it does not compute,
 * empty operands included, to these.)
 */
import { util, type DataType, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInfo, NHWC_TO_NCHW, toNHWCShape, type ConvAttrs } from '../conv-geometry.js';
import { compositeKernel, type KernelArgs, type KernelOps } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';

/** The kernels that `registerTrainingKernels()` wraps on webgpu for empty operands. */
export const WEBGPU_EMPTY_OPERAND_KERNELS = ['Conv2D', 'FusedConv2D', 'Softmax', 'UnsortedSegmentSum'] as const;
type EmptyOperandKernel = (typeof WEBGPU_EMPTY_OPERAND_KERNELS)[number];

type Inputs = Record<string, TensorInfo | undefined>;
type Attrs = Record<string, unknown>;

const isEmpty = (t: TensorInfo): boolean => util.sizeFromShape(t.shape) === 0;

/** An output of zeros, as Fill makes it (Fill gives empty shapes too). */
function zeros(ops: KernelOps, shape: number[], dtype: DataType): TensorInfo {
  return ops.run('Fill', [], { shape, value: 0, dtype });
}

/** The output shape of a convolution, in its data format. */
function convOutShape(x: TensorInfo, filter: TensorInfo, attrs: ConvAttrs): number[] {
  const nhwc = convInfo(toNHWCShape([...x.shape], attrs.dataFormat), [...filter.shape], attrs, false).outShape;
  return attrs.dataFormat === 'NCHW' ? NHWC_TO_NCHW.map((i) => nhwc[i]!) : nhwc;
}

/**
 * For each kernel: the body that handles the empty case, or undefined where the operands are not
 * that case (or malformed: the stock kernel then gives its own error).
 */
const EMPTY_CASES: Record<EmptyOperandKernel, (inputs: Inputs, attrs: Attrs) => ((ops: KernelOps, args: KernelArgs) => TensorInfo) | undefined> = {
  Conv2D: (inputs, attrs) => convCase(inputs, attrs as unknown as ConvAttrs, 'Conv2D'),
  FusedConv2D: (inputs, attrs) => convCase(inputs, attrs as unknown as ConvAttrs, 'FusedConv2D'),
  Softmax: ({ logits }) => (logits !== undefined && isEmpty(logits) ? (ops) => zeros(ops, [...logits.shape], logits.dtype) : undefined),
  UnsortedSegmentSum: segmentSumCase,
};

/** A segment sum of an empty input (zeros) or of int32 values (summed as float32, as on cpu). */
function segmentSumCase({ x, segmentIds }: Inputs, { numSegments }: Attrs) {
  if (x === undefined || segmentIds === undefined) return undefined;
  // The cpu kernel multiplies x by a float32 mask: its result is float32 for int32 x too.
  const dtype = x.dtype === 'int32' ? 'float32' : x.dtype;
  if (isEmpty(x)) return (ops: KernelOps) => zeros(ops, [numSegments as number, ...x.shape.slice(segmentIds.shape.length)], dtype);
  if (x.dtype !== 'int32') return undefined;
  return (ops: KernelOps, args: KernelArgs) => ops.runStock('UnsortedSegmentSum', { x: ops.run('Cast', { x }, { dtype: 'float32' }), segmentIds }, args.attrs ?? {});
}

/** A convolution with an empty output (zeros of its shape) or without input channels (one zero channel appended). */
function convCase(inputs: Inputs, attrs: ConvAttrs, name: 'Conv2D' | 'FusedConv2D') {
  const { x, filter } = inputs;
  if (x === undefined || filter === undefined || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  // Every convolution runs through here: skip the geometry where the output cannot be empty.
  if (attrs.pad === 'same' && x.shape.every((d) => d > 0) && filter.shape.every((d) => d > 0)) return undefined;
  const outShape = convOutShape(x, filter, attrs);
  if (util.sizeFromShape(outShape) === 0) return (ops: KernelOps) => zeros(ops, outShape, 'float32');
  const channelAxis = attrs.dataFormat === 'NCHW' ? 1 : 3;
  if (x.shape[channelAxis] !== 0) return undefined;
  return (ops: KernelOps, args: KernelArgs) => ops.convWithOneZeroChannel(name, args.inputs as Record<string, TensorInfo>, args.attrs ?? {}, channelAxis);
}

/** Our kernel `name` on webgpu: the cpu backend's result for the operands above, else the stock kernel. */
export function webgpuEmptyOperandKernel(name: EmptyOperandKernel): KernelFunc {
  return ((args: KernelArgs) => {
    const body = EMPTY_CASES[name](args.inputs as Inputs, (args.attrs ?? {}) as Attrs);
    if (body === undefined) return requireStockKernel(name, 'webgpu').kernelFunc(args as never);
    return compositeKernel('webgpu', (ops) => body(ops, args))(args);
  }) as KernelFunc;
}
