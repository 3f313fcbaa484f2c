/**
 * Timing wasm kernels several ways in one run, for the heap module's benches. The wasm backend's
 * kernels finish before they return, so a call is timed whole without reading its result; a read
 * through tf.slice, as these benches did until 2026-12-06, timed the Slice kernel of the way being
 * measured too (the stock one took about 0.55 ms more than ours for a 4-D tensor, which overstated
 * every stock time by that much).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels, unregisterTrainingKernels } from '../src/index.js';
import { useHeapModule } from '../src/wasm/heap-module.js';
import { medianMs } from './median-ms.js';

/** One way of running a computation: `setUp` (if any) run before each of its rounds, then `call` timed. */
export interface Way {
  setUp?: () => void;
  call: () => unknown;
}

/**
 * Each of `ways` timed in turn, in the order given, over 3 rounds: the best round's median of 15
 * calls after 3 warm-up calls, each way.
 */
export async function bestOfAlternatingRounds<K extends string>(ways: Record<K, Way>): Promise<Record<K, number>> {
  const best = {} as Record<K, number>;
  for (let round = 0; round < 3; round++) {
    for (const name of Object.keys(ways) as K[]) {
      ways[name].setUp?.();
      const ms = await medianMs(ways[name].call, 3, 15);
      best[name] = Math.min(best[name] ?? Infinity, ms);
    }
  }
  return best;
}

/**
 * `f` timed with the stock kernels, with ours in JavaScript and with ours using the heap module
 * ({@link bestOfAlternatingRounds}). Our kernels stay registered, the module allowed.
 */
export function timedEachWay(f: () => unknown): Promise<{ stock: number; javascript: number; ours: number }> {
  return bestOfAlternatingRounds({
    stock: { setUp: unregisterTrainingKernels, call: f },
    javascript: { setUp: () => { registerTrainingKernels(); useHeapModule(false); }, call: f },
    ours: { setUp: () => useHeapModule(true), call: f },
  });
}

/**
 * `kernel` (a call that returns a new tensor) timed without the heap module and with it
 * ({@link bestOfAlternatingRounds}; `read` also reads each call's result, for a small one), and its
 * result each way as float32 values, to compare the two. Leaves the module allowed.
 */
export async function withoutAndWithModule(kernel: () => tf.Tensor, read = false): Promise<{ without: number; module: number; withoutValues: Float32Array; moduleValues: Float32Array }> {
  const call = read
    ? async () => {
      const t = kernel();
      await t.data();
      t.dispose();
    }
    : () => kernel().dispose();
  const times = await bestOfAlternatingRounds({
    without: { setUp: () => useHeapModule(false), call },
    module: { setUp: () => useHeapModule(true), call },
  });
  const valuesOf = async (allowed: boolean) => {
    useHeapModule(allowed);
    const t = kernel();
    const values = await t.data() as Float32Array;
    t.dispose();
    return values;
  };
  return { ...times, withoutValues: await valuesOf(false), moduleValues: await valuesOf(true) };
}
