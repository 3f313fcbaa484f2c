/** Small numeric helpers shared by tests. */
import * as tf from '@tensorflow/tfjs-core';

// The project's seeded generator and Math.random seeding (a dependency-free module of the bench,
// imported by path: tests of every package use it, and none of them depends on the bench).
// withSeed: tfjs initializers without a seed draw theirs from Math.random, so models built inside
// start from the same weights on every run (tests that train must not depend on luck).
import { mulberry32 as seededRandom, withSeededMathRandom as withSeed } from '../packages/bench/src/random.js';

export { seededRandom, withSeed };

/** A tensor of the given shape with values uniform in [lo, hi) from a seeded generator. */
export function seededUniform(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const rand = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = lo + (hi - lo) * rand();
  return tf.tensor(data, shape);
}

/**
 * A float32 tensor of the given shape whose values have random signs and magnitudes spread evenly
 * over `decades` powers of ten around `around`, from a seeded generator: sums and products of
 * such values show any change in the order of rounding in their last bits.
 */
export function seededMagnitudes(shape: number[], seed: number, around = 1, decades = 4): tf.Tensor {
  const rand = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (rand() < 0.5 ? -1 : 1) * around * 10 ** (rand() * decades - decades / 2);
  return tf.tensor(data, shape);
}

/** Largest |a - b| / max(1, |b|) over two arrays of equal length. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (Number.isNaN(err)) return NaN;
    if (err > worst) worst = err;
  }
  return worst;
}

/** Largest |a - b| over the largest |b|: one tolerance for gradients of any scale. */
export function differenceRelativeToLargest(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** A [h, w] disc mask (1 inside, 0 outside) centred in the image. */
export function discMask(h: number, w: number, radius: number, cy = (h - 1) / 2, cx = (w - 1) / 2): Float32Array {
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if ((y - cy) ** 2 + (x - cx) ** 2 <= radius * radius) out[y * w + x] = 1;
  }
  return out;
}

/** The bit patterns of float32 values as int32s, to compare results bit for bit (signed zeros and NaN payloads included). */
export function float32Bits(values: ArrayLike<number>): number[] {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  return Array.from(new Int32Array(f.buffer, f.byteOffset, f.length));
}

/** A float32 tensor's values as bits ({@link float32Bits}). */
export async function tensorBits(t: tf.Tensor): Promise<number[]> {
  return float32Bits((await t.data()) as Float32Array);
}
