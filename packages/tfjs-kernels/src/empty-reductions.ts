/**
 * Reductions of empty tensors on wasm and webgpu. Reducing over an axis of size 0 (a sum over an
 * empty batch, a mean of an all-false booleanMask) reads no input; the stock wasm kernels then
 * return whatever their output buffer held (Sum, Mean, Max, Min, Prod, Any, All: stale heap
 * values, so silently wrong numbers) and the stock webgpu kernels throw from deep inside Dawn
 * ("no overload matched for createBuffer") or fail validation on a zero-size binding.
 *
 * Ours give the values of tfjs's cpu backend, the reference the other backends are tested against,
 * so that a model computes the same numbers on every backend: Sum 0, Prod 1, Mean 0, Max and Min
 * NaN (0 for integer tensors), Any and All false, ArgMax and ArgMin 0. (TensorFlow's own kernels
 * give NaN for Mean, -inf and +inf for Max and Min, true for All, and an error for ArgMax and
 * ArgMin.) A tensor with any element goes to the stock kernel unchanged.
 */
import { backend_util, util, type DataType, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, type KernelArgs } from './kernel-ops.js';
import { requireStockKernel } from './registry-state.js';

/** The reductions whose stock wasm and webgpu kernels fail on an empty input. */
export const EMPTY_SAFE_REDUCTIONS = ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'Any', 'All', 'ArgMax', 'ArgMin'] as const;
type Reduction = (typeof EMPTY_SAFE_REDUCTIONS)[number];

/** The cpu backend's result dtype and value for a reduction over nothing. */
function emptyResult(kernel: Reduction, inputDtype: DataType): { dtype: DataType; value: number } {
  switch (kernel) {
    case 'Sum':
      return { dtype: backend_util.upcastType(inputDtype, 'int32'), value: 0 };
    case 'Prod':
      return { dtype: backend_util.upcastType(inputDtype, 'int32'), value: 1 };
    case 'Mean':
      return { dtype: 'float32', value: 0 };
    case 'Max':
    case 'Min':
      // The cpu kernels start from the first input value, undefined here: NaN in a float array.
      return { dtype: inputDtype, value: inputDtype === 'float32' ? NaN : 0 };
    case 'Any':
    case 'All':
      return { dtype: inputDtype, value: 0 };
    case 'ArgMax':
    case 'ArgMin':
      return { dtype: 'int32', value: 0 };
  }
}

/** The output shape of `kernel` on an input of `shape`. */
function reducedShape(kernel: Reduction, shape: number[], attrs: NamedAttrMap): number[] {
  const single = kernel === 'ArgMax' || kernel === 'ArgMin';
  // Max names its axes reductionIndices; every other reduction, axis.
  const axes = util.parseAxisParam((kernel === 'Max' ? attrs['reductionIndices'] : attrs['axis']) as number | number[], shape);
  const [outShape] = backend_util.computeOutAndReduceShapes(shape, axes);
  return !single && attrs['keepDims'] === true ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
}

/** Our `kernel` for `backendName`: the cpu backend's result where the input is empty, else the stock kernel. */
export function emptySafeReduction(kernel: Reduction, backendName: string): KernelFunc {
  const fill = compositeKernel(backendName, (ops, inputs, attrs) => {
    const x = inputs['x']!;
    const { dtype, value } = emptyResult(kernel, x.dtype);
    return ops.run('Fill', [], { shape: reducedShape(kernel, [...x.shape], attrs as unknown as NamedAttrMap), value, dtype });
  });
  return ((args: KernelArgs) => {
    const x = (args.inputs as Record<string, TensorInfo>)['x'];
    if (x !== undefined && util.sizeFromShape(x.shape) === 0) return fill(args);
    return requireStockKernel(kernel, backendName).kernelFunc(args as never);
  }) as KernelFunc;
}
