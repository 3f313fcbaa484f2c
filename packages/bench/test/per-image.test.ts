/** Per-image scores, named, and images.csv: known values, the areas' columns, count mismatches. */
import { MetricAccumulator } from '@sa-unet/seg-metrics';
import { describe, expect, it } from 'vitest';
import { areaAgreement, imagesCsv, perImageScores, type Sample } from '@sa-unet/bench';

/** Three 4x4 cases: a half-right prediction, a missed nerve, an empty mask with a false positive. */
function cases() {
  const mask = (on: number[]) => Uint8Array.from({ length: 16 }, (_, i) => (on.includes(i) ? 1 : 0));
  const map = (on: number[]) => Float32Array.from({ length: 16 }, (_, i) => (on.includes(i) ? 0.9 : 0.1));
  const truths = [mask([0, 1, 4, 5]), mask([10, 11]), mask([])];
  const maps = [map([0, 1, 2, 3]), map([]), map([15])];
  const acc = new MetricAccumulator({ missPenalty: 'diagonal', empty: 'nan', surfaceDiceTolerance: 1 });
  maps.forEach((m, i) => acc.add({ data: m, width: 4, height: 4 }, { data: truths[i], width: 4, height: 4 }));
  const samples: Sample[] = truths.map((t, i) => ({ name: `img-${i}`, image: new Float32Array(16), mask: t, originalWidth: 8, originalHeight: 8 }));
  return { evaluation: acc.result(), maps, samples };
}

describe('perImageScores', () => {
  it('names each image\'s scores, in order (known values), with its areas where measured', () => {
    const { evaluation, maps, samples } = cases();
    const rows = perImageScores(evaluation, samples.map((s) => s.name));
    expect(rows.map((r) => r.image)).toEqual(['img-0', 'img-1', 'img-2']);
    expect(rows[0]).toMatchObject({ precision: 0.5, recall: 0.5, dice: 0.5, zeroOverlap: false, maskPixels: 4, predictedPixels: 4 });
    expect(rows[1]).toMatchObject({ recall: 0, dice: 0, zeroOverlap: true, maskPixels: 2, predictedPixels: 0 });
    expect(rows[1].precision).toBeNaN();
    expect(rows[1].hausdorff).toBeCloseTo(Math.hypot(4, 4), 12); // a missed nerve: the diagonal
    expect(rows[2]).toMatchObject({ precision: 0, maskPixels: 0, predictedPixels: 1 });
    expect(rows[0].maskMm2).toBeUndefined();
    // 8x8 originals at 1 mm seen at 4x4: 4 mm² per pixel.
    const areas = areaAgreement(maps, samples, 4, { spacingMm: [1, 1] });
    expect(perImageScores(evaluation, samples.map((s) => s.name), areas).map((r) => [r.maskMm2, r.predictedMm2])).toEqual([[16, 16], [8, 0], [0, 4]]);
  });

  it('refuses names or areas of another count', () => {
    const { evaluation, maps, samples } = cases();
    expect(() => perImageScores(evaluation, ['a', 'b'])).toThrow('perImageScores: 2 names for 3 scored images');
    const areas = areaAgreement(maps.slice(0, 2), samples.slice(0, 2), 4, { spacingMm: [1, 1] });
    expect(() => perImageScores(evaluation, ['a', 'b', 'c'], areas)).toThrow('perImageScores: areas of 2 images for 3');
  });
});

describe('imagesCsv', () => {
  it('writes one row per image after the given keys, NaN for undefined scores, the overlap as 0/1', () => {
    const { evaluation } = cases();
    const rows = perImageScores(evaluation, ['a', 'b', 'c']).map((r) => ({ model: 'unet', repeat: 2, ...r }));
    const lines = imagesCsv(['model', 'repeat'], rows).trim().split('\n').map((l) => l.split(','));
    expect(lines[0]).toEqual(['model', 'repeat', 'image', 'precision', 'recall', 'dice', 'hausdorff', 'hausdorff95', 'surfaceDice', 'auc', 'zero_overlap', 'mask_pixels', 'predicted_pixels']);
    expect(lines).toHaveLength(4);
    expect(lines[1].slice(0, 6)).toEqual(['unet', '2', 'a', '0.5', '0.5', '0.5']);
    expect(lines[2][3]).toBe('NaN');
    expect(lines[2][10]).toBe('1');
    expect(lines[1][10]).toBe('0');
  });

  it('adds the areas\' columns where any row has them, empty where one has not', () => {
    const { evaluation, maps, samples } = cases();
    const areas = areaAgreement(maps, samples, 4, { spacingMm: [1, 1] });
    const measured = perImageScores(evaluation, ['a', 'b', 'c'], areas);
    const lines = imagesCsv([], [measured[0], perImageScores(evaluation, ['a', 'b', 'c'])[1]]).trim().split('\n').map((l) => l.split(','));
    expect(lines[0].slice(-2)).toEqual(['mask_mm2', 'predicted_mm2']);
    expect(lines[1].slice(-2)).toEqual(['16', '16']);
    expect(lines[2].slice(-2)).toEqual(['', '']);
  });
});
