/**
 * A dataset: image/mask pairs resized to one square size, images gray in [0, 1], masks binary.
 * Loaded from a folder (images/ and masks/ whose files share names) or generated (the phantom).
 */
import { readdir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { extname, join, parse } from 'node:path';
import { readGrayImage, readLabelImage, type GrayImage, type LabelImage } from './decode.js';
import { swapsSides } from './orientation.js';
import { resizeBilinear, resizeNearest } from './resize.js';
import { isFolder } from '../output.js';
import { fileErrorReason } from '../errors.js';

/** One image and its mask, at the dataset's size. */
export interface Sample {
  /** File name without extension (or a generated id). */
  name: string;
  /** size x size gray levels in [0, 1]. */
  image: Float32Array;
  /** size x size, 1 = foreground. */
  mask: Uint8Array;
  /** Width of the original image, before resizing. */
  originalWidth: number;
  /** Height of the original image, before resizing. */
  originalHeight: number;
}

/** Samples of one square size, and where they came from. */
export interface Dataset {
  /** Where it came from: a folder path or 'phantom(count=..., seed=...)'. */
  source: string;
  /** Side of every (square) sample. */
  size: number;
  /** The samples, in file-name order (or generation order for the phantom). */
  samples: Sample[];
}

/** Options of {@link loadFolder}. */
export interface FolderOptions {
  /** Side the samples are resized to. */
  size: number;
  /** The mask value that is foreground; default: any non-zero value. */
  label?: number;
  /** Called after each pair is loaded. */
  onProgress?: (done: number, total: number) => void;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Whether a file name is one of an image the bench reads (.png, .jpg or .jpeg, any case). */
export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** A folder's image files by name without extension, and its other entries (named when it has no image). */
interface FolderListing {
  images: Map<string, string>;
  others: Dirent[];
}

/** Why a folder has no image: empty, or what it holds instead ("2 folders, 3 .tif files": TIFF, say, which the bench does not read). */
function noImages(others: Dirent[]): string {
  if (others.length === 0) return 'it is empty';
  const counts = new Map<string, number>();
  for (const entry of others) {
    const kind = entry.isDirectory() ? 'folder' : `${extname(entry.name).toLowerCase() || 'extensionless'} file`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  // Folders first, then files by extension.
  const kinds = [...counts].sort(([a], [b]) => (a === 'folder' ? -1 : b === 'folder' ? 1 : a.localeCompare(b)));
  return `it holds ${kinds.map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`).join(', ')}; images must be PNG or JPEG files (${[...IMAGE_EXTENSIONS].join(', ')})`;
}

async function listFiles(dir: string, what: string): Promise<FolderListing> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`${what} folder ${dir} cannot be read (${fileErrorReason(err)}); ` +
      `a dataset folder holds images/ and masks/ whose files share names`);
  }
  const listing: FolderListing = { images: new Map(), others: [] };
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const name = entry.name;
    if (name.startsWith('.')) continue;
    if (!isImageFileName(name)) {
      listing.others.push(entry);
      continue;
    }
    const key = parse(name).name;
    if (listing.images.has(key)) throw new Error(`${what} folder ${dir} has two files named ${key}: ${listing.images.get(key)} and ${name}`);
    listing.images.set(key, name);
  }
  return listing;
}

/** The PNG and JPEG files of `dir`, or of its images/ folder when it has one (a dataset folder), sorted by name. */
export async function listImages(dir: string): Promise<string[]> {
  if (!(await isFolder(dir))) throw new Error(`image folder ${dir} does not exist or is not a folder`);
  const folder = (await isFolder(join(dir, 'images'))) ? join(dir, 'images') : dir;
  const { images, others } = await listFiles(folder, 'image');
  if (images.size === 0) throw new Error(`image folder ${folder} holds no PNG or JPEG file: ${noImages(others)}`);
  return [...images.values()].map((f) => join(folder, f));
}

/** Lists image/mask pairs by shared base name; an unpaired file is an error that lists them all. */
export async function pairFiles(dir: string): Promise<Array<{
  /** The shared file name, without extension. */
  name: string;
  /** Path of the image file. */
  image: string;
  /** Path of the mask file. */
  mask: string;
}>> {
  if (!(await isFolder(dir))) throw new Error(`dataset folder ${dir} does not exist or is not a folder`);
  const { images, others } = await listFiles(join(dir, 'images'), 'images');
  const { images: masks } = await listFiles(join(dir, 'masks'), 'masks');
  const lonelyImages = [...images.keys()].filter((k) => !masks.has(k)).map((k) => images.get(k)!);
  const lonelyMasks = [...masks.keys()].filter((k) => !images.has(k)).map((k) => masks.get(k)!);
  if (lonelyImages.length > 0 || lonelyMasks.length > 0) {
    const parts: string[] = [];
    if (lonelyImages.length > 0) parts.push(`images without a mask: ${lonelyImages.join(', ')}`);
    if (lonelyMasks.length > 0) parts.push(`masks without an image: ${lonelyMasks.join(', ')}`);
    throw new Error(`dataset ${dir}: ${parts.join('; ')}`);
  }
  if (images.size === 0) throw new Error(`dataset ${dir} is empty: no PNG or JPEG files in ${join(dir, 'images')} (${noImages(others)})`);
  return [...images.keys()].map((name) => ({
    name, image: join(dir, 'images', images.get(name)!), mask: join(dir, 'masks', masks.get(name)!),
  }));
}

/** Why an image and its mask differ in size, with the EXIF orientation that turned one of them, if any. */
function sizeMismatch(pair: { image: string; mask: string }, image: GrayImage, mask: LabelImage): string {
  const turned = (file: string, decoded: GrayImage | LabelImage) => decoded.orientation === undefined
    ? ''
    : ` (${file} has EXIF orientation ${decoded.orientation}: it is read as viewers and browsers show it, ` +
      `stored as ${swapsSides(decoded.orientation) ? `${decoded.height}x${decoded.width}` : `${decoded.width}x${decoded.height}`}, so its mask must be drawn on it as shown)`;
  return `image ${pair.image} is ${image.width}x${image.height} but its mask ${pair.mask} is ${mask.width}x${mask.height}` +
    `${turned(pair.image, image)}${turned(pair.mask, mask)}`;
}

/** Loads every pair of a dataset folder, resized to `size` (images bilinear, masks nearest). */
export async function loadFolder(dir: string, options: FolderOptions): Promise<Dataset> {
  return loadPairs(dir, await pairFiles(dir), options);
}

/** Loads the pairs {@link pairFiles} listed in the dataset folder `dir`, as {@link loadFolder} does. */
export async function loadPairs(dir: string, pairs: Awaited<ReturnType<typeof pairFiles>>, options: FolderOptions): Promise<Dataset> {
  const { size, label } = options;
  const samples: Sample[] = [];
  const seen = new Uint8Array(65536); // which mask values occur: a `label` must be one of them
  for (const [i, pair] of pairs.entries()) {
    const image = await readGrayImage(pair.image);
    const mask = await readLabelImage(pair.mask);
    if (image.width !== mask.width || image.height !== mask.height) throw new Error(sizeMismatch(pair, image, mask));
    const binary = new Uint8Array(mask.data.length);
    for (let k = 0; k < binary.length; k++) {
      const value = mask.data[k]!;
      seen[value] = 1;
      binary[k] = (label === undefined ? value !== 0 : value === label) ? 1 : 0;
    }
    samples.push({
      name: pair.name,
      image: await resizeBilinear(image.data, image.width, image.height, size),
      mask: await resizeNearest(binary, mask.width, mask.height, size),
      originalWidth: image.width,
      originalHeight: image.height,
    });
    options.onProgress?.(i + 1, pairs.length);
  }
  if (label !== undefined && seen[label] !== 1) {
    // A label no mask has is a mistake (a typo, or the wrong folder): every mask would be empty.
    const values = [...seen.keys()].filter((v) => seen[v] === 1);
    const shown = values.length > 12 ? `${values.slice(0, 12).join(', ')}, ... (${values.length} values)` : values.join(', ');
    throw new Error(`label ${label} occurs in no mask of ${join(dir, 'masks')}: their values are ${shown}`);
  }
  return { source: dir, size, samples };
}
