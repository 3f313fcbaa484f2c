/**
 * Where tfjs's forward resize kernels read along one axis (tfjs-backend-cpu's ResizeBilinear and
 * ResizeNearestNeighbor, which the wasm and webgpu kernels match): the source of each output
 * index, from which the resize gradients follow.
 */
import type { KernelArgs } from './kernel-ops.js';

/** The resize attributes alignCorners and halfPixelCenters. */
export interface ResizeFlags {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** The resize's attributes, read the way tfjs-core passes them. */
export function resizeAttrs(attrs: KernelArgs['attrs']): ResizeFlags {
  return { alignCorners: Boolean(attrs?.['alignCorners']), halfPixelCenters: Boolean(attrs?.['halfPixelCenters']) };
}

/** Input positions per output position; with alignCorners the corners map onto each other. */
function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  const aligned = alignCorners && outSize > 1;
  return (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
}

/** For each of `outSize` output positions along one axis, the input position a nearest-neighbour resize copies. */
export function nearestSourceIndices(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const ratio = resizeRatio(inSize, outSize, alignCorners);
  return Int32Array.from({ length: outSize }, (_, i) => {
    const fraction = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    const nearest = Math.min(inSize - 1, alignCorners ? Math.round(fraction) : Math.floor(fraction));
    return halfPixelCenters ? Math.max(0, nearest) : nearest;
  });
}

/**
 * Where a bilinear resize reads along one axis: for each output index, the lower and upper input
 * indices it blends and the weight of the upper one (the lower one's is 1 - upperWeight).
 */
export interface BilinearTaps {
  lower: Int32Array;
  upper: Int32Array;
  upperWeight: Float64Array;
}

export function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): BilinearTaps {
  const ratio = resizeRatio(inSize, outSize, alignCorners);
  const taps: BilinearTaps = { lower: new Int32Array(outSize), upper: new Int32Array(outSize), upperWeight: new Float64Array(outSize) };
  for (let i = 0; i < outSize; i++) {
    const source = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    // Before the first input centre the lower index clamps to 0 and the weight is negative; both
    // taps are then row 0, so the weights still sum to 1, as in the forward kernel.
    const lower = Math.max(0, Math.floor(source));
    taps.lower[i] = lower;
    taps.upper[i] = Math.min(inSize - 1, Math.ceil(source));
    taps.upperWeight[i] = source - lower;
  }
  return taps;
}
