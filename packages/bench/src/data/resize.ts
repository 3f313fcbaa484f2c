/** Resizing with tfjs ops on the active backend: bilinear for images, nearest neighbour for masks. */
import * as tf from '@tensorflow/tfjs-core';
import { resizeGrayImage } from '@sa-unet/unet-zoo';

/** Resizes a gray image to size x size as unet-zoo's segmentGrayImage does (bilinear, half-pixel centres). */
export async function resizeBilinear(data: Float32Array, width: number, height: number, size: number): Promise<Float32Array> {
  if (width === size && height === size) return data;
  const out = resizeGrayImage({ data, width, height }, size);
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

/** Resizes a binary mask to size x size (nearest neighbour, half-pixel centres): values stay 0 or 1. */
export async function resizeNearest(data: Uint8Array, width: number, height: number, size: number): Promise<Uint8Array> {
  if (width === size && height === size) return data;
  const out = tf.tidy(() =>
    tf.image.resizeNearestNeighbor(tf.tensor3d(Float32Array.from(data), [height, width, 1]), [size, size], false, true));
  const values = await out.data();
  out.dispose();
  return Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0));
}
