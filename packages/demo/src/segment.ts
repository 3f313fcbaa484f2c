/**
 * The demo's pipeline, the same as `sa-unet-bench segment`: gray levels (BT.601), bilinear resize
 * to the model's input, threshold 0.5, nerve area = mask pixels x the spacing scaled back to the
 * original image. Pure functions of tensors and arrays, so tests run them in Node too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { boundaryOf, crossSectionalArea, spacingAfterResize, type PixelSize } from '@sa-unet/seg-metrics';

/** Gray levels in [0, 1] of RGBA pixels (BT.601 luma, as the bench reads RGB images). */
export function rgbaToGray(rgba: ArrayLike<number>, width: number, height: number): Float32Array {
  const gray = new Float32Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
  return gray;
}

export interface NerveSegmentation {
  /** Side of the model's square input. */
  size: number;
  /** The input as the model saw it, gray in [0, 1] (size x size). */
  input: Float32Array;
  /** Nerve probability per pixel (size x size). */
  probabilities: Float32Array;
  /** 1 where probability > 0.5. */
  mask: Uint8Array;
  /** 1 on the mask's boundary (4-neighbourhood). */
  contour: Uint8Array;
  maskPixels: number;
  /** Milliseconds of the model's forward pass, output read back. */
  inferenceMs: number;
}

/** The model's square input side; throws unless it takes [null, n, n, 1] images. */
export function inputSize(model: tfl.LayersModel): number {
  const [, h, w, c] = model.inputs[0].shape;
  if (h === null || h !== w || c !== 1) throw new Error(`the model takes [${model.inputs[0].shape.join(', ')}]; the demo needs [null, n, n, 1]`);
  return h;
}

/** Segments a gray image of any size with the model. */
export async function segmentGray(model: tfl.LayersModel, gray: Float32Array, width: number, height: number): Promise<NerveSegmentation> {
  const size = inputSize(model);
  const x = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(gray, [1, height, width, 1]), [size, size], false, true));
  const input = (await x.data()) as Float32Array;
  const t0 = performance.now();
  const y = model.predict(x) as tf.Tensor;
  const probabilities = (await y.data()) as Float32Array;
  const inferenceMs = performance.now() - t0;
  tf.dispose([x, y]);
  const mask = Uint8Array.from(probabilities, (p) => (p > 0.5 ? 1 : 0));
  const contour = boundaryOf({ data: mask, width: size, height: size });
  return { size, input, probabilities, mask, contour, maskPixels: mask.reduce((a, b) => a + b, 0), inferenceMs };
}

/** The nerve's cross-sectional area in mm^2, for an image of the given original size and pixel size. */
export function nerveArea(result: NerveSegmentation, original: { width: number; height: number }, pixelSize: PixelSize): number {
  const spacing = spacingAfterResize(pixelSize, original, { width: result.size, height: result.size });
  return crossSectionalArea({ data: result.mask, width: result.size, height: result.size }, { spacing });
}

/** The paper's two ultrasound machines, as pixel-size presets. */
export const MACHINE_PRESETS = [
  { id: 'hm70a', label: 'Samsung HM70A (150 DPI)', size: { dpi: 150 } as PixelSize },
  { id: 'minisono', label: 'Alpinion miniSONO (96 DPI)', size: { dpi: 96 } as PixelSize },
] as const;

/** Largest image the page accepts (pixels per side, bytes). */
export const MAX_SIDE = 8192;
export const MAX_BYTES = 50 * 2 ** 20;

/** Why a file cannot be segmented, or null if it can be tried. */
export function checkFile(file: { name: string; type: string; size: number }): string | null {
  if (!/^image\/(png|jpeg)$/.test(file.type) && !/\.(png|jpe?g)$/i.test(file.name)) {
    return `${file.name} is not a PNG or JPEG image`;
  }
  if (file.size > MAX_BYTES) return `${file.name} is ${(file.size / 2 ** 20).toFixed(0)} MB; the demo takes images up to ${MAX_BYTES / 2 ** 20} MB`;
  return null;
}
