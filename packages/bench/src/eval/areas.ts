/**
 * How well predicted cross-sectional areas agree with the masks' (mm²): the measurement the
 * paper's clinical purpose needs (the median nerve's area screens for carpal tunnel syndrome),
 * summarized as method-comparison studies report it: the mean difference (bias), its 95% limits of
 * agreement (Bland and Altman 1986: bias +- 1.96 SD), absolute and relative errors.
 */
import { crossSectionalArea, mmPerPixel, spacingAfterResize, summarize, type PixelSize, type Summary } from '@sa-unet/seg-metrics';
import type { Sample } from '../data/dataset.js';
import { meanSd, signed } from '../report/format.js';

/** Areas per image and their agreement; see {@link areaAgreement}. */
export interface AreaAgreement {
  /** The original images' pixel size, as given. */
  pixelSize: PixelSize;
  /** The mask's area per image, mm², in the samples' order. */
  truthMm2: number[];
  /** The prediction's area (probability > 0.5) per image, mm². */
  predictedMm2: number[];
  /** Predicted minus mask area, mm²: its mean is the bias. */
  differenceMm2: Summary;
  /** The bias -1.96 SD and +1.96 SD, mm² (NaN with fewer than two images). */
  limitsOfAgreementMm2: [number, number];
  /** |predicted - mask| area, mm². */
  absoluteErrorMm2: Summary;
  /** |predicted - mask| / mask area, over the images whose mask has a nerve (the others are skipped as NaN). */
  relativeError: Summary;
}

/**
 * The area in mm² of a mask or probability map (> 0.5) at the model's input size (`size` x
 * `size`), each pixel counted as the original image's pixel size scaled by the resize.
 */
export function areaAtModelSize(data: Float32Array | Uint8Array, size: number, original: { width: number; height: number }, pixelSize: PixelSize): number {
  return crossSectionalArea({ data, width: size, height: size }, { spacingMm: spacingAfterResize(pixelSize, original, { width: size, height: size }) });
}

/** Foreground pixels of a mask and of a prediction at the model's input size, as seg-metrics' image records count them. */
export interface PixelCounts {
  /** The mask's foreground pixels. */
  truthPixels: number;
  /** The prediction's foreground pixels (probability > 0.5). */
  predPixels: number;
}

/**
 * The areas of probability maps and masks at the model's input size ({@link areaAtModelSize}), as
 * `segment` measures one image.
 */
export function areaAgreement(maps: readonly Float32Array[], samples: readonly Sample[], size: number, pixelSize: PixelSize): AreaAgreement {
  if (maps.length !== samples.length) throw new Error(`areaAgreement: ${maps.length} maps for ${samples.length} samples`);
  // crossSectionalArea at 1 mm per pixel: seg-metrics' own threshold and count.
  const pixels = (data: Float32Array | Uint8Array) => crossSectionalArea({ data, width: size, height: size }, { spacingMm: [1, 1] });
  return areaAgreementOfCounts(maps.map((map, i) => ({ truthPixels: pixels(samples[i]!.mask), predPixels: pixels(map) })), samples, size, pixelSize);
}

/**
 * {@link areaAgreement} from pixel counts already made, such as the `records` of seg-metrics'
 * evaluation of the same maps (`truthPixels`, `predPixels`): no map is thresholded again. Each
 * count is scaled by its image's pixel area at the model's size, as crossSectionalArea scales it.
 */
export function areaAgreementOfCounts(counts: readonly PixelCounts[], samples: readonly Sample[], size: number, pixelSize: PixelSize): AreaAgreement {
  if (counts.length !== samples.length) throw new Error(`areaAgreementOfCounts: ${counts.length} counts for ${samples.length} samples`);
  const truthMm2: number[] = [];
  const predictedMm2: number[] = [];
  samples.forEach((sample, i) => {
    const [dy, dx] = spacingAfterResize(pixelSize, { width: sample.originalWidth, height: sample.originalHeight }, { width: size, height: size });
    truthMm2.push(counts[i]!.truthPixels * dy * dx);
    predictedMm2.push(counts[i]!.predPixels * dy * dx);
  });
  const differences = predictedMm2.map((p, i) => p - truthMm2[i]!);
  const differenceMm2 = summarize(differences);
  return {
    pixelSize,
    truthMm2,
    predictedMm2,
    differenceMm2,
    limitsOfAgreementMm2: [differenceMm2.mean - 1.96 * differenceMm2.sd, differenceMm2.mean + 1.96 * differenceMm2.sd],
    absoluteErrorMm2: summarize(differences.map(Math.abs)),
    relativeError: summarize(differences.map((d, i) => (truthMm2[i]! > 0 ? Math.abs(d) / truthMm2[i]! : Number.NaN))),
  };
}

/** "0.1 mm per pixel" or "96 dpi": a pixel size as it was given. */
export function describePixelSize(size: PixelSize): string {
  if ('dpi' in size) return `${size.dpi} dpi`;
  const [dy, dx] = mmPerPixel(size);
  return dy === dx ? `${dx} mm per pixel` : `${dy} x ${dx} mm per pixel (rows x columns)`;
}

/** The report's lines on the areas (evaluate's table.md): sizes, bias and limits of agreement, errors. */
export function renderAreaAgreement(a: AreaAgreement): string[] {
  const mm2 = (s: Summary) => `${meanSd(s, 2)} mm²`;
  const [low, high] = a.limitsOfAgreementMm2;
  const r = a.relativeError;
  return [
    `Cross-sectional area at ${describePixelSize(a.pixelSize)} of the original images (${a.truthMm2.length} images): masks ${mm2(summarize(a.truthMm2))}, predictions ${mm2(summarize(a.predictedMm2))};`,
    `difference (prediction − mask) ${signed(a.differenceMm2.mean, 2)}${Number.isFinite(a.differenceMm2.sd) ? ` ± ${a.differenceMm2.sd.toFixed(2)}` : ''} mm², 95% limits of agreement ${signed(low, 2)} to ${signed(high, 2)} mm²;`,
    `absolute error ${mm2(a.absoluteErrorMm2)}; relative error ${Number.isNaN(r.mean) ? 'n/a' : `${(100 * r.mean).toFixed(1)} ± ${(100 * r.sd).toFixed(1)}%`} over ${r.count} images with a nerve (${r.nanCount} without, skipped).`,
  ];
}
