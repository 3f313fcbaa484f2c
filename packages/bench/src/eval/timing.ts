/** Timing a repeated call: the first call apart, then median and p90 after warm-up. */
import { percentile } from '@sa-unet/seg-metrics';

export interface Timings {
  /** Milliseconds of the first call (shader compilation, kernel caches, memory growth). */
  first: number;
  median: number;
  p90: number;
}

/**
 * Calls `once` (which returns its own milliseconds) `warmup` times, the first of which is reported
 * on its own, then `runs` times for the median and p90.
 */
export async function timeCalls(once: () => Promise<number>, warmup: number, runs: number): Promise<Timings> {
  const first = await once();
  for (let i = 1; i < warmup; i++) await once();
  const times = new Float64Array(runs);
  for (let i = 0; i < runs; i++) times[i] = await once();
  return { first, median: percentile(times, 50), p90: percentile(times, 90) };
}
