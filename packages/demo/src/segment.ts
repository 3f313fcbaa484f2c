/**
 * The demo's pipeline, the same as `sa-unet-bench segment`: gray levels (BT.601), then
 * `segmentGrayImage` of @sa-unet/unet-zoo (bilinear resize to the model's input, threshold 0.5),
 * nerve area = mask pixels x the spacing scaled back to the original image. Pure functions, so
 * tests run them in Node too.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { maskAtImageSize, modelInputSize, segmentGrayImage, type ImageSegmentation, type SegmentGrayImageOptions } from '@sa-unet/unet-zoo';
import { boundaryOf, crossSectionalArea, spacingAfterResize, type PixelSize } from '@sa-unet/seg-metrics';

/** Gray levels in [0, 1] of RGBA pixels (BT.601 luma, as the bench reads RGB images). */
export function rgbaToGray(rgba: ArrayLike<number>, width: number, height: number): Float32Array {
  const gray = new Float32Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
  return gray;
}

export interface NerveSegmentation extends ImageSegmentation {
  /** 1 on the mask's boundary (4-neighbourhood). */
  contour: Uint8Array;
}

/**
 * Segments a gray image of any size with the model (unet-zoo's segmentGrayImage, as the bench does)
 * and traces the contour; `predict` runs the model (default its own predict).
 */
export async function segmentGray(model: tfl.LayersModel, gray: Float32Array, width: number, height: number,
  predict?: SegmentGrayImageOptions['predict']): Promise<NerveSegmentation> {
  const result = await segmentGrayImage(model, { data: gray, width, height }, { predict });
  return { ...result, contour: boundaryOf({ data: result.mask, width: result.size, height: result.size }) };
}

/**
 * Runs the model once, through {@link segmentGray}, on a blank image twice its input's side (so the
 * resize runs as for a real image), and resolves to the milliseconds it took (with `predict`, runs
 * it a second time, untimed). The first run on
 * WebGL or WebGPU compiles the backend's programs, which takes several times a later run (on
 * SwiftShader's WebGL: 5.2 s, then 0.9 s per image): the page does it while loading, so the first
 * image is as fast as the next and its inference time is a steady one.
 */
export async function warmUp(model: tfl.LayersModel, predict?: SegmentGrayImageOptions['predict']): Promise<number> {
  const side = 2 * modelInputSize(model);
  const blank = new Float32Array(side * side);
  const t0 = performance.now();
  await segmentGray(model, blank, side, side, predict);
  const firstMs = performance.now() - t0;
  // A replayed predict (replayPredict) records its GPU commands at its second call: that too before the first image.
  if (predict !== undefined) await segmentGray(model, blank, side, side, predict);
  return firstMs;
}

/** The nerve's cross-sectional area in mm^2, for an image of the given original size and pixel size. */
export function nerveArea(result: NerveSegmentation, original: { width: number; height: number }, pixelSize: PixelSize): number {
  const spacingMm = spacingAfterResize(pixelSize, original, { width: result.size, height: result.size });
  return crossSectionalArea({ data: result.mask, width: result.size, height: result.size }, { spacingMm });
}

/**
 * The mask at the image's own size as RGBA pixels for a canvas (white nerve, black background,
 * opaque), the mask `sa-unet-bench segment --masks` writes: unet-zoo's maskAtImageSize.
 */
export async function maskRgba(result: NerveSegmentation, width: number, height: number): Promise<Uint8ClampedArray<ArrayBuffer>> {
  const mask = await maskAtImageSize(result, width, height);
  const rgba = new Uint8ClampedArray(4 * mask.length);
  rgba.fill(255); // opaque, white; then the background black
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) rgba.fill(0, 4 * i, 4 * i + 3);
  return rgba;
}

/** The downloaded mask's file name: the image's without its extension, then -mask.png. */
export function maskFileName(imageName: string): string {
  return `${imageName.replace(/\.[^.]*$/, '')}-mask.png`;
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
