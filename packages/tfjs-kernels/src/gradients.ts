/**
 * Gradients of Conv2D and DepthwiseConv2dNative that accept dilation > 1, of Relu in one
 * kernel where the backend has ours, and of Conv3DBackpropInputV2 and DepthToSpace, which
 * tfjs-core lacks.
 *
 * tfjs-core's own gradients assert that the dilation is 1, because the stock backprop kernels
 * ignore it. Ours pass the dilation on to the backprop kernels; with dilation 1 they run exactly
 * what the stock gradients run. With dilation > 1 they need the backprop kernels of this package
 * on the active backend, and say so if they are missing.
 */
import { cast, conv3d, cumsum, engine, getBackend, getKernel, mul, reshape, scalar, scatterND, step, sub, transpose, zerosLike, type GradConfig, type NamedAttrMap, type Tensor, type Tensor4D, type Tensor5D } from '@tensorflow/tfjs-core';
import { isOurKernel } from './registry-state.js';
import { RELU_GRAD_KERNEL, SIGMOID_GRAD_KERNEL } from './own-kernels.js';

type Pair = [number, number];

function pair(v: number | Pair | null | undefined): Pair {
  if (v === null || v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

function requireDilationSupport(kernelNames: string[], dilations: Pair, op: string): void {
  if (dilations[0] === 1 && dilations[1] === 1) return;
  const backend = getBackend();
  const missing = kernelNames.filter((name) => !isOurKernel(name, backend));
  if (missing.length > 0) {
    throw new Error(
      `Gradient of ${op} with dilation [${dilations.join(', ')}] on backend '${backend}' needs the kernels ` +
        `${missing.join(', ')} of @sa-unet/tfjs-kernels: call registerTrainingKernels() after importing the backend ` +
        `(supported backends: cpu, wasm, webgpu), or use dilation 1 for training`,
    );
  }
}

/**
 * The gradient of Conv2D through the Conv2DBackpropInput and Conv2DBackpropFilter kernels (with
 * dilations, which tfjs-core's gradient rejects, where this package's kernels are registered).
 */
export const conv2dGradConfig: GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as Record<string, unknown>;
    const dilations = pair(attrs.dilations as Pair | number | undefined);
    requireDilationSupport(['Conv2DBackpropInput', 'Conv2DBackpropFilter'], dilations, 'conv2d');
    const common = { strides, pad, dataFormat, dimRoundingMode, dilations } as unknown as NamedAttrMap;
    return {
      x: () => engine().runKernel('Conv2DBackpropInput', { dy: dy as Tensor, filter }, { ...common, inputShape: x.shape } as NamedAttrMap) as Tensor,
      filter: () => engine().runKernel('Conv2DBackpropFilter', { x, dy: dy as Tensor }, { ...common, filterShape: filter.shape } as NamedAttrMap) as Tensor,
    };
  },
};

/**
 * The gradient of DepthwiseConv2dNative through its two backprop kernels (with dilations where
 * this package's kernels are registered).
 */
export const depthwiseConv2dGradConfig: GradConfig = {
  kernelName: 'DepthwiseConv2dNative',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    const { strides, pad, dimRoundingMode } = attrs as Record<string, unknown>;
    const dilations = pair(attrs.dilations as Pair | number | undefined);
    requireDilationSupport(['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'], dilations, 'depthwiseConv2d');
    const common = { strides, pad, dimRoundingMode, dilations } as unknown as NamedAttrMap;
    return {
      x: () => engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy as Tensor, filter },
        { ...common, inputShape: x.shape } as NamedAttrMap) as Tensor,
      filter: () => engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dy as Tensor },
        { ...common, filterShape: filter.shape } as NamedAttrMap) as Tensor,
    };
  },
};

/**
 * Relu's gradient dy * step(x), as tfjs-core computes it, but in one kernel
 * ({@link RELU_GRAD_KERNEL}, same values) where the active backend has it (webgpu): a Step and a
 * Multiply dispatch fewer per ReLU and training step.
 */
export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    const g = dy as Tensor;
    const oneKernel = x.dtype === 'float32' && g.dtype === 'float32' && x.size > 0 && getKernel(RELU_GRAD_KERNEL, getBackend()) !== undefined;
    return { x: () => (oneKernel ? engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x }) as Tensor : mul(g, cast(step(x), 'float32'))) };
  },
};

/**
 * Sigmoid's gradient dy * (y (1 - y)) for its output y, as tfjs-core computes it, but in one kernel
 * ({@link SIGMOID_GRAD_KERNEL}, same values) where the active backend has it (webgpu): a Sub and a
 * Multiply dispatch fewer per sigmoid and training step (a segmentation head's, an attention gate's).
 */
export const sigmoidGradConfig: GradConfig = {
  kernelName: 'Sigmoid',
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [y] = saved as [Tensor];
    const g = dy as Tensor;
    const oneKernel = y.dtype === 'float32' && g.dtype === 'float32' && y.size > 0 && getKernel(SIGMOID_GRAD_KERNEL, getBackend()) !== undefined;
    return { x: () => (oneKernel ? engine().runKernel(SIGMOID_GRAD_KERNEL, { dy: g, y }) as Tensor : mul(g, mul(y, sub(scalar(1), y)))) };
  },
};

/**
 * The gradient of Conv3DBackpropInputV2, the forward pass of tf.conv3dTranspose (and so of
 * tfjs-layers' conv3dTranspose layer, a 3-D U-Net's up-sampling), which tfjs-core 4.22 does not
 * have: without it such a layer cannot train on any backend ("gradient function not found for
 * Conv3DBackpropInputV2"). As for the 2-D transposed convolution: dy's gradient is the forward
 * convolution of ddx with the filter, the filter's is the filter gradient of that convolution.
 */
export const conv3dBackpropInputGradConfig: GradConfig = {
  kernelName: 'Conv3DBackpropInputV2',
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [dy, filter] = saved as [Tensor5D, Tensor5D];
    const { strides, pad } = attrs as unknown as { strides: [number, number, number]; pad: 'valid' | 'same' };
    return {
      dy: () => conv3d(ddx as Tensor5D, filter, strides, pad),
      filter: () => engine().runKernel('Conv3DBackpropFilterV2', { x: ddx as Tensor, dy }, { strides, pad, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor,
    };
  },
};

/**
 * The gradient of DepthToSpace (tf.depthToSpace: sub-pixel convolution, "pixel shuffle", a
 * decoder's learnt upsampling), which tfjs-core 4.22 does not have ("gradient function not found
 * for DepthToSpace" on every backend). DepthToSpace only moves values, so its gradient moves dy
 * back: SpaceToDepth, which tfjs has no op for, as a reshape, a transpose and a reshape.
 */
export const depthToSpaceGradConfig: GradConfig = {
  kernelName: 'DepthToSpace',
  gradFunc: (dy: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap) => {
    const { blockSize, dataFormat } = attrs as unknown as { blockSize: number; dataFormat: 'NHWC' | 'NCHW' };
    return { x: () => spaceToDepth(dy as Tensor4D, blockSize, dataFormat) };
  },
};

/** The inverse of depthToSpace: each blockSize x blockSize block of pixels becomes one pixel's channels. */
function spaceToDepth(y: Tensor4D, blockSize: number, dataFormat: 'NHWC' | 'NCHW'): Tensor4D {
  const b = blockSize;
  if (dataFormat === 'NCHW') {
    // y[n, c, h*b + i, w*b + j] -> x[n, (i*b + j)*C + c, h, w]
    const [n, c, height, width] = y.shape;
    const [h, w] = [height / b, width / b];
    const blocks = transpose(reshape(y, [n, c, h, b, w, b]), [0, 3, 5, 1, 2, 4]);
    return reshape(blocks, [n, b * b * c, h, w]);
  }
  // y[n, h*b + i, w*b + j, c] -> x[n, h, w, (i*b + j)*C + c]. Rows of y hold (w, j, c) in that
  // order, so swapping the block-row axis i with w is enough: a rank-4 transpose.
  const [n, height, width, c] = y.shape;
  const [h, w] = [height / b, width / b];
  const rows = transpose(reshape(y, [n * h, b, w, b * c]), [0, 2, 1, 3]);
  return reshape(rows, [n, h, w, b * b * c]);
}

/**
 * The gradient of GatherNd (tf.gatherND: values picked by coordinates, as a loss over clicked or
 * sampled pixels does), which tfjs-core 4.22 does not have: dy scattered back to the coordinates
 * it was gathered from, summed where a coordinate was picked more than once (ScatterNd sums).
 */
export const gatherNdGradConfig: GradConfig = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [params, indices] = saved as [Tensor, Tensor];
    return { params: () => scatterND(indices, dy as Tensor, params.shape), indices: () => zerosLike(indices) };
  },
};

/**
 * The gradient of Cumsum. tfjs-core 4.22's transposes the result as if the op had moved the
 * summed axis last, so along any other axis it was wrong on every backend: an error ("the gradient
 * of input 'x' has shape [2, 3, 5]" for x of [2, 5, 3]) or, where the transpose keeps the shape
 * (x of [2, 3, 3]), wrong values. A running sum's gradient is the running sum of dy the other way
 * (exclusive if the op was), on the same axis.
 */
export const cumsumGradConfig: GradConfig = {
  kernelName: 'Cumsum',
  gradFunc: (dy: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    return { x: () => cumsum(dy as Tensor, axis, exclusive, !reverse) };
  },
};
