/**
 * The multiply-adds of the convolution and matrix-product kernels a profiled call ran, from their
 * shapes: a count independent of the layers' own (what tfjs ran, not what the graph says), for the
 * multiply-add tests of the layer and of the zoo.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** What tf.profile resolves to (tfjs-core does not export its type). */
type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

export function kernelMultiplyAdds(info: ProfileInfo): number {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  let total = 0;
  for (const k of info.kernels) {
    const [first, filter] = k.inputShapes as number[][];
    const out = k.outputShapes[0] as number[];
    switch (k.name) {
      case 'Conv2D':
      case 'FusedConv2D': // filter [kh, kw, in, out]
        total += size(out) * filter![0]! * filter![1]! * filter![2]!;
        break;
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2D': // filter [kh, kw, in, multiplier]
        // A fused 1x1 one of multiplier 1 is a per-channel affine map (the scale-attentional layer's
        // inference epilogue, a batch norm folded in): not counted, as batch norms are not.
        if (k.name === 'FusedDepthwiseConv2D' && size(filter!) === filter![2]!) break;
        total += size(out) * filter![0]! * filter![1]!;
        break;
      case 'Conv2DBackpropInput': // a transposed convolution: dy is its input, filter [kh, kw, out, in]
        total += size(first!) * filter![0]! * filter![1]! * filter![2]!;
        break;
      case 'MatMul':
      case 'BatchMatMul':
      case '_FusedMatMul':
        total += size(out) * first![first!.length - 1]!;
        break;
      default:
        break;
    }
  }
  return total;
}
