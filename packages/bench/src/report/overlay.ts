/**
 * Overlay figures (as the paper's Fig. 4): the image in gray, the ground-truth contour in green and
 * the predicted contour in red (yellow where they coincide), enlarged for viewing.
 */
import { encode } from 'fast-png';
import { boundaryOf } from '@sa-unet/seg-metrics';

/** RGB PNG bytes of the overlay; `scale` enlarges each pixel (nearest neighbour). */
export function renderOverlay(image: Float32Array, truth: Uint8Array, prediction: Float32Array, size: number, scale = 1): Uint8Array {
  const predMask = Uint8Array.from(prediction, (p) => (p > 0.5 ? 1 : 0));
  const truthEdge = boundaryOf({ data: truth, width: size, height: size });
  const predEdge = boundaryOf({ data: predMask, width: size, height: size });
  const side = size * scale;
  const rgb = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = Math.floor(y / scale) * size + Math.floor(x / scale);
      const gray = Math.round(Math.min(1, Math.max(0, image[i])) * 255);
      let color = [gray, gray, gray];
      if (truthEdge[i] && predEdge[i]) color = [255, 255, 0];
      else if (truthEdge[i]) color = [0, 255, 0];
      else if (predEdge[i]) color = [255, 0, 0];
      rgb.set(color, (y * side + x) * 3);
    }
  }
  return encode({ width: side, height: side, data: rgb, channels: 3, depth: 8 });
}

/** The enlargement that makes an overlay at least 256 pixels wide. */
export function overlayScale(size: number): number {
  return Math.max(1, Math.ceil(256 / size));
}
