/**
 * A seeded synthetic phantom of an axial median-nerve ultrasound image, so that the bench runs on
 * a fresh machine with no download. What makes the task like the real one:
 * - speckle: multiplicative, spatially correlated Rayleigh noise, and depth attenuation;
 * - a bright, curved flexor-retinaculum band above the nerve (a landmark: large receptive field);
 * - hypo-echoic tendons of the nerve's size and shape nearby (look-alikes);
 * - the nerve: an ellipse of varying size, place and angle with a bright rim and a "honeycomb"
 *   inside (dark fascicles in a brighter matrix: fine texture, small receptive field). Its mask is
 *   the ellipse.
 */
import { gaussian, mulberry32 } from '../random.js';
import type { Dataset, Sample } from './dataset.js';

interface Ellipse { cx: number; cy: number; a: number; b: number; angle: number }

/** Normalised radius of (x, y) in an ellipse's frame (1 on its outline), and the position in that frame. */
function ellipseFrame(e: Ellipse, x: number, y: number): { r: number; u: number; v: number } {
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const u = (x - e.cx) * c + (y - e.cy) * s;
  const v = -(x - e.cx) * s + (y - e.cy) * c;
  return { r: Math.hypot(u / e.a, v / e.b), u, v };
}

function overlaps(a: Ellipse, b: Ellipse, margin: number): boolean {
  return Math.hypot(a.cx - b.cx, a.cy - b.cy) < (Math.max(a.a, a.b) + Math.max(b.a, b.b)) * margin;
}

/** A deterministic value in [0, 1) for an integer lattice cell. */
function cellHash(i: number, j: number, seed: number): number {
  let h = (Math.imul(i, 374761393) + Math.imul(j, 668265263) + Math.imul(seed, 2246822519)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** One phantom image (size x size, gray in [0, 1]) and its nerve mask. */
export function phantomSample(size: number, seed: number): {
  /** size x size gray levels in [0, 1], row by row. */
  image: Float32Array;
  /** size x size, 1 = nerve. */
  mask: Uint8Array;
} {
  // The nerve's honeycomb and the tendons need some pixels; the bench's --size starts at 16.
  if (!Number.isInteger(size) || size < 16) throw new Error(`phantom: the image size must be an integer >= 16, got ${size}`);
  const rand = mulberry32(seed);
  const S = size;
  const image = new Float32Array(S * S);
  const mask = new Uint8Array(S * S);

  // Tissue: depth attenuation and a slow, random variation.
  const waves = Array.from({ length: 3 }, () => ({ fx: 1 + 3 * rand(), fy: 1 + 3 * rand(), phase: 2 * Math.PI * rand() }));
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let level = 0.42 - 0.16 * (y / S);
      for (const w of waves) level += 0.025 * Math.sin((2 * Math.PI * (w.fx * x + w.fy * y)) / S + w.phase);
      image[y * S + x] = level;
    }
  }

  // Flexor retinaculum: a bright arc.
  const bandY = S * (0.2 + 0.06 * rand());
  const bend = S * (0.1 + 0.1 * rand());
  const thickness = Math.max(1, S * 0.022);
  const bandAt = (x: number) => bandY + bend * ((x / S - 0.5) ** 2) * 4;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const d = (y - bandAt(x)) / thickness;
      image[y * S + x] += 0.45 * Math.exp(-d * d);
    }
  }

  // The nerve, below the band.
  const a = S * (0.08 + 0.06 * rand());
  const nerve: Ellipse = { cx: 0, cy: 0, a, b: a * (0.55 + 0.25 * rand()), angle: -0.4 + 0.8 * rand() };
  nerve.cx = S * 0.28 + S * 0.44 * rand();
  nerve.cy = Math.min(S - nerve.a - 2, bandAt(nerve.cx) + nerve.a + S * 0.04 + S * 0.25 * rand());

  // Tendons: hypo-echoic look-alikes of similar size, not overlapping the nerve or each other.
  const tendons: Ellipse[] = [];
  for (let tries = 0; tries < 60 && tendons.length < 4; tries++) {
    const ta = S * (0.06 + 0.06 * rand());
    const t: Ellipse = { cx: ta + (S - 2 * ta) * rand(), cy: 0, a: ta, b: ta * (0.5 + 0.35 * rand()), angle: Math.PI * rand() };
    t.cy = bandAt(t.cx) + ta + S * 0.02 + (S - bandAt(t.cx) - 2 * ta - S * 0.02) * rand();
    if (t.cy + t.b > S) continue;
    if (overlaps(t, nerve, 1.05) || tendons.some((o) => overlaps(t, o, 1.0))) continue;
    tendons.push(t);
  }

  const rim = Math.max(0.8, S * 0.012);
  const fascicle = Math.max(0.9, S * 0.016);
  const spacing = fascicle * 2.5;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const i = y * S + x;
      for (const t of tendons) {
        const { r, u } = ellipseFrame(t, x, y);
        const edge = Math.abs(r - 1) * Math.min(t.a, t.b);
        if (r < 1) image[i] = 0.17 + 0.035 * Math.sin(u / 1.3);
        if (edge < rim * 0.8) image[i] = Math.max(image[i], 0.5);
      }
      const { r, u, v } = ellipseFrame(nerve, x, y);
      const edge = Math.abs(r - 1) * Math.min(nerve.a, nerve.b);
      if (r <= 1) {
        mask[i] = 1;
        // Honeycomb: dark fascicles on a jittered lattice, in the nerve's own frame.
        const row = Math.round(v / (spacing * 0.87));
        const col = Math.round(u / spacing - (row % 2) * 0.5);
        const px = (col + (row % 2) * 0.5) * spacing + (cellHash(row, col, seed) - 0.5) * fascicle * 0.8;
        const py = row * spacing * 0.87 + (cellHash(col, row, seed + 1) - 0.5) * fascicle * 0.8;
        image[i] = Math.hypot(u - px, v - py) < fascicle ? 0.16 : 0.56;
      }
      if (edge < rim) image[i] = Math.max(image[i], 0.72);
    }
  }

  // Speckle: |complex Gaussian| smoothed over 3x3 (correlated grain), mean 1, multiplied in.
  const re = Float32Array.from({ length: S * S }, () => gaussian(rand));
  const im = Float32Array.from({ length: S * S }, () => gaussian(rand));
  const speckle = new Float32Array(S * S);
  let total = 0;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let sr = 0;
      let si = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = Math.min(S - 1, Math.max(0, y + dy));
          const xx = Math.min(S - 1, Math.max(0, x + dx));
          sr += re[yy * S + xx];
          si += im[yy * S + xx];
        }
      }
      speckle[y * S + x] = Math.hypot(sr, si);
      total += speckle[y * S + x];
    }
  }
  const mean = total / (S * S);
  for (let i = 0; i < S * S; i++) {
    image[i] = Math.min(1, Math.max(0, image[i] * (0.35 + 0.65 * (speckle[i] / mean)) + 0.015 * gaussian(rand)));
  }
  return { image, mask };
}

/** `count` phantom samples of size x size, from one seed. */
export function phantomDataset(count: number, size: number, seed: number): Dataset {
  if (!Number.isInteger(count) || count < 2) throw new Error(`phantom: the sample count must be an integer >= 2, got ${count}`);
  const samples: Sample[] = [];
  for (let k = 0; k < count; k++) {
    const { image, mask } = phantomSample(size, (seed * 7919 + k * 104729) >>> 0);
    samples.push({ name: `phantom-${String(k).padStart(3, '0')}`, image, mask, originalWidth: size, originalHeight: size });
  }
  return { source: `phantom(count=${count}, seed=${seed})`, size, samples };
}
