/**
 * Gradient of FusedBatchNorm with broadcasting instead of tiling.
 *
 * tfjs-core's own gradient tiles 1/sqrt(var + eps) to the full input size and multiplies full-size
 * tensors once per output; a profile of a U-Net step on wasm showed its Tile alone at 10% of the
 * step. Here the two full-size reductions, S1 = sum(dy) and S2 = sum(dy (x - mean)), are computed
 * once and every gradient derives from them:
 *   dx = dy g,  dmean = -g S1,  dvariance = -g / (2 (var + eps)) S2,  dscale = S2 / sqrt(var + eps),
 *   doffset = S1,  with g = scale / sqrt(var + eps).
 */
import { add, broadcast_util, div, mul, neg, reshape, rsqrt, sub, sum, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';

/** Sums t over the axes along which `shape` was broadcast to t's shape, then reshapes to `shape`. */
function sumTo(t: Tensor, shape: number[]): Tensor {
  const axes = broadcast_util.getReductionAxes(shape, t.shape);
  return reshape(axes.length > 0 ? sum(t, axes) : t, shape);
}

/** The gradient of FusedBatchNorm: its two full-size reductions computed once, the per-channel factors broadcast instead of tiled. */
export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dyIn: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = dyIn as Tensor;
    const [x, mean, variance, scale] = saved;
    const varianceEpsilon = attrs.varianceEpsilon as number;
    const invStd = rsqrt(add(variance, varianceEpsilon));
    const g = scale == null ? invStd : mul(scale, invStd);
    const s1 = sumTo(dy, mean.shape);
    const s2 = sumTo(mul(dy, sub(x, mean)), mean.shape);
    return {
      x: () => reshape(mul(dy, g), x.shape),
      mean: () => reshape(neg(mul(g, s1)), mean.shape),
      variance: () => reshape(mul(div(mul(g, mul(invStd, invStd)), -2), s2), variance.shape),
      scale: () => reshape(mul(invStd, s2), scale.shape),
      offset: () => reshape(s1, mean.shape),
    };
  },
};
