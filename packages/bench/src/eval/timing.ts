/** Timing a repeated call: the first call apart, then median and p90 after warm-up. */
import { percentile } from '@sa-unet/seg-metrics';

/** Milliseconds of a repeated call (an inference, a training step). */
export interface Latency {
  /** First call (graph set-up, kernel compilation, weight upload), ms. */
  firstMs: number;
  /** Median of the timed calls after warm-up, ms per call. */
  medianMs: number;
  /** 90th percentile of the timed calls, ms per call. */
  p90Ms: number;
  /** How many calls were timed. */
  runs: number;
}

/**
 * Calls `once` (which returns its own milliseconds) `warmup` times, the first of which is reported
 * on its own, then `runs` times for the median and p90.
 */
export async function timeCalls(once: () => Promise<number>, warmup: number, runs: number): Promise<Latency> {
  const firstMs = await once();
  for (let i = 1; i < warmup; i++) await once();
  const times = new Float64Array(runs);
  for (let i = 0; i < runs; i++) times[i] = await once();
  return { firstMs, medianMs: percentile(times, 50), p90Ms: percentile(times, 90), runs };
}
