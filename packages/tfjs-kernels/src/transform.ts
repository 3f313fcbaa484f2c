/**
 * tf.image.transform (projective warps: the shear, rotation and affine augmentation of image and
 * mask batches) where the stock kernels are wrong: for batches of more than one image (cpu,
 * webgpu) and in 'reflect' fill mode (wasm).
 *
 * tfjs-backend-cpu 4.22 returns from inside its loop over the batch, after the first image: every
 * later image of the batch came out as the fill value (zeros), image and mask alike, so a training
 * batch of 4 augmented on cpu was one sheared pair and three blank ones. Ours runs the stock
 * kernel on one image at a time and concatenates. The webgpu kernel reads transform row b for
 * image b even when one row is given for the whole batch (which tf.image.transform allows), so
 * images after the first were sampled with a zero transform; ours repeats the row for every image
 * first. wasm's maps coordinates below 0 wrongly in 'reflect' fill mode (a shift left by 1.5 pixels
 * sampled the far edge of the image); ours computes that mode in JS, with TensorFlow's definitions.
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel, float32Output, type KernelArgs } from './kernel-ops.js';
import { requireStockKernel } from './registry-state.js';

/** Our Transform for cpu (image by image), webgpu (one transform row per image) or wasm ('reflect' in JS). */
export function transformKernel(backendName: string): KernelFunc {
  if (backendName === 'wasm') return wasmTransform;
  return compositeKernel(backendName, (ops, inputs, attrs) => {
    const { image, transforms } = inputs as Record<string, TensorInfo>;
    const [batch, height, width, channels] = image!.shape as [number, number, number, number];
    const shared = transforms!.shape[0] === 1;
    if (batch <= 1 || (backendName === 'webgpu' && !shared)) return ops.runStock('Transform', { image: image!, transforms: transforms! }, attrs);
    if (backendName === 'webgpu') {
      return ops.runStock('Transform', { image: image!, transforms: ops.run('Tile', { x: transforms! }, { reps: [batch, 1] }) }, attrs);
    }
    const warped = Array.from({ length: batch }, (_, b) => ops.runStock('Transform', {
      image: ops.slice(image!, [b, 0, 0, 0], [1, height, width, channels]),
      transforms: ops.slice(transforms!, [shared ? 0 : b, 0], [1, 8]),
    }, attrs));
    return ops.concat(warped, 0);
  }) as KernelFunc;
}

/** wasm: 'reflect' fill in JS, every other mode by the stock kernel. */
const wasmTransform = ((args: KernelArgs) => {
  const attrs = args.attrs as unknown as WarpAttrs;
  const { image } = args.inputs as Record<string, TensorInfo>;
  if (attrs.fillMode === 'reflect' && image!.dtype === 'float32') return reflectWarp(args, attrs);
  return requireStockKernel('Transform', 'wasm').kernelFunc(args as never);
}) as KernelFunc;

interface WarpAttrs {
  interpolation: 'nearest' | 'bilinear';
  fillMode: 'constant' | 'reflect' | 'wrap' | 'nearest';
  fillValue: number;
  outputShape?: [number, number] | null;
}

/**
 * TensorFlow's 'reflect' fill: the image mirrored about its edges, [dcba|abcd|dcba] (coordinate -1
 * reads 0, -1.5 reads 0.5, len reads len - 1), clamped into the image for rounding.
 */
function reflect(c: number, len: number): number {
  if (c >= 0 && c <= len - 1) return c;
  if (len <= 1) return 0;
  const period = 2 * len;
  const m = ((c % period) + period) % period;
  return util.clamp(0, m < len ? m : period - 1 - m, len - 1);
}

/** tf.image.transform with fillMode 'reflect', computed in JS (wasm's kernel maps coordinates below 0 wrongly). */
function reflectWarp({ inputs, backend }: KernelArgs, attrs: WarpAttrs): TensorInfo {
  const { image, transforms } = inputs as Record<string, TensorInfo>;
  const b = backend as KernelBackend;
  const [batch, height, width, channels] = image!.shape as [number, number, number, number];
  const [outHeight, outWidth] = attrs.outputShape ?? [height, width];
  const pixels = b.readSync(image!.dataId) as Float32Array;
  const rows = b.readSync(transforms!.dataId) as Float32Array;
  const out = new Float32Array(batch * outHeight * outWidth * channels).fill(attrs.fillValue);
  const read = (n: number, y: number, x: number, c: number) =>
    (y >= 0 && y < height && x >= 0 && x < width ? pixels[((n * height + y) * width + x) * channels + c]! : attrs.fillValue);
  const rowStride = transforms!.shape[0] === 1 ? 0 : 8; // one row of 8 values for all images, or one per image
  for (let n = 0; n < batch; n++) {
    const t = rows.subarray(n * rowStride, n * rowStride + 8);
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const k = t[6]! * ox + t[7]! * oy + 1;
        if (k === 0) continue; // a point at infinity: the fill value
        const x = reflect((t[0]! * ox + t[1]! * oy + t[2]!) / k, width);
        const y = reflect((t[3]! * ox + t[4]! * oy + t[5]!) / k, height);
        const o = ((n * outHeight + oy) * outWidth + ox) * channels;
        if (attrs.interpolation === 'nearest') {
          const [yn, xn] = [Math.round(y), Math.round(x)];
          for (let c = 0; c < channels; c++) out[o + c] = read(n, yn, xn, c);
          continue;
        }
        const [y0, x0] = [Math.floor(y), Math.floor(x)];
        for (let c = 0; c < channels; c++) {
          const top = (x0 + 1 - x) * read(n, y0, x0, c) + (x - x0) * read(n, y0, x0 + 1, c);
          const bottom = (x0 + 1 - x) * read(n, y0 + 1, x0, c) + (x - x0) * read(n, y0 + 1, x0 + 1, c);
          out[o + c] = (y0 + 1 - y) * top + (y - y0) * bottom;
        }
      }
    }
  }
  return float32Output(b, out, [batch, outHeight, outWidth, channels]);
}
