/**
 * Exact Euclidean distance transform of a binary source image, in two separable phases (Meijster,
 * Roerdink & Hesselink 2000; phase 2 is the lower envelope of parabolas of Felzenszwalb &
 * Huttenlocher 2012): O(pixels), with anisotropic pixel spacing.
 *
 * Phase 1 scans rows top-down and bottom-up (contiguous memory) for the vertical distance to the
 * nearest source in each column; phase 2 takes, row by row, the lower envelope of the parabolas
 * (x - q)^2 dx^2 + g(q)^2 dy^2 and reads it where it is needed.
 */

const NONE = -1;

/** Phase 1: for each pixel, the number of rows to the nearest source in its column (NONE if the column has none). */
function columnDistances(sources: Uint8Array, width: number, height: number): Int32Array {
  const g = new Int32Array(width * height);
  for (let x = 0; x < width; x++) g[x] = sources[x] ? 0 : NONE;
  for (let y = 1; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const above = g[row - width + x];
      g[row + x] = sources[row + x] ? 0 : above === NONE ? NONE : above + 1;
    }
  }
  for (let y = height - 2; y >= 0; y--) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const below = g[row + width + x];
      const here = g[row + x];
      if (below !== NONE && (here === NONE || below + 1 < here)) g[row + x] = below + 1;
    }
  }
  return g;
}

/** Phase 2 scratch space for one row. */
class RowEnvelope {
  private readonly f: Float64Array;
  private readonly v: Int32Array;
  private readonly z: Float64Array;
  private k = -1;

  constructor(width: number, private readonly dx2: number, private readonly dy2: number) {
    this.f = new Float64Array(width);
    this.v = new Int32Array(width);
    this.z = new Float64Array(width + 1);
  }

  /** Builds the lower envelope of row `y`; false if no column of the image has a source. */
  build(g: Int32Array, row: number, width: number): boolean {
    const { f, v, z, dx2 } = this;
    let k = -1;
    for (let q = 0; q < width; q++) {
      const gq = g[row + q];
      if (gq === NONE) continue;
      const fq = gq * gq * this.dy2;
      f[q] = fq;
      const hq = fq + dx2 * q * q;
      let s = 0;
      while (k >= 0) {
        const p = v[k];
        s = (hq - (f[p] + dx2 * p * p)) / (2 * dx2 * (q - p));
        if (s > z[k]) break;
        k--;
      }
      k++;
      v[k] = q;
      z[k] = k === 0 ? -Infinity : s;
      z[k + 1] = Infinity;
    }
    this.k = k;
    return k >= 0;
  }

  /** Squared distance at column x of the row last built (queries in increasing x share a cursor). */
  private cursor = 0;

  reset(): void {
    this.cursor = 0;
  }

  at(x: number): number {
    const { v, z, f } = this;
    while (this.cursor < this.k && z[this.cursor + 1] < x) this.cursor++;
    const q = v[this.cursor];
    return (x - q) * (x - q) * this.dx2 + f[q];
  }
}

/** Throws unless `sources` is a Uint8Array of width x height values and the spacings are finite and > 0. */
function checkGrid(sources: Uint8Array, width: number, height: number, dy: number, dx: number): void {
  const fn = 'squaredDistanceTransform';
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${fn}: ${name} must be an integer >= 1, got ${JSON.stringify(v)}`);
  }
  if (!(sources instanceof Uint8Array) || sources.length !== width * height) {
    const got = sources instanceof Uint8Array ? `length ${sources.length}` : String((sources as unknown as object | null)?.constructor?.name ?? sources);
    throw new Error(`${fn}: sources must be a Uint8Array of width x height = ${width} x ${height} = ${width * height} values, got ${got}`);
  }
  for (const [name, v] of [['dy', dy], ['dx', dx]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${fn}: ${name} must be a finite number > 0, got ${JSON.stringify(v)}`);
  }
}

/**
 * Squared distance from every pixel of a width x height grid to the nearest source pixel
 * (`sources[i] !== 0`), with rows `dy` and columns `dx` apart; Infinity where there is no source.
 */
export function squaredDistanceTransform(sources: Uint8Array, width: number, height: number, dy = 1, dx = 1): Float64Array {
  checkGrid(sources, width, height, dy, dx);
  const out = new Float64Array(width * height).fill(Infinity);
  const g = columnDistances(sources, width, height);
  const envelope = new RowEnvelope(width, dx * dx, dy * dy);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (!envelope.build(g, row, width)) continue;
    envelope.reset();
    for (let x = 0; x < width; x++) out[row + x] = envelope.at(x);
  }
  return out;
}

/**
 * Euclidean distance from each query pixel (`queries[i] !== 0`, in row-major order) to the
 * nearest source pixel: the transform read only where needed, and rows without queries skipped.
 */
export function distancesAtQueries(
  sources: Uint8Array, queries: Uint8Array, width: number, height: number, dy = 1, dx = 1,
): Float64Array {
  let count = 0;
  for (let i = 0; i < queries.length; i++) count += queries[i] ? 1 : 0;
  const out = new Float64Array(count).fill(Infinity);
  const g = columnDistances(sources, width, height);
  const envelope = new RowEnvelope(width, dx * dx, dy * dy);
  let k = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    for (let x = 0; x < width; x++) if (queries[row + x]) { first = x; break; }
    if (first < 0) continue;
    const found = envelope.build(g, row, width);
    envelope.reset();
    for (let x = first; x < width; x++) {
      if (!queries[row + x]) continue;
      if (found) out[k] = Math.sqrt(envelope.at(x));
      k++;
    }
  }
  return out;
}
