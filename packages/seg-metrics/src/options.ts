/**
 * Which options each function takes. An options object passes any key, so a misnamed one
 * (`spacingMm` given to a surface distance, whose option is `spacing`) would be ignored without a
 * word and change the result's unit or threshold.
 */
import type { RatioOptions, ThresholdOptions } from './confusion.js';
import type { EvaluateOptions } from './evaluate.js';
import type { SoftDiceOptions } from './loss.js';
import type { HausdorffOptions, SurfaceDiceOptions, SurfaceOptions } from './surface-distance.js';

// Each list is checked by the compiler against its interface: a new option must be listed.
export const THRESHOLD_OPTIONS = Object.keys({ threshold: true } satisfies Record<keyof ThresholdOptions, true>);
export const RATIO_OPTIONS = Object.keys({ threshold: true, empty: true } satisfies Record<keyof RatioOptions, true>);
export const SURFACE_OPTIONS = Object.keys({ threshold: true, spacing: true, missPenalty: true } satisfies Record<keyof SurfaceOptions, true>);
export const HAUSDORFF_OPTIONS = Object.keys({
  threshold: true, spacing: true, missPenalty: true, percentile: true, directed: true,
} satisfies Record<keyof HausdorffOptions, true>);
export const SURFACE_DICE_OPTIONS = Object.keys({
  tolerance: true, threshold: true, spacing: true, empty: true,
} satisfies Record<keyof SurfaceDiceOptions, true>);
export const EVALUATE_OPTIONS = Object.keys({
  threshold: true, empty: true, spacing: true, missPenalty: true, hausdorffPercentile: true, surfaceDiceTolerance: true, auc: true,
} satisfies Record<keyof EvaluateOptions, true>);
export const SOFT_DICE_OPTIONS = Object.keys({ smooth: true } satisfies Record<keyof SoftDiceOptions, true>);

/** Throws for an options value that is not an object, or holds a key `fn` does not take. */
export function checkOptions(opts: unknown, known: readonly string[], fn: string): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`${fn}: options must be an object, got ${JSON.stringify(opts)}`);
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined || known.includes(key)) continue;
    const hint = key === 'spacingMm' && known.includes('spacing')
      ? " (distances take 'spacing' [dy, dx], in the unit it is given in: mm per pixel gives mm)" : '';
    throw new Error(`${fn}: unknown option '${key}'${hint}; it takes ${known.join(', ')}`);
  }
}
