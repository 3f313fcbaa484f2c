/** Median milliseconds of `runs` calls of `f` (awaited), after `warmup` calls that are not timed. */
export async function medianMs(f: () => unknown, warmup: number, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    await f();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}
