/** Timing a wasm kernel three ways, for the copy and reduction benches. */
import { registerTrainingKernels, unregisterTrainingKernels } from '../src/index.js';
import { useHeapModule } from '../src/wasm/heap-module.js';
import { medianMs } from './median-ms.js';

/**
 * `f` timed with the stock kernels, with ours in JavaScript and with ours using the heap module,
 * the three alternating over 3 rounds: the best round's median of 15 calls after 3 warm-up calls,
 * each way. Our kernels stay registered, the module allowed.
 */
export async function timedEachWay(f: () => unknown): Promise<{ stock: number; javascript: number; ours: number }> {
  const rounds = { stock: [] as number[], javascript: [] as number[], ours: [] as number[] };
  for (let round = 0; round < 3; round++) {
    unregisterTrainingKernels();
    rounds.stock.push(await medianMs(f, 3, 15));
    registerTrainingKernels();
    useHeapModule(false);
    rounds.javascript.push(await medianMs(f, 3, 15));
    useHeapModule(true);
    rounds.ours.push(await medianMs(f, 3, 15));
  }
  return { stock: Math.min(...rounds.stock), javascript: Math.min(...rounds.javascript), ours: Math.min(...rounds.ours) };
}
