/**
 * Gradients of Sum and Mean that broadcast dy instead of multiplying it by a ones tensor.
 *
 * tfjs-core's own gradients compute `dy * ones(x.shape)`, and `ones` fills a full-size array on
 * the CPU: every batch-norm `moments` of a training step pays for it, and on webgpu the array is
 * then uploaded (up to 33 MB per call for a 4x256x256x32 activation). Broadcasting (a Tile on the
 * backend) gives the same values without touching the CPU.
 */
import { broadcastTo, cast, div, reshape, util, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';

/** dy reshaped to x's rank with 1 on the reduced axes, as float32 (the dtype tfjs-core's gradients return). */
function expandedDy(dy: Tensor, x: Tensor, attrs: NamedAttrMap): Tensor {
  const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const expanded = reshape(dy, shape);
  return expanded.dtype === 'float32' ? expanded : cast(expanded, 'float32');
}

export const sumGradConfig: GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    return { x: () => broadcastTo(expandedDy(dy as Tensor, x, attrs), x.shape) };
  },
};

export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const reduceSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
    // Divide before broadcasting: the same single division per element, on the small tensor.
    return { x: () => broadcastTo(div(expandedDy(dy as Tensor, x, attrs), reduceSize), x.shape) };
  },
};
