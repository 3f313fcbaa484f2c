/** Writing small image/mask folders for the bench's tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { encode } from 'fast-png';
import jpeg from 'jpeg-js';
import type { CompareResults, ModelResult, RepeatResult } from '@sa-unet/bench';
import { summarize } from '@sa-unet/seg-metrics';

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

/** An EXIF block (TIFF header and one IFD) holding only an orientation tag; big-endian ("MM") unless `littleEndian`. */
export function exifBlock(orientation: number, littleEndian = false): Uint8Array {
  const tiff = new Uint8Array(26);
  const view = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d]);
  view.setUint16(2, 42, littleEndian);
  view.setUint32(4, 8, littleEndian); // the IFD follows the header
  view.setUint16(8, 1, littleEndian); // one entry:
  view.setUint16(10, 0x0112, littleEndian); // Orientation,
  view.setUint16(12, 3, littleEndian); // SHORT,
  view.setUint32(14, 1, littleEndian); // one value,
  view.setUint16(18, orientation, littleEndian); // left-justified in the value field
  view.setUint32(22, 0, littleEndian); // no next IFD
  return tiff;
}

/** A JPEG (from jpeg-js: SOI, APP0 JFIF, ...) with an APP1 "Exif" segment after its APP0, as cameras and editors write it. */
export function withJpegExif(jpegBytes: Uint8Array, exif: Uint8Array): Uint8Array {
  const app1 = new Uint8Array(10 + exif.length);
  app1.set([0xff, 0xe1, (app1.length - 2) >> 8, (app1.length - 2) & 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0]);
  app1.set(exif, 10);
  const afterApp0 = 4 + ((jpegBytes[4]! << 8) | jpegBytes[5]!);
  return new Uint8Array([...jpegBytes.subarray(0, afterApp0), ...app1, ...jpegBytes.subarray(afterApp0)]);
}

/** A PNG with an eXIf chunk right after IHDR (`beforeEnd`: just before IEND, after the image data). */
export function withPngExif(pngBytes: Uint8Array, exif: Uint8Array, beforeEnd = false): Uint8Array {
  const chunk = new Uint8Array(12 + exif.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, exif.length);
  chunk.set([0x65, 0x58, 0x49, 0x66], 4); // "eXIf"
  chunk.set(exif, 8);
  view.setUint32(8 + exif.length, crc32(chunk.subarray(4, 8 + exif.length)));
  const at = beforeEnd ? pngBytes.length - 12 : 8 + 25; // signature + IHDR
  return new Uint8Array([...pngBytes.subarray(0, at), ...chunk, ...pngBytes.subarray(at)]);
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

/** Fixed test metrics of the fake results below. */
const METRICS = { precision: 0.5, recall: 0.5, specificity: 0.9, dice: 0.5, iou: 0.33, hausdorff: 4, hausdorff95: 3, assd: 1, surfaceDice: 0.5,
  pixelAucMicro: 0.9, pixelAucMacro: 0.9, zeroOverlapRate: 0, skipped: {} };

function repeat(n: number, epochLosses: number[]): RepeatResult {
  return { repeat: n, seed: n + 1, epochLosses, epochSeconds: epochLosses.map(() => 1), trainImagesPerSecond: 4, peakRssMB: 100,
    metrics: METRICS, roc: { fpr: [0, 1], tpr: [0, 1] }, checkpoint: `checkpoints/x/repeat-${n}` };
}

/** A model's results with the given training losses per repeat (other figures fixed). */
export function model(name: ModelResult['model'], losses: number[][]): ModelResult {
  const repeats = losses.map((l, i) => repeat(i + 1, l));
  const aggregate = Object.fromEntries(Object.entries(METRICS).filter(([k]) => k !== 'skipped').map(([k, v]) => [k, summarize(repeats.map(() => v as number))]));
  return { model: name, baseFilters: 16, params: 1000, trainableParams: 900, inference: { medianMs: 1, p90Ms: 1, firstMs: 2, runs: 20, backend: 'wasm' },
    repeats, aggregate: aggregate as ModelResult['aggregate'], secondsPerEpoch: 1 };
}

/** A comparison's results of these models, trained for `epochs`. */
export function results(models: ModelResult[], epochs: number): CompareResults {
  return {
    tool: '@sa-unet/bench compare', date: '2026-12-03T00:00:00.000Z', node: 'v20', backend: { name: 'wasm', description: 'wasm' },
    config: { command: 'compare', preset: 'quick', size: 64, epochs, repeats: models[0].repeats.length, batchSize: 4, learningRate: 5e-4, shearDegrees: 15,
      baseFilters: 16, modelBaseFilters: {}, phantomCount: 80, recalibrateBatchNorm: false, channelAttention: true, foregroundPrior: null, models: models.map((m) => m.model), data: null, testData: null,
      label: null, testFraction: 0.2, trainImages: null, seed: 1, pixelSize: null, backend: 'wasm' },
    dataset: { source: 'phantom', size: 64, train: 8, trainAvailable: 8, test: 2, trainForegroundFraction: 0.03, testNames: ['a', 'b'] },
    models, wallSeconds: 1,
  };
}
