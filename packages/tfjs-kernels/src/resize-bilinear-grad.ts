/**
 * ResizeBilinearGrad for the cpu and wasm backends: with halfPixelCenters, the exact transpose of
 * the forward kernels' formula; without it, the stock kernel (on cpu with its shape corrected).
 *
 * tfjs 4.22's stock kernels (cpu, wasm and webgpu) all ignore halfPixelCenters: they send each
 * output pixel's gradient to the input pixels a resize without half-pixel centres would have read,
 * so a model that resizes with `tf.image.resizeBilinear(x, size, false, true)` (TensorFlow 2's
 * `tf.image.resize` convention) trained on misplaced gradients. The stock cpu kernel also labels
 * its result [batch, width, height, channels], which tfjs-core rejects for non-square images (an
 * Attention U-Net, whose gates upsample bilinearly, could not train on them on cpu). Where the
 * stock values are right they are kept, so that training runs stay bit for bit what they were.
 */
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';
import { requireStockKernel } from './registry-state.js';
import { bilinearTaps, resizeAttrs } from './resize-geometry.js';

/** dx of images' shape from dy by the forward formula's weights, on the CPU (linear in dy's size). */
function exactGradient(backend: KernelBackend, images: TensorInfo, dy: TensorInfo, alignCorners: boolean, halfPixelCenters: boolean): TensorInfo {
  const [batch, inHeight, inWidth, channels] = images.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const rows = bilinearTaps(inHeight, outHeight, alignCorners, halfPixelCenters);
  const cols = bilinearTaps(inWidth, outWidth, alignCorners, halfPixelCenters);
  const dx = new Float32Array(batch * inHeight * inWidth * channels);
  let at = 0; // dy is read in order: batch, row, column, channel
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outHeight; y++) {
      const top = (b * inHeight + rows.lower[y]!) * inWidth;
      const bottom = (b * inHeight + rows.upper[y]!) * inWidth;
      const down = rows.upperWeight[y]!;
      for (let x = 0; x < outWidth; x++) {
        const left = cols.lower[x]!;
        const right = cols.upper[x]!;
        const across = cols.upperWeight[x]!;
        // The forward value is top + (bottom - top) * down with top = TL + (TR - TL) * across:
        // each corner's weight is the product of its row and column weights.
        const wTopLeft = (1 - down) * (1 - across);
        const wTopRight = (1 - down) * across;
        const wBottomLeft = down * (1 - across);
        const wBottomRight = down * across;
        const topLeft = (top + left) * channels;
        const topRight = (top + right) * channels;
        const bottomLeft = (bottom + left) * channels;
        const bottomRight = (bottom + right) * channels;
        for (let c = 0; c < channels; c++) {
          const g = dyValues[at++]!;
          dx[topLeft + c] += g * wTopLeft;
          dx[topRight + c] += g * wTopRight;
          dx[bottomLeft + c] += g * wBottomLeft;
          dx[bottomRight + c] += g * wBottomRight;
        }
      }
    }
  }
  return float32Output(backend, dx, images.shape);
}

/** Our ResizeBilinearGrad kernel for cpu or wasm. */
export function resizeBilinearGradKernel(backendName: string): KernelFunc {
  return ((args: KernelArgs) => {
    const { images, dy } = args.inputs as Record<string, TensorInfo>;
    if (images === undefined || dy === undefined) throw new Error('ResizeBilinearGrad: expected inputs images and dy');
    const { alignCorners, halfPixelCenters } = resizeAttrs(args.attrs);
    if (halfPixelCenters) return exactGradient(args.backend as KernelBackend, images, dy, alignCorners, halfPixelCenters);
    const out = requireStockKernel('ResizeBilinearGrad', backendName).kernelFunc(args as never) as TensorInfo;
    return { ...out, shape: [...images.shape] };
  }) as KernelFunc;
}
