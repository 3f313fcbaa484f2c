/** GPU time and calls per kernel name from a `tf.profile`, most expensive first, and a profiled training step and forward pass (for the GPU scripts). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

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

/** The GPU ms of kernel totals added up. */
export function totalMs(totals: KernelTotal[]): number {
  return totals.reduce((sum, k) => sum + k.ms, 0);
}

/** The GPU ms of each call of kernel `name` in a `tf.profile`, in order (NaN where the adapter has no timestamp queries). */
export function callTimes(info: Awaited<ReturnType<typeof tf.profile>>, name: string): Float64Array {
  return Float64Array.from(info.kernels.filter((k) => k.name === name).map((k) => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN)));
}

/** One training step of a compiled model on a seeded batch of 4 images (targets: the pixels above 0.8). */
export async function trainOneBatch(model: tfl.LayersModel, size: number): Promise<void> {
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 5);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  try {
    await model.trainOnBatch(x, y);
  } finally {
    tf.dispose([x, y]);
  }
}

/** The kernels of one {@link trainOneBatch} step, most expensive first. */
export async function profileStep(model: tfl.LayersModel, size: number): Promise<KernelTotal[]> {
  return kernelTotals(await tf.profile(() => trainOneBatch(model, size)));
}

/** One forward pass at batch 1 (a seeded image) under tf.profile: its kernels, their GPU time, and the totals per kernel name. */
export async function profileForward(model: tfl.LayersModel, size: number): Promise<{ kernels: number; gpuMs: number; totals: KernelTotal[] }> {
  const x = tf.randomUniform([1, size, size, 1], 0, 1, 'float32', 5);
  try {
    const info = await tf.profile(async () => {
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    });
    const totals = kernelTotals(info);
    return { kernels: info.kernels.length, gpuMs: totalMs(totals), totals };
  } finally {
    x.dispose();
  }
}
