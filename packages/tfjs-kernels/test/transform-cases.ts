/** tf.image.transform cases with a plain-JS reference, shared by the cpu/wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

/** Shears and a shift, none of whose sample points falls halfway between pixels (where rounding conventions differ). */
export const TRANSFORM_ROWS = [
  [1, 0.23, -0.7, 0.11, 1, 0.37, 0, 0],
  [0.9, -0.17, 1.3, 0.07, 1.1, -0.61, 0, 0],
  [1, 0, 1.2, 0, 1, -0.8, 0, 0],
];
export const IMAGES_SHAPE = [3, 5, 6, 2] as const;

export const imageValues = () => Array.from({ length: 3 * 5 * 6 * 2 }, (_, i) => (i % 7) + 0.25 * Math.floor(i / 60));

/** Nearest-neighbour warp with constant fill 0, as TensorFlow defines it: output (x, y) samples input at the rounded projection. */
export function nearestReference(rows: number[][]): number[] {
  const [batch, h, w, c] = IMAGES_SHAPE;
  const values = imageValues();
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const t = rows.length === 1 ? rows[0]! : rows[b]!;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      const k = t[6]! * x + t[7]! * y + 1;
      const xi = Math.round((t[0]! * x + t[1]! * y + t[2]!) / k);
      const yi = Math.round((t[3]! * x + t[4]! * y + t[5]!) / k);
      out.push(xi >= 0 && xi < w && yi >= 0 && yi < h ? values[((b * h + yi) * w + xi) * c + ch]! : 0);
    }
  }
  return out;
}

/** The batch warped by `rows` (one row for all images, or one per image). */
export const warp = (rows: number[][], interpolation: 'nearest' | 'bilinear') => () =>
  tf.image.transform(tf.tensor4d(imageValues(), [...IMAGES_SHAPE]), tf.tensor2d(rows), interpolation, 'constant', 0);
