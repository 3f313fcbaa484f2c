/**
 * Gradients of Sum and Mean that never fill a full-size array on the CPU.
 *
 * tfjs-core's own gradients compute `dy * ones(x.shape)`, and `ones` fills a full-size array on
 * the CPU: every batch-norm `moments` of a training step pays for it, and on webgpu the array is
 * then uploaded (up to 33 MB per call for a 4x256x256x32 activation). Here dy is spread to x's
 * shape on the backend, by whichever way is faster there (measured, `bench/reduction-gradients.ts`):
 * on webgpu a broadcast (one Tile pass); elsewhere a multiply by `onesLike(x)` (a Fill kernel),
 * because wasm's Tile is ten times slower than its multiply (Mean gradient of 4x64x64x32: 30 ms
 * against 1.7 ms). Both are exact (a copy, or a product with one), so the values are tfjs-core's.
 */
import { backend_util, broadcastTo, cast, cumprod, div, getBackend, mul, onesLike, reshape, transpose, util, zeros, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';

function reducedAxes(x: Tensor, attrs: NamedAttrMap): number[] {
  return util.parseAxisParam(attrs.axis as number | number[], x.shape);
}

/** dy reshaped to x's rank with 1 on the reduced axes, as float32 (the dtype tfjs-core's gradients return). */
function expandedDy(dy: Tensor, x: Tensor, axes: number[]): Tensor {
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const expanded = reshape(dy, shape);
  return expanded.dtype === 'float32' ? expanded : cast(expanded, 'float32');
}

/**
 * `small` (x's rank, 1 on reduced axes) spread to x's shape. An empty x gets empty zeros: tfjs-core's
 * broadcastTo returns its input unchanged when the only axes to grow go to size 0 ([1] to [0]).
 */
function spreadTo(small: Tensor, x: Tensor): Tensor {
  if (x.size === 0) return zeros(x.shape);
  return getBackend() === 'webgpu' ? broadcastTo(small, x.shape) : mul(small, onesLike(x));
}

/** The gradient of Sum: dy spread over the reduced axes on the backend. */
export const sumGradConfig: GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    return { x: () => spreadTo(expandedDy(dy as Tensor, x, reducedAxes(x, attrs)), x) };
  },
};

/** The gradient of Mean: dy divided by the count of reduced elements, spread over the reduced axes on the backend. */
export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const axes = reducedAxes(x, attrs);
    const reduceSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
    // Divide before broadcasting: the same single division per element, on the small tensor.
    return { x: () => spreadTo(div(expandedDy(dy as Tensor, x, axes), reduceSize), x) };
  },
};

/**
 * The gradient of Prod: for each value, dy times the product of the others along the reduced
 * axes, as exclusive running products from both ends (exact where values are 0, unlike y / x).
 * tfjs-core's computes the same but through chained tensor methods (`x.reshape`), which exist only
 * where the whole @tensorflow/tfjs package is loaded: with tfjs-core and tfjs-layers alone it
 * failed ("permutedX.reshape is not a function") whenever the product ran over an axis.
 */
export const prodGradConfig: GradConfig = {
  kernelName: 'Prod',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    return { x: () => prodGradient(x, dy as Tensor, reducedAxes(x, attrs)) };
  },
};

function prodGradient(x: Tensor, dy: Tensor, axes: number[]): Tensor {
  const rank = x.shape.length;
  const perm = backend_util.getAxesPermutation(axes, rank);
  const moved = perm === null ? x : transpose(x, perm);
  const kept = moved.shape.slice(0, rank - axes.length);
  const flat = reshape(moved, [...kept, util.sizeFromShape(moved.shape.slice(rank - axes.length))]);
  const axis = kept.length;
  const others = mul(cumprod(flat, axis, true, false), cumprod(flat, axis, true, true));
  const gradient = reshape(mul(reshape(dy, [...kept, 1]), others), moved.shape);
  return perm === null ? gradient : transpose(gradient, backend_util.getUndoAxesPermutation(perm));
}
