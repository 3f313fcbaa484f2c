/** GPU time and calls per kernel name from a `tf.profile`, most expensive first (for the GPU scripts). */
import type * as tf from '@tensorflow/tfjs-core';

export interface KernelTotal { kernel: string; ms: number; calls: number }

export function kernelTotals(info: Awaited<ReturnType<typeof tf.profile>>): KernelTotal[] {
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    // kernelTimeMs is an error object where the adapter has no timestamp queries: count the call only.
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byKernel.set(k.name, e);
  }
  return [...byKernel].map(([kernel, v]) => ({ kernel, ...v })).sort((a, b) => b.ms - a.ms);
}
