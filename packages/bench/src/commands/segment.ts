/**
 * `segment`: one image through a saved model: its nerve mask and cross-sectional area (mm^2).
 * The in-browser demo computes the same thing, the same way: gray levels (BT.601), bilinear
 * resize to the model's input, threshold 0.5, area = mask pixels x the spacing scaled back to
 * the original image.
 */
import { dirname, extname } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { segmentGrayImage, type ImageSegmentation } from '@sa-unet/unet-zoo';
import { crossSectionalArea, spacingAfterResize, type PixelSize } from '@sa-unet/seg-metrics';
import { selectBackend } from '../backend.js';
import { readGrayImage, type GrayImage } from '../data/decode.js';
import { overlayScale, renderOverlay } from '../report/overlay.js';
import { isFolder, writeFileAtomic } from '../output.js';
import { buildSavedModel, readSavedModel } from './evaluate.js';
import { checkBackend, checkNumber } from './options.js';

/** One image through a saved model, with the mask's area in the original image's mm². */
export interface Segmentation extends ImageSegmentation {
  /** The original image's width. */
  width: number;
  /** The original image's height. */
  height: number;
  /** Cross-sectional area in mm^2, when a pixel size was given. */
  csaMm2: number | null;
}

/** Segments a gray image (unet-zoo's segmentGrayImage) and measures the mask's area in the original's mm^2. */
export async function segmentImage(model: tfl.LayersModel, image: GrayImage, pixelSize?: PixelSize): Promise<Segmentation> {
  const result = await segmentGrayImage(model, image);
  const { size, mask } = result;
  const csaMm2 = pixelSize === undefined ? null : crossSectionalArea({ data: mask, width: size, height: size },
    { spacingMm: spacingAfterResize(pixelSize, image, { width: size, height: size }) });
  return { ...result, width: image.width, height: image.height, csaMm2 };
}

/** Options of {@link runSegment} (`sa-unet-bench segment`). */
export interface SegmentCommandOptions {
  /** Folder of the saved model. */
  model: string;
  /** The image file (PNG or JPEG). */
  image: string;
  /** Dots per inch of the image, for the area (or give `mmPerPixel`). */
  dpi?: number;
  /** mm per pixel of the image, square pixels, for the area (or give `dpi`). */
  mmPerPixel?: number;
  /** Write the model's input with the predicted contour in red to this .png file. */
  overlay?: string;
  /** tfjs backend, one of {@link BACKEND_CHOICES} (default 'auto'). */
  backend?: string;
  /** Print nothing. */
  quiet?: boolean;
}

/** Checks `--overlay` before any work: a .png name in an existing folder. */
async function checkOverlayPath(path: string): Promise<void> {
  if (extname(path).toLowerCase() !== '.png') throw new Error(`--overlay ${path}: the overlay is written as PNG; give a file name ending in .png`);
  const folder = dirname(path);
  if (!(await isFolder(folder))) throw new Error(`--overlay ${path}: folder ${folder} does not exist`);
}

/** Segments one image with a saved model: its mask, and its cross-sectional area when a pixel size is given. */
export async function runSegment(opts: SegmentCommandOptions): Promise<Segmentation> {
  if (opts.dpi !== undefined && opts.mmPerPixel !== undefined) throw new Error('give --dpi or --mm-per-pixel, not both');
  const pixelSize: PixelSize | undefined = opts.dpi !== undefined ? { dpi: checkNumber(opts.dpi, '--dpi', 0) }
    : opts.mmPerPixel !== undefined ? { spacingMm: [checkNumber(opts.mmPerPixel, '--mm-per-pixel', 0), opts.mmPerPixel] } : undefined;
  const choice = checkBackend(opts.backend);
  if (opts.overlay !== undefined) await checkOverlayPath(opts.overlay);
  // The files first (their errors name them), then the backend, which may take seconds to probe.
  const files = await readSavedModel(opts.model);
  const image = await readGrayImage(opts.image);
  await selectBackend(choice);
  const { model } = await buildSavedModel(files);
  const result = await segmentImage(model, image, pixelSize);
  model.dispose();
  if (opts.overlay !== undefined) {
    const { size } = result;
    await writeFileAtomic(opts.overlay, renderOverlay(result.input, new Uint8Array(size * size), result.probabilities, size, overlayScale(size)));
  }
  if (!opts.quiet) {
    process.stdout.write(`${opts.image}: ${image.width}x${image.height}, segmented at ${result.size}x${result.size}: ${result.maskPixels} mask pixels` +
      `${result.csaMm2 === null ? ' (give --dpi or --mm-per-pixel for the area)' : `, cross-sectional area ${result.csaMm2.toFixed(2)} mm²`}\n`);
  }
  return result;
}
