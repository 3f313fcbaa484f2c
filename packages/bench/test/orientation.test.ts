/**
 * EXIF orientation: images and masks are read as viewers and browsers show them. The last block
 * checks that against Chromium itself (createImageBitmap, which applies the orientation by
 * default), where /usr/bin/chromium is installed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFolder, readGrayImage, readLabelImage } from '@sa-unet/bench';
import { applyOrientation, orientationOfExif, type ExifOrientation } from '../src/data/orientation.js';
import { useBackend } from '../../../test-utils/backends.js';
import { browserAvailable, launchChromium, warnIfNoBrowser } from '../../../test-utils/browser.js';
import { exifBlock, gray8, jpegGray, palette8, withJpegExif, withPngExif, writeDataset, type Pixels } from './helpers.js';

warnIfNoBrowser('the EXIF orientation check against Chromium');

const ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8] as const;
const W = 48;
const H = 32;
/** Distinct 8x8 blocks (6 x 4 of them), so that JPEG keeps each block's level and every turn shows. */
const blocks: Pixels = (x, y) => 20 + 35 * Math.floor(x / 8) + 8 * Math.floor(y / 8);
/** A distinct value per pixel, for the PNG's exact comparison. */
const ramp: Pixels = (x, y) => (x + W * y) % 256;

let root: string;
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'bench-orientation-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('orientationOfExif', () => {
  const valueField = (tiff: Uint8Array, offset: number, value: number, little: boolean) => {
    new DataView(tiff.buffer).setUint16(offset, value, little);
    return tiff;
  };
  it.each([
    ['big-endian ("MM"), 6', exifBlock(6), 6],
    ['little-endian ("II"), 8', exifBlock(8, true), 8],
    ['little-endian, 3', exifBlock(3, true), 3],
    ['1', exifBlock(1), 1],
    ['0 (not an orientation)', exifBlock(0), 1],
    ['9 (not an orientation)', exifBlock(9), 1],
    ['another tag only (0x010f, Make)', valueField(exifBlock(6), 10, 0x010f, false), 1],
    ['the tag typed LONG instead of SHORT', valueField(exifBlock(6), 12, 4, false), 1],
    ['truncated in its entry', exifBlock(6).subarray(0, 16), 1],
    ['not a TIFF header', valueField(exifBlock(6), 0, 0x4a46, false), 1],
    ['empty', new Uint8Array(0), 1],
  ])('%s', (_, tiff, expected) => {
    expect(orientationOfExif(tiff)).toBe(expected);
  });
});

describe('applyOrientation', () => {
  // Stored 3x2:  1 2 3
  //              4 5 6
  it.each([
    [1, 3, 2, [1, 2, 3, 4, 5, 6]],
    [2, 3, 2, [3, 2, 1, 6, 5, 4]], // mirrored left-right
    [3, 3, 2, [6, 5, 4, 3, 2, 1]], // turned 180°
    [4, 3, 2, [4, 5, 6, 1, 2, 3]], // mirrored top-bottom
    [5, 2, 3, [1, 4, 2, 5, 3, 6]], // transposed
    [6, 2, 3, [4, 1, 5, 2, 6, 3]], // turned 90° clockwise
    [7, 2, 3, [6, 3, 5, 2, 4, 1]], // transversed
    [8, 2, 3, [3, 6, 2, 5, 1, 4]], // turned 90° counter-clockwise
  ] as const)('orientation %i shows a %ix%i image', (orientation, width, height, shown) => {
    const stored = Float32Array.of(1, 2, 3, 4, 5, 6);
    const out = applyOrientation(stored, 3, 2, orientation);
    expect({ width: out.width, height: out.height, data: Array.from(out.data) }).toEqual({ width, height, data: shown });
    expect(Array.from(stored)).toEqual([1, 2, 3, 4, 5, 6]); // the input is left as it was
  });

  it('keeps the array type (masks are Uint16Array)', () => {
    expect(applyOrientation(Uint16Array.of(1, 2, 3, 4, 5, 6), 3, 2, 6).data).toBeInstanceOf(Uint16Array);
  });
});

/** The pixel values `f` gives, as an image shown under `orientation`. */
function expectedShown(f: Pixels, orientation: ExifOrientation): { width: number; height: number; data: number[] } {
  const stored = Float32Array.from({ length: W * H }, (_, i) => f(i % W, Math.floor(i / W)));
  const { width, height, data } = applyOrientation(stored, W, H, orientation);
  return { width, height, data: Array.from(data) };
}

describe('readGrayImage and readLabelImage apply the orientation', () => {
  it.each(ORIENTATIONS)('PNG image and mask with an eXIf chunk of orientation %i', async (orientation) => {
    const image = join(root, `ramp-${orientation}.png`);
    await writeFile(image, withPngExif(gray8(W, H, ramp), exifBlock(orientation, orientation % 2 === 0)));
    const mask = join(root, `mask-${orientation}.png`);
    await writeFile(mask, withPngExif(palette8(W, H, (x, y) => (x + y) % 3), exifBlock(orientation)));
    const expected = expectedShown(ramp, orientation);
    const read = await readGrayImage(image);
    expect({ width: read.width, height: read.height, orientation: read.orientation }).toEqual({
      width: expected.width, height: expected.height, orientation: orientation === 1 ? undefined : orientation,
    });
    expect(Array.from(read.data, (v) => Math.round(v * 255))).toEqual(expected.data);
    const labels = await readLabelImage(mask);
    expect({ width: labels.width, height: labels.height }).toEqual({ width: expected.width, height: expected.height });
    expect(Array.from(labels.data)).toEqual(expectedShown((x, y) => (x + y) % 3, orientation).data);
  });

  it.each(ORIENTATIONS)('JPEG with an APP1 Exif segment of orientation %i', async (orientation) => {
    const file = join(root, `blocks-${orientation}.jpg`);
    await writeFile(file, withJpegExif(jpegGray(W, H, blocks), exifBlock(orientation, orientation % 2 === 1)));
    const expected = expectedShown(blocks, orientation);
    const read = await readGrayImage(file);
    expect([read.width, read.height]).toEqual([expected.width, expected.height]);
    const worst = Math.max(...Array.from(read.data, (v, i) => Math.abs(v * 255 - expected.data[i]!)));
    expect(worst).toBeLessThan(4); // JPEG's rounding; a wrong turn puts blocks 8 to 200 levels apart
  });

  it('ignores an eXIf chunk after the image data, as the PNG specification and browsers do', async () => {
    const file = join(root, 'late-exif.png');
    await writeFile(file, withPngExif(gray8(W, H, ramp), exifBlock(6), true));
    const read = await readGrayImage(file);
    expect([read.width, read.height, read.orientation]).toEqual([W, H, undefined]);
  });
});

describe('loadFolder with turned images', () => {
  const nerve: Pixels = (x, y) => ((x - 8) ** 2 + (y - 14) ** 2 <= 16 ? 1 : 0);

  it('pairs a turned JPEG with a mask drawn on it as shown', async () => {
    // Stored 24x16 (sideways), orientation 6 shows it 16x24; the mask is 16x24, as drawn in a viewer.
    const dir = await writeDataset(join(root, 'turned-ok'), {
      images: { 'a.jpg': withJpegExif(jpegGray(24, 16, () => 100), exifBlock(6)) },
      masks: { 'a.png': palette8(16, 24, nerve) },
    });
    const data = await loadFolder(dir, { size: 16, label: 1 });
    expect(data.samples[0]).toMatchObject({ name: 'a', originalWidth: 16, originalHeight: 24 });
  });

  it('names the orientation when the mask was drawn on the stored pixels', async () => {
    const dir = await writeDataset(join(root, 'turned-mismatch'), {
      images: { 'a.jpg': withJpegExif(jpegGray(24, 16, () => 100), exifBlock(6)) },
      masks: { 'a.png': palette8(24, 16, nerve) },
    });
    await expect(loadFolder(dir, { size: 16, label: 1 })).rejects.toThrow(
      /^image .*images\/a\.jpg is 16x24 but its mask .*masks\/a\.png is 24x16 \(.*images\/a\.jpg has EXIF orientation 6: it is read as viewers and browsers show it, stored as 24x16, so its mask must be drawn on it as shown\)$/,
    );
  });
});

describe.runIf(browserAvailable)('agrees with Chromium, which applies EXIF orientation by default', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** What Chromium decodes from `bytes`: its size and the red channel (the files are gray). */
  async function chromiumDecodes(bytes: Uint8Array, type: string): Promise<{ width: number; height: number; data: number[] }> {
    return page.evaluate(async ([base64, mime]) => {
      const file = new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type: mime });
      const bitmap = await createImageBitmap(file);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0);
      const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      return { width: bitmap.width, height: bitmap.height, data: Array.from({ length: bitmap.width * bitmap.height }, (_, i) => rgba[4 * i]!) };
    }, [Buffer.from(bytes).toString('base64'), type] as const);
  }

  it.each(ORIENTATIONS.flatMap((o) => [['JPEG', o], ['PNG', o]] as const))('%s, orientation %i: the same size and pixels', async (format, orientation) => {
    const bytes = format === 'JPEG'
      ? withJpegExif(jpegGray(W, H, blocks), exifBlock(orientation, orientation > 4))
      : withPngExif(gray8(W, H, ramp), exifBlock(orientation, orientation > 4));
    const file = join(root, `chromium-${orientation}.${format === 'JPEG' ? 'jpg' : 'png'}`);
    await writeFile(file, bytes);
    const ours = await readGrayImage(file);
    const theirs = await chromiumDecodes(bytes, format === 'JPEG' ? 'image/jpeg' : 'image/png');
    expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
    const worst = Math.max(...Array.from(ours.data, (v, i) => Math.abs(v * 255 - theirs.data[i]!)));
    expect(worst).toBeLessThan(format === 'JPEG' ? 4 : 0.5);
  });

  it('ignores a PNG eXIf chunk after the image data, as Chromium does', async () => {
    const bytes = withPngExif(gray8(W, H, ramp), exifBlock(6), true);
    const theirs = await chromiumDecodes(bytes, 'image/png');
    expect([theirs.width, theirs.height]).toEqual([W, H]);
  });
});
