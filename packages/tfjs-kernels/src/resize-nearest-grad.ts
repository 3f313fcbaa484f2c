/**
 * ResizeNearestNeighborGrad for the cpu and wasm backends: each output pixel's gradient added to
 * the input pixel the forward pass copied it from, found with the forward kernel's own formula.
 *
 * The stock kernels search a window of dy around each input pixel instead, and get it wrong:
 * tfjs-backend-cpu 4.22 reads the dy of image 0 at the offsets of image b (it steps through dy with
 * the input's batch stride), so with a batch of two or more every image after the first got
 * another image's gradient: training a U-Net whose decoder upsamples by nearest neighbour (every
 * network of the zoo) on cpu followed wrong gradients. It also ignores halfPixelCenters, and with
 * alignCorners and an input axis of size 1 it never returns (an infinite window); the wasm kernel
 * returns zeros there. This one is exact in every case and linear in the size of dy.
 */
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';
import { nearestSourceIndices, resizeAttrs } from './resize-geometry.js';
import type { WasmBackendInternals } from './wasm/backend-internals.js';

/** Our ResizeNearestNeighborGrad kernel for `backendName` (cpu or wasm): dx of images' shape from dy. */
export function resizeNearestNeighborGradKernel(backendName: string): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { images, dy } = inputs as Record<string, TensorInfo>;
    if (images === undefined || dy === undefined) throw new Error('ResizeNearestNeighborGrad: expected inputs images and dy');
    const { alignCorners, halfPixelCenters } = resizeAttrs(attrs);
    const [batch, inHeight, inWidth, channels] = images.shape as [number, number, number, number];
    const rows = nearestSourceIndices(inHeight, dy.shape[1]!, alignCorners, halfPixelCenters);
    const cols = nearestSourceIndices(inWidth, dy.shape[2]!, alignCorners, halfPixelCenters);
    if (backendName === 'wasm' && dy.dtype === 'float32') {
      // dy read, and dx written, where they lie in the heap: no copy either way.
      const wasm = backend as WasmBackendInternals;
      const out = wasm.makeOutput([...images.shape], 'float32');
      const dx = (wasm.typedArrayFromHeap(out) as Float32Array).fill(0);
      addIntoSources(wasm.typedArrayFromHeap(dy) as Float32Array, dx, rows, cols, batch, inHeight, inWidth, channels);
      return out;
    }
    const kernelBackend = backend as KernelBackend;
    const dx = new Float32Array(batch * inHeight * inWidth * channels);
    addIntoSources(kernelBackend.readSync(dy.dataId) as Float32Array, dx, rows, cols, batch, inHeight, inWidth, channels);
    return float32Output(kernelBackend, dx, images.shape);
  }) as KernelFunc;
}

/** dx[b, rows[y], cols[x], c] += dy[b, y, x, c], dy read in order (batch, row, column, channel), each sum rounded to float32. */
function addIntoSources(dy: Float32Array, dx: Float32Array, rows: Int32Array, cols: Int32Array, batch: number, inHeight: number, inWidth: number, channels: number): void {
  const [outHeight, outWidth] = [rows.length, cols.length];
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outHeight; y++) {
      const rowStart = (b * inHeight + rows[y]!) * inWidth;
      for (let x = 0; x < outWidth; x++) {
        const start = (rowStart + cols[x]!) * channels;
        for (let c = 0; c < channels; c++) dx[start + c] += dy[at++]!;
      }
    }
  }
}
