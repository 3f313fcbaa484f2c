/**
 * A predicted mask as a PNG of the segmented image's own size: 8-bit gray, 0 background and 255
 * foreground, the format the bench's dataset loader reads as a mask, so that a folder of them and
 * the images form a dataset (`evaluate`, `compare --data`).
 */
import { encode } from 'fast-png';
import { maskAtImageSize, type ImageSegmentation } from '@sa-unet/unet-zoo';

/** unet-zoo's maskAtImageSize of a segmentation (probabilities resized to the image, > 0.5), as PNG bytes. */
export async function maskPng(segmentation: Pick<ImageSegmentation, 'probabilities' | 'size'>, width: number, height: number): Promise<Uint8Array> {
  const mask = await maskAtImageSize(segmentation, width, height);
  return encode({ width, height, data: mask.map((m) => m * 255), channels: 1, depth: 8 });
}
