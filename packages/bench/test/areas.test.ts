/**
 * areaAgreement: predicted against mask areas with known values, including the empty-mask and
 * empty-prediction cases and the pixel size scaled by the resize.
 */
import { describe, expect, it } from 'vitest';
import { areaAgreement, renderAreaAgreement, type Sample } from '@sa-unet/bench';

/** A 4x4 sample whose mask has `truth` foreground pixels, from an original of `original` x `original` pixels. */
function sample(truth: number, original = 4): Sample {
  const mask = new Uint8Array(16);
  mask.fill(1, 0, truth);
  return { name: `s${truth}`, image: new Float32Array(16), mask, originalWidth: original, originalHeight: original };
}

/** A 4x4 probability map with `pixels` values above 0.5 (and one exactly 0.5, not counted). */
function map(pixels: number): Float32Array {
  const m = new Float32Array(16).fill(0.2);
  m.fill(0.9, 0, pixels);
  if (pixels < 16) m[15] = 0.5;
  return m;
}

describe('areaAgreement', () => {
  it('gives each image\'s areas, the bias with its 95% limits, absolute and relative errors (known values)', () => {
    // 1 mm per pixel, no resize: areas are pixel counts. Differences +2, -1, 0, -4.
    const a = areaAgreement([map(6), map(3), map(8), map(0)], [sample(4), sample(4), sample(8), sample(4)], 4, { spacingMm: [1, 1] });
    expect(a.truthMm2).toEqual([4, 4, 8, 4]);
    expect(a.predictedMm2).toEqual([6, 3, 8, 0]);
    expect(a.differenceMm2.mean).toBeCloseTo(-0.75, 12);
    const sd = Math.sqrt(((2.75 ** 2) + (0.25 ** 2) + (0.75 ** 2) + (3.25 ** 2)) / 3);
    expect(a.differenceMm2.sd).toBeCloseTo(sd, 12);
    expect(a.limitsOfAgreementMm2[0]).toBeCloseTo(-0.75 - 1.96 * sd, 12);
    expect(a.limitsOfAgreementMm2[1]).toBeCloseTo(-0.75 + 1.96 * sd, 12);
    expect(a.absoluteErrorMm2.mean).toBeCloseTo(7 / 4, 12);
    expect(a.relativeError.mean).toBeCloseTo((0.5 + 0.25 + 0 + 1) / 4, 12);
    expect(a.relativeError).toMatchObject({ count: 4, nanCount: 0 });
  });

  it('skips images without a nerve in the relative error, counting them, and keeps them elsewhere', () => {
    const a = areaAgreement([map(2), map(0), map(5)], [sample(0), sample(0), sample(5)], 4, { spacingMm: [1, 1] });
    expect(a.truthMm2).toEqual([0, 0, 5]);
    expect(a.differenceMm2).toMatchObject({ count: 3, nanCount: 0 });
    expect(a.relativeError).toMatchObject({ mean: 0, count: 1, nanCount: 2 });
  });

  it('scales each pixel by the resize from the original (dpi or mm per pixel, rows and columns apart)', () => {
    // An 8x8 original at 25.4 dpi (1 mm pixels) seen at 4x4: each pixel 2 mm wide, 4 mm².
    expect(areaAgreement([map(3)], [sample(2, 8)], 4, { dpi: 25.4 }).truthMm2).toEqual([8]);
    expect(areaAgreement([map(3)], [sample(2, 8)], 4, { dpi: 25.4 }).predictedMm2).toEqual([12]);
    expect(areaAgreement([map(3)], [sample(2, 8)], 4, { spacingMm: [0.5, 0.25] }).truthMm2).toEqual([2 * (0.5 * 2) * (0.25 * 2)]);
  });

  it('has no limits of agreement with one image, and refuses maps and samples of different counts', () => {
    const a = areaAgreement([map(3)], [sample(2)], 4, { spacingMm: [1, 1] });
    expect(a.differenceMm2.mean).toBe(1);
    expect(a.limitsOfAgreementMm2.every(Number.isNaN)).toBe(true);
    expect(renderAreaAgreement(a)[1]).toBe('difference (prediction − mask) +1.00 mm², 95% limits of agreement n/a to n/a mm²;');
    expect(() => areaAgreement([map(3)], [sample(2), sample(1)], 4, { spacingMm: [1, 1] })).toThrow('areaAgreement: 1 maps for 2 samples');
  });

  it('renders the agreement as the report\'s lines: pixel size as given, signed bias and limits, skipped images', () => {
    const a = areaAgreement([map(6), map(3), map(0)], [sample(4), sample(4), sample(0)], 4, { spacingMm: [1, 1] });
    expect(renderAreaAgreement(a)).toEqual([
      'Cross-sectional area at 1 mm per pixel of the original images (3 images): masks 2.67 ± 2.31 mm², predictions 3.00 ± 3.00 mm²;',
      `difference (prediction − mask) +0.33 ± 1.53 mm², 95% limits of agreement −2.66 to +3.33 mm²;`,
      'absolute error 1.00 ± 1.00 mm²; relative error 37.5 ± 17.7% over 2 images with a nerve (1 without, skipped).',
    ]);
    expect(renderAreaAgreement(areaAgreement([map(1)], [sample(1)], 4, { dpi: 96 }))[0]).toMatch(/^Cross-sectional area at 96 dpi of /);
    expect(renderAreaAgreement(areaAgreement([map(1)], [sample(1)], 4, { spacingMm: [0.2, 0.1] }))[0]).toMatch(/^Cross-sectional area at 0\.2 x 0\.1 mm per pixel \(rows x columns\) of /);
  });
});
