/** Cross-sectional area of a segmented structure, the clinical measurement of the median nerve. */
import { binarizePrediction, countForeground, type MaskInput } from './mask.js';
import type { ThresholdOptions } from './confusion.js';
import { checkOptions, THRESHOLD_OPTIONS } from './options.js';

/**
 * Pixel size: `{ spacingMm: [dy, dx] }` in mm per pixel, or `{ dpi }` (dots per inch, square
 * pixels). `{ spacing: [dy, dx] }`, also in mm per pixel, is accepted as well: the name the
 * package's first API gave the area's spacing.
 */
export type PixelSize =
  | {
    /** mm per pixel, [dy, dx]: along rows (y) and along columns (x). */
    spacingMm: [number, number];
  }
  | {
    /** mm per pixel, [dy, dx], as `spacingMm` (which names the unit). */
    spacing: [number, number];
  }
  | {
    /** Dots (pixels) per inch, the same along both axes. */
    dpi: number;
  };

/** Millimetres per inch: a pixel of an image at `dpi` dots per inch is 25.4 / dpi mm wide. */
export const MM_PER_INCH = 25.4;

const PIXEL_SIZE_KEYS = ['spacingMm', 'spacing', 'dpi'] as const;
const PIXEL_SIZE_FORMS = '{ spacingMm: [dy, dx] } (mm per pixel) or { dpi }';

/** mm per pixel [dy, dx] of a pixel size, validated: exactly one of its forms, no other key. */
export function mmPerPixel(size: PixelSize): [number, number] {
  if (size === null || typeof size !== 'object' || Array.isArray(size)) {
    throw new Error(`pixel size: expected ${PIXEL_SIZE_FORMS}, got ${JSON.stringify(size)}`);
  }
  const given = Object.entries(size).filter(([, v]) => v !== undefined).map(([k]) => k);
  const unknown = given.filter((k) => !(PIXEL_SIZE_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new Error(`pixel size: unknown key '${unknown[0]}'; expected ${PIXEL_SIZE_FORMS}`);
  }
  // Two forms at once may disagree; picking one silently would change the area.
  if (given.length !== 1) {
    const got = given.length === 0 ? 'none' : given.join(' and ');
    throw new Error(`pixel size: expected exactly one of spacingMm, spacing (mm per pixel) or dpi, got ${got}`);
  }
  const key = given[0];
  if (key === 'dpi') {
    const { dpi } = size as { dpi: unknown };
    if (typeof dpi !== 'number' || !Number.isFinite(dpi) || dpi <= 0) {
      throw new Error(`dpi: expected a finite number > 0, got ${JSON.stringify(dpi)}`);
    }
    return [MM_PER_INCH / dpi, MM_PER_INCH / dpi];
  }
  const spacing: unknown = (size as Record<string, unknown>)[key];
  if (!Array.isArray(spacing) || spacing.length !== 2 || !spacing.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
    throw new Error(`${key}: expected [dy, dx] in mm per pixel, two finite numbers > 0, got ${JSON.stringify(spacing)}`);
  }
  return [spacing[0], spacing[1]];
}

/**
 * Area in mm^2 of the foreground of `mask` (values > `threshold`, default 0.5): the pixel count
 * times dy * dx.
 */
export function crossSectionalArea(mask: MaskInput, size: PixelSize, opts: ThresholdOptions = {}): number {
  checkOptions(opts, THRESHOLD_OPTIONS, 'crossSectionalArea');
  const [dy, dx] = mmPerPixel(size);
  return countForeground(binarizePrediction(mask, opts.threshold ?? 0.5, 'mask')) * dy * dx;
}

/**
 * The pixel spacing [dy, dx] (mm) of an image resized from `original` to `resized` pixels: what a
 * mask predicted at the model's input size needs for its area to be measured in mm^2.
 */
export function spacingAfterResize(
  size: PixelSize,
  original: { width: number; height: number },
  resized: { width: number; height: number },
): [number, number] {
  for (const [name, v] of [['original.width', original.width], ['original.height', original.height], ['resized.width', resized.width], ['resized.height', resized.height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`spacingAfterResize: ${name} must be an integer >= 1, got ${JSON.stringify(v)}`);
  }
  const [dy, dx] = mmPerPixel(size);
  return [(dy * original.height) / resized.height, (dx * original.width) / resized.width];
}
