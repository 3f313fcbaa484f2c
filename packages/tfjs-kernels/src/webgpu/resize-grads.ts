/**
 * ResizeBilinearGrad and ResizeNearestNeighborGrad for webgpu where the stock kernels are wrong:
 * with halfPixelCenters (the bilinear one ignores it and places the gradient as if the resize had
 * no half-pixel centres; the nearest one misplaces part of it), and with alignCorners on an input
 * axis of size 1 (their search windows are then infinite: the bilinear one returns zeros); and for
 * empty tensors, which WebGPU cannot bind. Elsewhere, the stock kernels.
 *
 * A resize is separable: out[b] = Rh . x[b] . Rw^T, with Rh [outHeight, inHeight] and Rw
 * [outWidth, inWidth] holding each output index's interpolation weights (two for bilinear, one 1
 * for nearest). Its gradient is then dx[b] = Rh^T . dy[b] . Rw: two batched matrix products with
 * small constant matrices, which a GPU does quickly for the sizes decoders upsample to. The
 * matrices are dense, so the work grows with the size: a 2x upsampling of n x n images costs 6n
 * multiply-adds per input value where a direct scatter needs 16 (24x as many at n = 64); a
 * windowed program would scale better for large images.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, zerosIfEmpty, type KernelArgs, type KernelOps } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import { bilinearTaps, nearestSourceIndices, resizeAttrs, type ResizeFlags } from '../resize-geometry.js';
import type { WebGPUBackendInternals } from './backend-internals.js';
import { gridStride, gridStrideProgram } from './grid.js';
import { withShape } from './kernel-io.js';

type ResizeGradKernel = 'ResizeBilinearGrad' | 'ResizeNearestNeighborGrad';

/** [inSize, outSize]: column i holds output index i's weights on the input indices (R transposed). */
function transposedInterpolation(kernel: ResizeGradKernel, inSize: number, outSize: number, { alignCorners, halfPixelCenters }: ResizeFlags): Float32Array {
  const m = new Float32Array(inSize * outSize);
  if (kernel === 'ResizeNearestNeighborGrad') {
    nearestSourceIndices(inSize, outSize, alignCorners, halfPixelCenters).forEach((source, i) => (m[source * outSize + i] = 1));
    return m;
  }
  const taps = bilinearTaps(inSize, outSize, alignCorners, halfPixelCenters);
  for (let i = 0; i < outSize; i++) {
    m[taps.lower[i]! * outSize + i] += 1 - taps.upperWeight[i]!;
    m[taps.upper[i]! * outSize + i] += taps.upperWeight[i]!;
  }
  return m;
}

function gradientByMatrices(ops: KernelOps, kernel: ResizeGradKernel, images: TensorInfo, dy: TensorInfo, flags: ResizeFlags): TensorInfo {
  const [batch, inHeight, inWidth, channels] = images.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const empty = zerosIfEmpty(ops, [images, dy], [...images.shape]);
  if (empty !== null) return empty;
  const rowsT = ops.constant(transposedInterpolation(kernel, inHeight, outHeight, flags), [1, inHeight, outHeight]);
  const colsT = ops.constant(transposedInterpolation(kernel, inWidth, outWidth, flags), [1, inWidth, outWidth]);
  // Rows: [1, inHeight, outHeight] x [batch, outHeight, outWidth * channels].
  const byRows = ops.matMul(rowsT, ops.reshape(dy, [batch, outHeight, outWidth * channels]));
  // Columns: [1, inWidth, outWidth] x [batch * inHeight, outWidth, channels].
  const byCols = ops.matMul(colsT, ops.reshape(byRows, [batch * inHeight, outWidth, channels]));
  return ops.reshape(byCols, [...images.shape]);
}

/** Whether the stock kernels compute this gradient right (see the top of this file). */
function stockIsRight(images: TensorInfo, dy: TensorInfo, { alignCorners, halfPixelCenters }: ResizeFlags): boolean {
  const [, inHeight, inWidth] = images.shape;
  const [, outHeight, outWidth] = dy.shape;
  const alignedOnSizeOne = alignCorners && ((inHeight === 1 && outHeight! > 1) || (inWidth === 1 && outWidth! > 1));
  return !halfPixelCenters && !alignedOnSizeOne && !images.shape.includes(0) && !dy.shape.includes(0);
}

/**
 * The factors [fh, fw] of a nearest-neighbour resize of non-empty tensors (as the stock kernel is
 * left for) whose output pixel (i, j) copies input pixel (floor(i / fh), floor(j / fw)), as
 * tf.layers.upSampling2d's does (no aligned corners, no half-pixel centres, each output side a
 * power-of-two multiple of the input's: then the forward kernels' float32 ratio in / out is exact,
 * so they copy those pixels too); else null.
 */
function nearestBlockFactors(images: TensorInfo, dy: TensorInfo, { alignCorners, halfPixelCenters }: ResizeFlags): [number, number] | null {
  if (alignCorners || halfPixelCenters) return null;
  // floor(i * in / out) = floor(i / f) exactly where f = out / in is a power of two.
  const factor = (inSize: number, outSize: number): number | null => {
    const f = outSize / inSize;
    return Number.isInteger(f) && (f & (f - 1)) === 0 ? f : null;
  };
  const rows = factor(images.shape[1]!, dy.shape[1]!);
  const cols = factor(images.shape[2]!, dy.shape[2]!);
  return rows === null || cols === null ? null : [rows, cols];
}

/**
 * dx of a nearest-neighbour resize by integer factors: each input pixel's gradient is the sum of
 * its fh x fw block of dy, added in the stock kernel's order (rows, then columns, from 0), so the
 * values are the stock kernel's bit for bit. The stock program searches a window of dy around every
 * input pixel (36 positions for a 2x upsampling, with float divisions at each) for the ones that
 * copied it; here fh * fw loads (4), the factors in the shader. Output: images' shape, flat.
 */
function nearestBlockGradProgram(size: number, [fh, fw]: [number, number]) {
  return gridStrideProgram(`saunet_nearestBlockGrad_${fh}x${fw}`, ['dy'], size, `
          let c = i % uniforms.channels;
          let pixel = i / uniforms.channels;
          let col = pixel % uniforms.inWidth;
          let row = (pixel / uniforms.inWidth) % uniforms.inHeight;
          let b = pixel / (uniforms.inWidth * uniforms.inHeight);
          let outWidth = uniforms.inWidth * ${fw};
          var total = 0.0;
          for (var r = 0; r < ${fh}; r++) {
            let dyRow = (b * uniforms.inHeight + row) * ${fh} + r;
            for (var q = 0; q < ${fw}; q++) {
              total += dy[(dyRow * outWidth + col * ${fw} + q) * uniforms.channels + c];
            }
          }
          result[i] = total;`, 'inHeight : i32, inWidth : i32, channels : i32,');
}

/**
 * Our webgpu `kernel`: two matrix products where the stock kernel is wrong; for a nearest-neighbour
 * resize by integer factors (the zoo's decoders' upsampling), a block sum per input pixel; else the
 * stock kernel.
 */
export function webgpuResizeGrad(kernel: ResizeGradKernel): KernelFunc {
  return ((args: KernelArgs) => {
    const { images, dy } = args.inputs as Record<string, TensorInfo>;
    if (images === undefined || dy === undefined) throw new Error(`${kernel}: expected inputs images and dy`);
    const flags = resizeAttrs(args.attrs);
    if (!stockIsRight(images, dy, flags)) return compositeKernel('webgpu', (ops) => gradientByMatrices(ops, kernel, images, dy, flags))(args);
    const factors = kernel === 'ResizeNearestNeighborGrad' && dy.dtype === 'float32' ? nearestBlockFactors(images, dy, flags) : null;
    if (factors !== null) {
      const size = images.shape.reduce((a, b) => a * b, 1);
      const [, inHeight, inWidth, channels] = images.shape as [number, number, number, number];
      const uniforms = [...gridStride(size).uniforms, ...[inHeight, inWidth, channels].map((v) => ({ type: 'int32' as const, data: [v] }))];
      const flat = (args.backend as WebGPUBackendInternals).runWebGPUProgram(nearestBlockGradProgram(size, factors), [dy], 'float32', uniforms);
      return withShape(flat, images.shape);
    }
    return requireStockKernel(kernel, 'webgpu').kernelFunc(args as never);
  }) as KernelFunc;
}
