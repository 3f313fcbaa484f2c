/**
 * Image and mask files: PNG (gray, gray+alpha, RGB, RGBA, palette; 8 or 16 bits) through fast-png,
 * JPEG through jpeg-js. Images become gray floats in [0, 1]; masks keep their raw label values.
 * Both come as browsers and viewers show them: turned by their EXIF orientation, where they have one.
 */
import { readFile } from 'node:fs/promises';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { errorMessage, fileErrorReason } from '../errors.js';
import { applyOrientation, orientationOfFile, type ExifOrientation } from './orientation.js';

/** A decoded image, gray, as shown (turned by its EXIF orientation). */
export interface GrayImage {
  /** Pixels per row, as shown. */
  width: number;
  /** Rows, as shown. */
  height: number;
  /** Row-major gray levels in [0, 1]. */
  data: Float32Array;
  /**
   * The file's EXIF orientation (2 to 8: how its stored pixels were mirrored or turned to give
   * `data`); absent where it has none (or 1).
   */
  orientation?: ExifOrientation;
}

/** A decoded mask, its label values as stored, its pixels as shown (turned by its EXIF orientation). */
export interface LabelImage {
  /** Pixels per row, as shown. */
  width: number;
  /** Rows, as shown. */
  height: number;
  /** Row-major label values: palette indices, or gray levels (0-255 / 0-65535). */
  data: Uint16Array;
  /** The file's EXIF orientation, as {@link GrayImage.orientation}. */
  orientation?: ExifOrientation;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${fileErrorReason(err)}`);
  }
}

/** A decoded PNG with one sample per pixel and channel (PNGs of 1, 2 or 4 bits pack them in bytes). */
function png(bytes: Uint8Array, path: string, what: string): DecodedPng {
  let img: DecodedPng;
  try {
    // Chunk checksums checked: a flipped byte then fails here instead of decoding to other pixels.
    img = decodePng(bytes, { checkCrc: true });
  } catch (err) {
    throw new Error(`cannot decode ${what} ${path} as PNG (corrupt or truncated?): ${errorMessage(err)}`);
  }
  if (img.depth >= 8) return img;
  const { width, height, channels, depth } = img;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const samples = new Uint8Array(width * height * channels);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < width * channels; k++) {
      const bit = k * depth;
      const byte = img.data[y * rowBytes + (bit >> 3)];
      samples[y * width * channels + k] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return { ...img, data: samples };
}

/** Gray level of RGB, ITU-R BT.601 weights (what most tools use for "convert to gray"). */
function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** Stored pixels turned as the file's EXIF orientation says (browsers do the same). */
function shown<T extends Float32Array | Uint16Array>(bytes: Uint8Array, format: 'jpeg' | 'png', width: number, height: number, data: T) {
  const orientation = orientationOfFile(bytes, format);
  return orientation === 1 ? { width, height, data } : { ...applyOrientation(data, width, height, orientation), orientation };
}

/** Reads an image file (PNG or JPEG) as gray levels in [0, 1]; RGB is converted to gray. */
export async function readGrayImage(path: string): Promise<GrayImage> {
  const bytes = await readBytes(path, 'image');
  if (startsWith(bytes, PNG_MAGIC)) {
    const img = png(bytes, path, 'image');
    const { width, height, channels, palette } = img;
    const max = img.depth === 16 ? 65535 : img.depth === 8 ? 255 : 2 ** img.depth - 1;
    const src = img.data;
    const out = new Float32Array(width * height);
    if (palette) {
      for (let i = 0; i < out.length; i++) {
        const [r, g, b] = palette[src[i]] ?? [0, 0, 0];
        out[i] = luma(r, g, b) / 255;
      }
    } else if (channels <= 2) {
      for (let i = 0; i < out.length; i++) out[i] = src[i * channels] / max;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = luma(src[i * channels], src[i * channels + 1], src[i * channels + 2]) / max;
    }
    return shown(bytes, 'png', width, height, out);
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    let decoded: { width: number; height: number; data: Uint8Array };
    try {
      decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    } catch (err) {
      throw new Error(`cannot decode image ${path} as JPEG (corrupt or truncated?): ${errorMessage(err)}`);
    }
    const { width, height, data } = decoded;
    const out = new Float32Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = luma(data[4 * i], data[4 * i + 1], data[4 * i + 2]) / 255;
    return shown(bytes, 'jpeg', width, height, out);
  }
  throw new Error(`cannot read image ${path}: not a PNG or JPEG file`);
}

/**
 * Reads a mask (PNG only: JPEG compression changes label values). Palette PNGs give palette
 * indices; gray PNGs give gray levels; RGB(A) masks must be gray (r = g = b).
 */
export async function readLabelImage(path: string): Promise<LabelImage> {
  const bytes = await readBytes(path, 'mask');
  if (startsWith(bytes, JPEG_MAGIC)) throw new Error(`mask ${path} is a JPEG: masks must be PNG (JPEG compression changes label values)`);
  if (!startsWith(bytes, PNG_MAGIC)) throw new Error(`cannot read mask ${path}: not a PNG file`);
  const img = png(bytes, path, 'mask');
  const { width, height, channels, palette } = img;
  const src = img.data;
  const out = new Uint16Array(width * height);
  if (palette || channels <= 2) {
    for (let i = 0; i < out.length; i++) out[i] = src[i * channels];
  } else {
    for (let i = 0; i < out.length; i++) {
      const r = src[i * channels];
      if (src[i * channels + 1] !== r || src[i * channels + 2] !== r) {
        throw new Error(
          `mask ${path} has coloured pixels (first at x ${i % width}, y ${Math.floor(i / width)}); save masks as palette (indexed) or grayscale PNG`,
        );
      }
      out[i] = r;
    }
  }
  return shown(bytes, 'png', width, height, out);
}
