import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { drawShears, mulberry32, phantomDataset, phantomSample, shearBatch, shearTransform, splitDataset } from '@sa-unet/bench';
import { useBackend } from '../../../test-utils/backends.js';

beforeAll(() => useBackend('wasm'));

describe('phantom', () => {
  it('is determined by its seed', () => {
    const a = phantomSample(64, 7);
    const b = phantomSample(64, 7);
    const c = phantomSample(64, 8);
    expect(a.image).toEqual(b.image);
    expect(a.mask).toEqual(b.mask);
    expect(a.image).not.toEqual(c.image);
  });

  it('has one nerve of plausible size, and images in [0, 1] with speckle', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { image, mask } = phantomSample(64, seed);
      const area = mask.reduce((s, v) => s + v, 0) / mask.length;
      expect(area).toBeGreaterThan(0.01);
      expect(area).toBeLessThan(0.2);
      expect(image.every((v) => v >= 0 && v <= 1)).toBe(true);
      // The nerve's inside is textured (honeycomb + speckle), not flat.
      const inside = Array.from(image).filter((_, i) => mask[i]);
      const mean = inside.reduce((s, v) => s + v, 0) / inside.length;
      const sd = Math.sqrt(inside.reduce((s, v) => s + (v - mean) ** 2, 0) / inside.length);
      expect(sd).toBeGreaterThan(0.05);
    }
  });

  it('datasets and splits are seeded', () => {
    const d = phantomDataset(10, 32, 3);
    expect(d.samples.map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `phantom-${String(i).padStart(3, '0')}`));
    const s1 = splitDataset(d, 0.2, 5);
    const s2 = splitDataset(d, 0.2, 5);
    expect(s1.test.map((s) => s.name)).toEqual(s2.test.map((s) => s.name));
    expect(s1.test).toHaveLength(2);
    expect(s1.train).toHaveLength(8);
    expect(() => splitDataset(phantomDataset(2, 16, 1), 0.2, 1)).not.toThrow();
    expect(() => phantomDataset(1, 16, 1)).toThrow(/sample count must be an integer >= 2/);
    expect(() => phantomDataset(2, 8, 1)).toThrow('phantom: the image size must be an integer >= 16, got 8');
    expect(() => phantomSample(16.5, 1)).toThrow('phantom: the image size must be an integer >= 16, got 16.5');
  });
});

describe('shear augmentation', () => {
  it('zero shear is the identity transform', () => {
    expect(shearTransform(0, 0, 64)).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    // x shear by 45 degrees about the centre (31.5, 31.5): input x = x + (y - 31.5)
    expect(shearTransform(Math.PI / 4, 0, 64).map((v) => +v.toFixed(9))).toEqual([1, 1, -31.5, 0, 1, 0, 0, 0]);
  });

  it.each<[string, () => unknown, string]>([
    ['a NaN angle', () => shearTransform(NaN, 0, 64), 'shearTransform: shearX must be an angle in radians strictly between -pi/2 and pi/2, got NaN'],
    ['a right angle (an infinite tangent)', () => shearTransform(0, -Math.PI / 2, 64), 'shearTransform: shearY must be an angle in radians strictly between -pi/2 and pi/2'],
    ['a degrees value', () => shearTransform(15, 0, 64), 'shearTransform: shearX must be an angle in radians strictly between -pi/2 and pi/2, got 15'],
    ['size 0', () => shearTransform(0, 0, 0), 'shearTransform: size must be an integer >= 1, got 0'],
  ])('refuses %s', (_, call, message) => {
    expect(call).toThrow(message);
  });

  it('draws angles within the range', () => {
    const shears = drawShears(500, 15, mulberry32(1));
    const max = (15 * Math.PI) / 180;
    expect(shears.flat().every((a) => Math.abs(a) <= max)).toBe(true);
    expect(Math.max(...shears.flat())).toBeGreaterThan(max * 0.9);
  });

  it.each(['wasm', 'cpu'] as const)('keeps image and mask aligned, in every image of the batch, on %s', async (backend) => {
    await useBackend(backend);
    const samples = phantomDataset(4, 64, 9).samples;
    // An image that is its own mask: after the same shear, the bright pixels must be the mask's.
    const images = tf.tensor4d(samples.flatMap((s) => Array.from(s.mask)), [4, 64, 64, 1]);
    const masks = tf.tensor4d(samples.flatMap((s) => Array.from(s.mask)), [4, 64, 64, 1]);
    const out = shearBatch(images, masks, drawShears(4, 15, mulberry32(3)));
    const img = await out.images.data();
    const msk = await out.masks.data();
    let both = 0;
    let either = 0;
    for (let i = 0; i < img.length; i++) {
      const a = img[i] > 0.5;
      const b = msk[i] > 0.5;
      if (a && b) both++;
      if (a || b) either++;
    }
    expect(both / either).toBeGreaterThan(0.9);
    expect(Array.from(msk).every((v) => v === 0 || v === 1)).toBe(true); // nearest keeps masks binary
    const moved = Array.from(msk).some((v, i) => v !== samples[Math.floor(i / 4096)].mask[i % 4096]);
    expect(moved).toBe(true);
    // Each image keeps most of its nerve (a shear of at most 15 degrees moves it, it does not
    // empty it; the stock cpu kernel left every image after the first blank).
    samples.forEach((s, k) => {
      const before = s.mask.reduce((n, v) => n + v, 0);
      const after = (msk as Float32Array).subarray(k * 4096, (k + 1) * 4096).reduce((n, v) => n + v, 0);
      expect(after, `image ${k}`).toBeGreaterThan(before * 0.5);
    });
    tf.dispose([images, masks, out.images, out.masks]);
  });
});
