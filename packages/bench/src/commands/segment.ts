/**
 * `segment`: an image, or a folder of them, through a saved model: the nerve mask and its
 * cross-sectional area (mm^2), on the terminal and optionally as CSV (one row per image) and as
 * mask files. The in-browser demo computes the same thing, the same way: gray levels (BT.601),
 * bilinear resize to the model's input, threshold 0.5, area = mask pixels x the spacing scaled back
 * to the original image.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, parse } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { segmentGrayImage, type ImageSegmentation } from '@sa-unet/unet-zoo';
import type { PixelSize } from '@sa-unet/seg-metrics';
import { areaAtModelSize } from '../eval/areas.js';
import { readGrayImage, type GrayImage } from '../data/decode.js';
import { overlayScale, renderOverlay } from '../report/overlay.js';
import { maskPng } from '../report/mask-png.js';
import { exists, isFolder, writeFileAtomic, writeResultFolder } from '../output.js';
import { isImageFileName, listImages } from '../data/dataset.js';
import { csvText } from '../report/csv.js';
import { progressBar } from '../progress.js';
import { readSavedModel, withSavedModel } from './saved-model.js';
import { checkBackend, checkPixelSize } from './options.js';

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
  const csaMm2 = pixelSize === undefined ? null : areaAtModelSize(result.mask, result.size, image, pixelSize);
  return { ...result, width: image.width, height: image.height, csaMm2 };
}

/** Options of {@link runSegment} and {@link runSegmentImages} (`sa-unet-bench segment`). */
export interface SegmentCommandOptions {
  /** Folder of the saved model. */
  model: string;
  /** The image file (PNG or JPEG), for {@link runSegment}. */
  image?: string;
  /** A folder of PNG and JPEG images (or a dataset folder: its images/), for {@link runSegmentImages}. */
  images?: string;
  /** Write one row per image (file, sizes, mask pixels, area) to this .csv file. */
  csv?: string;
  /** Dots per inch of the image, for the area (or give `mmPerPixel`). */
  dpi?: number;
  /** mm per pixel of the image, square pixels, for the area (or give `dpi`). */
  mmPerPixel?: number;
  /** Write the model's input with the predicted contour in red to this .png file (one image only). */
  overlay?: string;
  /**
   * A new folder for the predicted masks: one PNG per image, named after it (`a.jpg` -> `a.png`),
   * of the image's own size, 0 background and 255 nerve (the model's probabilities resized to the
   * image, bilinear, then > 0.5). Written only once every image is segmented. Beside the images,
   * they form a dataset folder's masks/ for `evaluate`.
   */
  masks?: string;
  /** tfjs backend, one of {@link BACKEND_CHOICES} (default 'auto'). */
  backend?: string;
  /** Print nothing. */
  quiet?: boolean;
}

/** One image's row of {@link runSegmentImages}: a {@link Segmentation} without its per-pixel arrays. */
export interface SegmentedImage extends Omit<Segmentation, 'input' | 'probabilities' | 'mask'> {
  /** The image file's name. */
  file: string;
}

/** Checks that `path` names a file of extension `ext` in an existing folder, before any work. */
async function checkOutputFile(path: string, flag: string, ext: '.png' | '.csv', what: string): Promise<void> {
  if (extname(path).toLowerCase() !== ext) throw new Error(`${flag} ${path}: ${what}; give a file name ending in ${ext}`);
  const folder = dirname(path);
  if (!(await isFolder(folder))) throw new Error(`${flag} ${path}: folder ${folder} does not exist`);
}

/** Checks every option that needs no file read, then the output paths. */
async function checkSegmentOptions(opts: SegmentCommandOptions): Promise<{ pixelSize: PixelSize | undefined; choice: ReturnType<typeof checkBackend> }> {
  if (opts.image !== undefined && opts.images !== undefined) throw new Error('give --image or --images, not both');
  const pixelSize = checkPixelSize(opts);
  const choice = checkBackend(opts.backend);
  if (opts.overlay !== undefined) {
    if (opts.images !== undefined) throw new Error('--overlay draws one image\'s contour: give it with --image, not --images');
    await checkOutputFile(opts.overlay, '--overlay', '.png', 'the overlay is written as PNG');
  }
  if (opts.csv !== undefined) await checkOutputFile(opts.csv, '--csv', '.csv', 'the table is written as CSV');
  if (opts.masks !== undefined && isImageFileName(opts.masks)) {
    throw new Error(`--masks ${opts.masks}: give a folder, not an image file: each mask is written into it as <image name>.png`);
  }
  if (opts.masks !== undefined && (await exists(opts.masks))) {
    throw new Error(`--masks ${opts.masks} already exists; give a new folder (masks are never written over)`);
  }
  return { pixelSize, choice };
}

/**
 * Runs `segment` with the folder its masks go into: the partial folder of `masks`, moved into
 * place once `segment` has succeeded and removed if it fails (null without --masks).
 */
async function withMaskFolder<T>(masks: string | undefined, segment: (folder: string | null) => Promise<T>): Promise<T> {
  return masks === undefined ? segment(null) : writeResultFolder(masks, segment);
}

/** The mask file of an image in the masks folder: `<image name>.png` (see {@link SegmentCommandOptions.masks}). */
function maskPath(folder: string, imagePath: string): string {
  return join(folder, `${parse(imagePath).name}.png`);
}

/** Writes the image's predicted mask into `folder` (see {@link maskPath}). */
async function writeMask(folder: string, imagePath: string, result: Segmentation): Promise<void> {
  await writeFile(maskPath(folder, imagePath), await maskPng(result, result.width, result.height));
}

/** The row of one segmented image. */
function rowOf(file: string, { input, probabilities, mask, ...row }: Segmentation): SegmentedImage {
  return { file, ...row };
}

/** The CSV of segmented images: one row each, the area empty where no pixel size was given. */
export function segmentationCsv(rows: readonly SegmentedImage[]): string {
  return csvText([
    ['image', 'width', 'height', 'model_size', 'mask_pixels', 'csa_mm2'],
    ...rows.map((r) => [r.file, r.width, r.height, r.size, r.maskPixels, r.csaMm2]),
  ]);
}

/** "a.png: 442x565, segmented at 64x64: 97 mask pixels, cross-sectional area 10.21 mm²". */
function segmentationLine(file: string, r: SegmentedImage): string {
  return `${file}: ${r.width}x${r.height}, segmented at ${r.size}x${r.size}: ${r.maskPixels} mask pixels` +
    `${r.csaMm2 === null ? ' (give --dpi or --mm-per-pixel for the area)' : `, cross-sectional area ${r.csaMm2.toFixed(2)} mm²`}`;
}

/** Segments one image with a saved model: its mask, and its cross-sectional area when a pixel size is given. */
export async function runSegment(opts: SegmentCommandOptions): Promise<Segmentation> {
  if (opts.image === undefined) {
    throw new Error(opts.images === undefined ? 'give --image FILE (one image) or --images DIR (a folder of them)' : 'runSegment segments one --image; runSegmentImages segments a folder of --images');
  }
  const { pixelSize, choice } = await checkSegmentOptions(opts);
  // The files first (their errors name them), then the backend, which may take seconds to probe.
  const files = await readSavedModel(opts.model);
  const imagePath = opts.image;
  const image = await readGrayImage(imagePath);
  const result = await withMaskFolder(opts.masks, (folder) => withSavedModel(files, choice, async ({ model }) => {
    const segmented = await segmentImage(model, image, pixelSize);
    if (folder !== null) await writeMask(folder, imagePath, segmented);
    return segmented;
  }));
  if (opts.overlay !== undefined) {
    const { size } = result;
    await writeFileAtomic(opts.overlay, renderOverlay(result.input, new Uint8Array(size * size), result.probabilities, size, overlayScale(size)));
  }
  const row = rowOf(basename(opts.image), result);
  if (opts.csv !== undefined) await writeFileAtomic(opts.csv, segmentationCsv([row]));
  if (!opts.quiet) process.stdout.write(`${segmentationLine(opts.image, row)}\n`);
  if (!opts.quiet && opts.masks !== undefined) process.stderr.write(`mask in ${maskPath(opts.masks, opts.image)}\n`);
  return result;
}

/**
 * Segments every PNG and JPEG image of a folder (or of a dataset folder's images/) with a saved
 * model, in name order: one row per image, and the CSV (`csv`) and the masks folder (`masks`)
 * written once all have been segmented, so that a failure (an unreadable image, named) leaves no
 * partial table and no masks.
 */
export async function runSegmentImages(opts: SegmentCommandOptions): Promise<SegmentedImage[]> {
  if (opts.images === undefined) throw new Error('give --images DIR (a folder of PNG or JPEG images)');
  const { pixelSize, choice } = await checkSegmentOptions(opts);
  const files = await readSavedModel(opts.model);
  const images = await listImages(opts.images);
  const rows: SegmentedImage[] = [];
  await withMaskFolder(opts.masks, (folder) => withSavedModel(files, choice, async ({ model }) => {
    const bar = progressBar('segment |{bar}| {value}/{total} images | ETA {eta_formatted}', !opts.quiet && opts.csv !== undefined);
    bar.start(images.length);
    try {
      for (const path of images) {
        const segmented = await segmentImage(model, await readGrayImage(path), pixelSize);
        if (folder !== null) await writeMask(folder, path, segmented);
        const row = rowOf(basename(path), segmented);
        rows.push(row);
        bar.update(rows.length);
        // Without a CSV the rows are the output: one line per image as it is done.
        if (!opts.quiet && opts.csv === undefined) process.stdout.write(`${segmentationLine(path, row)}\n`);
      }
    } finally {
      bar.stop();
    }
  }));
  if (opts.csv !== undefined) {
    await writeFileAtomic(opts.csv, segmentationCsv(rows));
    if (!opts.quiet) process.stderr.write(`${rows.length} images segmented; table in ${opts.csv}\n`);
  }
  if (!opts.quiet && opts.masks !== undefined) process.stderr.write(`${rows.length} masks in ${opts.masks}\n`);
  return rows;
}
