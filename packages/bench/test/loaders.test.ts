import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFolder, readGrayImage, readLabelImage } from '@sa-unet/bench';
import { useBackend } from '../../../test-utils/backends.js';
import { disc, gray16, gray8, jpegGray, packedPng, palette8, rgb8, writeDataset, type Pixels } from './helpers.js';

let root: string;
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'bench-loaders-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('image and mask files', () => {
  it('reads gray, 16-bit gray, RGB and JPEG images as gray levels in [0, 1]', async () => {
    const dir = await writeDataset(join(root, 'formats'), {
      images: {
        'g.png': gray8(4, 3, (x) => x * 85),
        'g16.png': gray16(4, 3, (x) => x * 21845),
        'rgb.png': rgb8(4, 3, (x) => [x * 85, x * 85, x * 85]),
        'color.png': rgb8(1, 1, () => [255, 0, 0]),
        'j.jpg': jpegGray(8, 8, () => 200),
      },
    });
    const g = await readGrayImage(join(dir, 'images/g.png'));
    expect(g).toMatchObject({ width: 4, height: 3 });
    expect(Array.from(g.data.slice(0, 4)).map((v) => +v.toFixed(4))).toEqual([0, 0.3333, 0.6667, 1]);
    expect(Array.from((await readGrayImage(join(dir, 'images/g16.png'))).data.slice(0, 4)).map((v) => +v.toFixed(4))).toEqual([0, 0.3333, 0.6667, 1]);
    expect(Array.from((await readGrayImage(join(dir, 'images/rgb.png'))).data.slice(0, 4)).map((v) => +v.toFixed(4))).toEqual([0, 0.3333, 0.6667, 1]);
    expect((await readGrayImage(join(dir, 'images/color.png'))).data[0]).toBeCloseTo(0.299, 3);
    const j = await readGrayImage(join(dir, 'images/j.jpg'));
    expect(j.width).toBe(8);
    expect(Math.abs(j.data[27] - 200 / 255)).toBeLessThan(0.02);
  });

  it('reads palette masks as indices and gray masks as values', async () => {
    const dir = await writeDataset(join(root, 'masks'), {
      masks: { 'p.png': palette8(3, 1, (x) => x), 'g.png': gray8(3, 1, (x) => [0, 255, 1][x]), 'rgb.png': rgb8(2, 1, (x) => [x * 9, x * 9, x * 9]) },
    });
    expect(Array.from((await readLabelImage(join(dir, 'masks/p.png'))).data)).toEqual([0, 1, 2]);
    expect(Array.from((await readLabelImage(join(dir, 'masks/g.png'))).data)).toEqual([0, 255, 1]);
    expect(Array.from((await readLabelImage(join(dir, 'masks/rgb.png'))).data)).toEqual([0, 9]);
  });
});

describe('PNGs of 1, 2 and 4 bits per pixel (rows padded to a byte)', () => {
  // 5 pixels a row: every row ends inside a byte, so a decoder that ignores the padding shifts rows.
  const pattern = (levels: number): Pixels => (x, y) => (x * 3 + y) % levels;
  /** The 5x3 values of f, row-major, as the decoders return them. */
  const grid = (f: Pixels) => Array.from({ length: 15 }, (_, i) => f(i % 5, Math.floor(i / 5)));

  it.each([1, 2, 4] as const)('reads a %i-bit gray image as value / (2^bits - 1)', async (depth) => {
    const levels = 2 ** depth;
    const dir = await writeDataset(join(root, `gray${depth}`), { images: { 'a.png': packedPng(5, 3, depth, pattern(levels)) } });
    const image = await readGrayImage(join(dir, 'images/a.png'));
    expect(image).toMatchObject({ width: 5, height: 3 });
    expect(Array.from(image.data).map((v) => +v.toFixed(5))).toEqual(grid(pattern(levels)).map((v) => +(v / (levels - 1)).toFixed(5)));
  });

  it.each([1, 2, 4] as const)('reads a %i-bit gray mask as its values (1-bit: 0 and 1, as PIL saves binary masks)', async (depth) => {
    const levels = 2 ** depth;
    const dir = await writeDataset(join(root, `mask${depth}`), { masks: { 'a.png': packedPng(5, 3, depth, pattern(levels)) } });
    const mask = await readLabelImage(join(dir, 'masks/a.png'));
    expect(Array.from(mask.data)).toEqual(grid(pattern(levels)));
  });

  it('reads a 4-bit palette mask as indices and a 2-bit palette image as the gray of its colours', async () => {
    const colours: Array<[number, number, number]> = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [255, 255, 255]];
    const dir = await writeDataset(join(root, 'palette-packed'), {
      images: { 'a.png': packedPng(5, 3, 2, pattern(4), colours) },
      masks: { 'a.png': packedPng(5, 3, 4, pattern(3), colours) },
    });
    const mask = await readLabelImage(join(dir, 'masks/a.png'));
    expect(Array.from(mask.data)).toEqual(grid(pattern(3)));
    const image = await readGrayImage(join(dir, 'images/a.png'));
    const luma = ([r, g, b]: [number, number, number]) => (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    expect(Array.from(image.data).map((v) => +v.toFixed(4))).toEqual(grid(pattern(4)).map((index) => +luma(colours[index]!).toFixed(4)));
  });
});

describe('loadFolder', () => {
  it('pairs files by name, converts, resizes (mixed sizes), and selects the label', async () => {
    const dir = await writeDataset(join(root, 'mixed'), {
      images: { 'a.png': gray8(32, 32, disc(16, 16, 8, 200, 30)), 'b.png': rgb8(48, 40, () => [90, 90, 90]), 'c.jpg': jpegGray(16, 16, () => 128) },
      masks: {
        'a.png': palette8(32, 32, (x, y) => (disc(16, 16, 8)(x, y) ? 1 : x < 4 ? 2 : 0)),
        'b.png': gray8(48, 40, disc(24, 20, 10, 255, 0)),
        'c.png': gray8(16, 16, () => 0),
      },
    });
    const all = await loadFolder(dir, { size: 16 });
    expect(all.samples.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(all.samples.map((s) => [s.originalWidth, s.originalHeight])).toEqual([[32, 32], [48, 40], [16, 16]]);
    for (const s of all.samples) {
      expect(s.image).toHaveLength(256);
      expect(s.mask).toHaveLength(256);
      expect(s.mask.every((v) => v === 0 || v === 1)).toBe(true);
      expect(s.image.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    const nerveOnly = await loadFolder(dir, { size: 16, label: 1 });
    const anyNonZero = all.samples[0].mask.reduce((a, b) => a + b, 0);
    const nerve = nerveOnly.samples[0].mask.reduce((a, b) => a + b, 0);
    expect(nerve).toBeGreaterThan(0);
    expect(nerve).toBeLessThan(anyNonZero); // the vessel label 2 is background now
    expect(nerveOnly.samples[1].mask.reduce((a, b) => a + b, 0)).toBe(0); // gray 255 is not label 1
    // A label that no mask has is a mistake, not a dataset of empty masks: the error lists what the masks hold.
    await expect(loadFolder(dir, { size: 16, label: 7 })).rejects.toThrow(/^label 7 occurs in no mask of .*mixed\/masks: their values are 0, 1, 2, 255$/);
    expect((await loadFolder(dir, { size: 16, label: 255 })).samples[1].mask.includes(1)).toBe(true);
  });

  it.each([
    ['image without mask and mask without image, all listed', { images: { 'a.png': gray8(4, 4, () => 1), 'b.png': gray8(4, 4, () => 1) }, masks: { 'a.png': gray8(4, 4, () => 0), 'z.png': gray8(4, 4, () => 0) } },
      /images without a mask: b\.png; masks without an image: z\.png/],
    ['image and mask of different sizes', { images: { 'a.png': gray8(8, 6, () => 1) }, masks: { 'a.png': gray8(6, 8, () => 0) } },
      /image .*images\/a\.png is 8x6 but its mask .*masks\/a\.png is 6x8/],
    ['empty dataset', { images: {}, masks: {} }, /is empty: no PNG or JPEG files in .*images \(it is empty\)$/],
    ['dataset of TIFF files', { images: { 'a.tif': new Uint8Array(8) }, masks: { 'a.tif': new Uint8Array(8) } },
      /is empty: no PNG or JPEG files in .*images \(it holds 1 \.tif file; images must be PNG or JPEG files \(\.png, \.jpg, \.jpeg\)\)$/],
    ['coloured RGB mask', { images: { 'a.png': gray8(2, 1, () => 1) }, masks: { 'a.png': rgb8(2, 1, () => [255, 0, 0]) } },
      /mask .*masks\/a\.png has coloured pixels \(first at x 0, y 0\); save masks as palette \(indexed\) or grayscale PNG/],
    ['JPEG mask', { images: { 'a.png': gray8(8, 8, () => 1) }, masks: { 'a.jpg': jpegGray(8, 8, () => 0) } }, /mask .*masks\/a\.jpg is a JPEG: masks must be PNG/],
  ] as const)('%s: a clear error', async (name, files, message) => {
    const dir = await writeDataset(join(root, name.replace(/\W+/g, '-')), files as never);
    await expect(loadFolder(dir, { size: 16 })).rejects.toThrow(message);
  });

  it('a corrupt image names the file', async () => {
    const dir = await writeDataset(join(root, 'corrupt'), { masks: { 'a.png': gray8(4, 4, () => 0) } });
    const good = gray8(4, 4, () => 1);
    await writeFile(join(dir, 'images', 'a.png'), good.slice(0, 30));
    await expect(loadFolder(dir, { size: 16 })).rejects.toThrow(/cannot decode image .*images\/a\.png as PNG \(corrupt or truncated\?\)/);
    // Cut inside the compressed pixels: the inflater's error, with no dangling colon.
    const noisy = gray8(16, 16, (x, y) => (x * 37 + y * 101) % 251);
    await writeFile(join(dir, 'images', 'a.png'), noisy.slice(0, noisy.length - 20));
    await expect(loadFolder(dir, { size: 16 })).rejects.toThrow(/as PNG \(corrupt or truncated\?\): Error while decompressing the data$/);
    await writeFile(join(dir, 'images', 'a.png'), 'not an image at all');
    await expect(loadFolder(dir, { size: 16 })).rejects.toThrow(/cannot read image .*images\/a\.png: not a PNG or JPEG file/);
  });

  it('a PNG with a changed byte fails its chunk checksum instead of decoding to other pixels', async () => {
    const bytes = palette8(4, 4, () => 1);
    const plte = Buffer.from(bytes).indexOf('PLTE');
    expect(bytes[plte + 4 + 3]).toBe(128); // the nerve colour's red, in a palette image read as gray
    const path = join(root, 'changed.png');
    await writeFile(path, bytes.map((v, i) => (i === plte + 4 + 3 ? 200 : v)));
    await expect(readGrayImage(path)).rejects.toThrow(/cannot decode image .*changed\.png as PNG \(corrupt or truncated\?\): CRC mismatch for chunk PLTE/);
    await expect(readLabelImage(path)).rejects.toThrow(/cannot decode mask .*changed\.png as PNG/);
  });

  it('a missing folder is named', async () => {
    await expect(loadFolder(join(root, 'nope'), { size: 16 })).rejects.toThrow(/dataset folder .*nope does not exist or is not a folder/);
    const dir = join(root, 'no-masks');
    await writeDataset(dir, {});
    await rm(join(dir, 'masks'), { recursive: true });
    await expect(loadFolder(dir, { size: 16 })).rejects.toThrow(/masks folder .*no-masks\/masks cannot be read \(ENOENT\)/);
  });
});
