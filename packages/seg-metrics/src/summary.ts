/** NaN-skipping summaries that say how many values they skipped. */

export interface Summary {
  /** Mean of the non-NaN values (NaN if none; +-Infinity if any value is infinite). */
  mean: number;
  /** Sample standard deviation (n - 1) of the non-NaN values (NaN if fewer than 2 or any is infinite). */
  sd: number;
  /** Number of non-NaN values summarised. */
  count: number;
  /** Number of NaN values skipped. */
  nanCount: number;
}

/** The mean, sample SD, count and skipped NaNs of `values` (NaN-skipping, as MONAI's reductions). */
export function summarize(values: Iterable<number>): Summary {
  let count = 0;
  let nanCount = 0;
  let finite = 0;
  let mean = 0;
  let m2 = 0;
  let positiveInfinite = 0;
  let negativeInfinite = 0;
  let index = 0;
  for (const v of values) {
    if (typeof v !== 'number') throw new Error(`summarize: values must be numbers, found ${v === null ? 'null' : typeof v} at index ${index}`);
    index++;
    if (Number.isNaN(v)) nanCount++;
    else if (v === Infinity) positiveInfinite++;
    else if (v === -Infinity) negativeInfinite++;
    else {
      // Welford's update: stable for long runs of similar values.
      finite++;
      const delta = v - mean;
      mean += delta / finite;
      m2 += delta * (v - mean);
    }
  }
  count = finite + positiveInfinite + negativeInfinite;
  if (count === 0) return { mean: NaN, sd: NaN, count, nanCount };
  if (positiveInfinite > 0 || negativeInfinite > 0) {
    const infiniteMean = positiveInfinite > 0 && negativeInfinite > 0 ? NaN : positiveInfinite > 0 ? Infinity : -Infinity;
    return { mean: infiniteMean, sd: NaN, count, nanCount };
  }
  return { mean, sd: count > 1 ? Math.sqrt(m2 / (count - 1)) : NaN, count, nanCount };
}
