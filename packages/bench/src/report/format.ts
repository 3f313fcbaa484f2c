/** How the reports write numbers: fixed decimals, mean ± SD, percentages, signed differences, p-values. */
import type { Summary } from '@sa-unet/seg-metrics';

/** A number with `digits` decimals; NaN as "n/a", infinities as "inf" and "-inf". */
export function fixed(v: number, digits: number): string {
  if (Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v.toFixed(digits);
}

/** "mean ± sd" (sd omitted for a single repeat). */
export function meanSd(s: Summary, digits: number): string {
  if (s.count === 0) return 'n/a';
  return s.count > 1 && Number.isFinite(s.sd) ? `${fixed(s.mean, digits)} ± ${fixed(s.sd, digits)}` : fixed(s.mean, digits);
}

/** "12.20%", or "12.20% ± 3.73" over several values. */
export function percent(s: Summary): string {
  if (s.count === 0 || Number.isNaN(s.mean)) return 'n/a';
  return s.count > 1 ? `${(100 * s.mean).toFixed(2)}% ± ${(100 * s.sd).toFixed(2)}` : `${(100 * s.mean).toFixed(2)}%`;
}

/** "+2.05" or "−12.69": a signed difference with `digits` decimals (a minus sign, not a hyphen); "n/a" for NaN. */
export function signed(v: number, digits: number): string {
  return Number.isNaN(v) ? 'n/a' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
}

/** A mean difference with its sign, ± its SD where there are several values: "+2.00 ± 1.41". */
export function signedMeanSd(s: Summary, digits: number): string {
  if (s.count === 0) return 'n/a';
  return s.count > 1 && Number.isFinite(s.sd) ? `${signed(s.mean, digits)} ± ${s.sd.toFixed(digits)}` : signed(s.mean, digits);
}

/** A p-value: three decimals, or "< 0.001"; "n/a" for NaN. */
export function pValue(p: number): string {
  if (Number.isNaN(p)) return 'n/a';
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}
