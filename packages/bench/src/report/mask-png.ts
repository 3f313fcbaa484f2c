/**
 * A predicted mask as a PNG of the segmented image's own size: 8-bit gray, 0 background and 255
 * foreground, the format the bench's dataset loader reads as a mask, so that a folder of them and
 * the images form a dataset (`evaluate`, `compare --test-data`).
 */
import { encode } from 'fast-png';
import { resizeToImage } from '../data/resize.js';

/** The model's size x size probabilities resized to the image (bilinear), then > 0.5, as PNG bytes. */
export async function maskPng(probabilities: Float32Array, size: number, width: number, height: number): Promise<Uint8Array> {
  const atImage = await resizeToImage(probabilities, size, width, height);
  const data = Uint8Array.from(atImage, (p) => (p > 0.5 ? 255 : 0));
  return encode({ width, height, data, channels: 1, depth: 8 });
}
