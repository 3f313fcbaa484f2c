/** Writing small image/mask folders for the bench's tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from 'fast-png';
import jpeg from 'jpeg-js';

export type Pixels = (x: number, y: number) => number;

export function gray8(width: number, height: number, f: Pixels): Uint8Array {
  return encode({ width, height, data: Uint8Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width))), channels: 1, depth: 8 });
}

export function gray16(width: number, height: number, f: Pixels): Uint8Array {
  return encode({ width, height, data: Uint16Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width))), channels: 1, depth: 16 });
}

export function rgb8(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(f(i % width, Math.floor(i / width)), 3 * i);
  return encode({ width, height, data, channels: 3, depth: 8 });
}

/** A palette PNG: indices from f, colours as in usgra-nerve (0 black, 1 red = nerve, 2 green = vessel). */
export function palette8(width: number, height: number, f: Pixels): Uint8Array {
  return encode({
    width, height, data: Uint8Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width))),
    channels: 1, depth: 8, palette: [[0, 0, 0], [128, 0, 0], [0, 128, 0]],
  });
}

/**
 * A gray (or, with `palette`, indexed) PNG of 1, 2 or 4 bits per pixel: values from f packed
 * most significant bits first, each row starting on a byte, as the PNG format stores them.
 */
export function packedPng(width: number, height: number, depth: 1 | 2 | 4, f: Pixels, palette?: Array<[number, number, number]>): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const data = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      data[y * rowBytes + (bit >> 3)]! |= f(x, y) << (8 - depth - (bit % 8));
    }
  }
  return encode({ width, height, data, channels: 1, depth, ...(palette ? { palette } : {}) });
}

export function jpegGray(width: number, height: number, f: Pixels): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = f(i % width, Math.floor(i / width));
    data.set([v, v, v, 255], 4 * i);
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, 95).data);
}

export const disc = (cx: number, cy: number, r: number, inside = 1, outside = 0): Pixels => (x, y) =>
  ((x - cx) ** 2 + (y - cy) ** 2 <= r * r ? inside : outside);

/** Writes dir/images/<name> and dir/masks/<name> files. */
export async function writeDataset(dir: string, files: { images?: Record<string, Uint8Array>; masks?: Record<string, Uint8Array> }): Promise<string> {
  await mkdir(join(dir, 'images'), { recursive: true });
  await mkdir(join(dir, 'masks'), { recursive: true });
  for (const [name, bytes] of Object.entries(files.images ?? {})) await writeFile(join(dir, 'images', name), bytes);
  for (const [name, bytes] of Object.entries(files.masks ?? {})) await writeFile(join(dir, 'masks', name), bytes);
  return dir;
}
