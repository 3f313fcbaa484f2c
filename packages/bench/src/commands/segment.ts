/**
 * `segment`: one image through a saved model: its nerve mask and cross-sectional area (mm^2).
 * The in-browser demo computes the same thing, the same way: gray levels (BT.601), bilinear
 * resize to the model's input, threshold 0.5, area = mask pixels x the spacing scaled back to
 * the original image.
 */
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { averageDeepSupervision } from '@sa-unet/unet-zoo';
import { crossSectionalArea, spacingAfterResize, type PixelSize } from '@sa-unet/seg-metrics';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend.js';
import { readGrayImage, type GrayImage } from '../data/decode.js';
import { resizeBilinear } from '../data/resize.js';
import { overlayScale, renderOverlay } from '../report/overlay.js';
import { loadSavedModel } from './evaluate.js';
import { checkNumber } from './options.js';

export interface Segmentation {
  /** The original image size. */
  width: number;
  height: number;
  /** The model's input side. */
  size: number;
  /** Model-resolution gray levels, probabilities and mask (size x size). */
  image: Float32Array;
  probabilities: Float32Array;
  mask: Uint8Array;
  /** Foreground pixels of the mask. */
  maskPixels: number;
  /** Cross-sectional area in mm^2, when a pixel size was given. */
  csaMm2: number | null;
}

/** Segments a gray image with a model of square input `size`. */
export async function segmentImage(model: tfl.LayersModel, image: GrayImage, size: number, pixelSize?: PixelSize): Promise<Segmentation> {
  const resized = await resizeBilinear(image.data, image.width, image.height, size);
  const net = averageDeepSupervision(model);
  const out = tf.tidy(() => net.predict(tf.tensor4d(resized, [1, size, size, 1])) as tf.Tensor);
  const probabilities = (await out.data()) as Float32Array;
  out.dispose();
  const mask = Uint8Array.from(probabilities, (p) => (p > 0.5 ? 1 : 0));
  const maskPixels = mask.reduce((a, b) => a + b, 0);
  const csaMm2 = pixelSize === undefined ? null : crossSectionalArea({ data: mask, width: size, height: size },
    { spacing: spacingAfterResize(pixelSize, image, { width: size, height: size }) });
  return { width: image.width, height: image.height, size, image: resized, probabilities, mask, maskPixels, csaMm2 };
}

export interface SegmentCommandOptions {
  model: string;
  image: string;
  dpi?: number;
  mmPerPixel?: number;
  overlay?: string;
  backend?: string;
  quiet?: boolean;
}

export async function runSegment(opts: SegmentCommandOptions): Promise<Segmentation> {
  if (opts.dpi !== undefined && opts.mmPerPixel !== undefined) throw new Error('give --dpi or --mm-per-pixel, not both');
  const pixelSize: PixelSize | undefined = opts.dpi !== undefined ? { dpi: checkNumber(opts.dpi, '--dpi', 0) }
    : opts.mmPerPixel !== undefined ? { spacing: [checkNumber(opts.mmPerPixel, '--mm-per-pixel', 0), opts.mmPerPixel] } : undefined;
  const choice = (opts.backend ?? 'auto') as BackendChoice;
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(opts.backend)}`);
  await selectBackend(choice);
  const { model, size } = await loadSavedModel(opts.model);
  const image = await readGrayImage(opts.image);
  const result = await segmentImage(model, image, size, pixelSize);
  model.dispose();
  if (opts.overlay !== undefined) {
    const noTruth = new Uint8Array(size * size);
    await writeFile(opts.overlay, renderOverlay(result.image, noTruth, result.probabilities, size, overlayScale(size)));
  }
  if (!opts.quiet) {
    process.stdout.write(`${opts.image}: ${image.width}x${image.height}, segmented at ${size}x${size}: ${result.maskPixels} mask pixels` +
      `${result.csaMm2 === null ? ' (give --dpi or --mm-per-pixel for the area)' : `, cross-sectional area ${result.csaMm2.toFixed(2)} mm²`}\n`);
  }
  return result;
}
