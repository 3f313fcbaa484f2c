/**
 * Boundary (surface) distances between two masks, computed once; the Hausdorff distance, its
 * percentile variants, the average symmetric surface distance and the surface Dice at a tolerance
 * are all derived from them.
 *
 * - Boundary: the foreground pixels with a 4-neighbour that is background or outside the image.
 * - Distances between pixel centres, rows `spacing[0]` and columns `spacing[1]` apart.
 * - The distance from each boundary pixel of one mask to the nearest boundary pixel of the other
 *   comes from an exact Euclidean distance transform over the bounding box of both boundaries,
 *   so the cost is O(pixels of that box), never O(boundary^2).
 */
import { checkPolicy, safeRatio, type EmptyPolicy } from './confusion.js';
import { distancesAtQueries } from './distance-transform.js';
import { binarizePrediction, binarizeTruth, checkSameSize, type BinaryMask, type MaskInput } from './mask.js';
import { checkOptions, HAUSDORFF_OPTIONS, SURFACE_DICE_OPTIONS, SURFACE_OPTIONS } from './options.js';

/** Pixel spacing `[dy, dx]`: the distance between pixel centres along rows (y) and columns (x), e.g. in mm. */
export type Spacing = [number, number];

/**
 * The boundary distances of a prediction and a truth, computed once per pair: every surface metric
 * (Hausdorff, HDp, ASSD, surface Dice) is derived from them.
 */
export interface SurfaceDistances {
  /** Distance from each boundary pixel of pred to the nearest boundary pixel of truth. */
  predToTruth: Float64Array;
  /** Distance from each boundary pixel of truth to the nearest boundary pixel of pred. */
  truthToPred: Float64Array;
  /** Image diagonal in spacing units (the 'diagonal' miss penalty). */
  diagonal: number;
  /** Which mask has no foreground ('none' when both have some): then both distance sets are empty. */
  empty: 'none' | 'pred' | 'truth' | 'both';
}

/** Throws unless `mask` is { data: Uint8Array of width x height values, width, height }. */
function checkBinaryMask(mask: BinaryMask): void {
  const { data, width, height } = (mask ?? {}) as Partial<BinaryMask>;
  const sized = Number.isInteger(width) && Number.isInteger(height) && width! >= 1 && height! >= 1;
  if (!sized || !(data instanceof Uint8Array) || data.length !== width! * height!) {
    const got = mask === null || typeof mask !== 'object' ? String(mask)
      : `width ${JSON.stringify(width)}, height ${JSON.stringify(height)} and ${data instanceof Uint8Array ? `${data.length} values` : 'no Uint8Array data'}`;
    throw new Error(`boundaryOf: expected a binary mask { data: Uint8Array of width x height values, width, height }, got ${got}`);
  }
}

/** Boundary pixels of a mask (4-neighbourhood; outside the image counts as background). */
export function boundaryOf(mask: BinaryMask): Uint8Array {
  checkBinaryMask(mask);
  return boundaryPixels(mask);
}

/** {@link boundaryOf} of a mask already checked (the surface distances' binarized inputs). */
function boundaryPixels({ data, width, height }: BinaryMask): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!data[i]) continue;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1
        || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width]) out[i] = 1;
    }
  }
  return out;
}

export function checkSpacing(spacing: unknown, argName = 'spacing'): Spacing {
  if (!Array.isArray(spacing) || spacing.length !== 2 || !spacing.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
    throw new Error(`${argName}: expected [dy, dx] with two finite numbers > 0, got ${JSON.stringify(spacing)}`);
  }
  return spacing as Spacing;
}

interface Box { x0: number; y0: number; x1: number; y1: number }

function boundingBox(a: Uint8Array, b: Uint8Array, width: number, height: number): Box | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (a[i] || b[i]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

function crop(data: Uint8Array, width: number, box: Box): Uint8Array {
  const w = box.x1 - box.x0 + 1;
  const h = box.y1 - box.y0 + 1;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(data.subarray((box.y0 + y) * width + box.x0, (box.y0 + y) * width + box.x1 + 1), y * w);
  return out;
}

/** Both directed boundary-distance sets of two binary masks of the same size. */
export function surfaceDistancesOfMasks(pred: BinaryMask, truth: BinaryMask, spacing: Spacing = [1, 1]): SurfaceDistances {
  const [dy, dx] = checkSpacing(spacing);
  const { width, height } = pred;
  const diagonal = Math.hypot(height * dy, width * dx);
  const predEdge = boundaryPixels(pred);
  const truthEdge = boundaryPixels(truth);
  const hasPred = predEdge.includes(1);
  const hasTruth = truthEdge.includes(1);
  if (!hasPred || !hasTruth) {
    const empty = hasPred ? 'truth' : hasTruth ? 'pred' : 'both';
    return { predToTruth: new Float64Array(0), truthToPred: new Float64Array(0), diagonal, empty };
  }
  // Every source and every query lies in this box, so the transform over it is exact.
  const box = boundingBox(predEdge, truthEdge, width, height)!;
  const w = box.x1 - box.x0 + 1;
  const h = box.y1 - box.y0 + 1;
  const p = crop(predEdge, width, box);
  const t = crop(truthEdge, width, box);
  return {
    predToTruth: distancesAtQueries(t, p, w, h, dy, dx),
    truthToPred: distancesAtQueries(p, t, w, h, dy, dx),
    diagonal,
    empty: 'none',
  };
}

/** Options of the surface-distance metrics. */
export interface SurfaceOptions {
  /** Prediction values > threshold are foreground. Default 0.5. */
  threshold?: number;
  /** [dy, dx] pixel spacing (e.g. mm per pixel). Default [1, 1]. */
  spacing?: Spacing;
  /**
   * When exactly one mask is empty: `'infinity'` (default) returns Infinity; `'diagonal'` returns
   * the image diagonal in spacing units, so that means stay finite. Both empty: NaN.
   */
  missPenalty?: 'infinity' | 'diagonal';
}

/** Options of {@link hausdorffDistance}. */
export interface HausdorffOptions extends SurfaceOptions {
  /** Percentile of the boundary distances: 100 (default) = the maximum; 95 = HD95. */
  percentile?: number;
  /** Only the directed distance from pred to truth. Default false (the max of both directions). */
  directed?: boolean;
}

/** Options of {@link surfaceDice}. */
export interface SurfaceDiceOptions {
  /**
   * Required: the largest distance from a boundary pixel to the other mask's boundary that still
   * counts as agreement, in spacing units (pixels by default; mm with a spacing in mm). 0 counts
   * only boundary pixels the two masks share.
   */
  tolerance: number;
  /** Prediction values > threshold are foreground. Default 0.5. */
  threshold?: number;
  /** [dy, dx] pixel spacing (e.g. mm per pixel). Default [1, 1]. */
  spacing?: Spacing;
  /** Both masks empty (no boundary at all): 'nan' (default), 'one' or 'zero'. One empty: 0 always. */
  empty?: EmptyPolicy;
}

/**
 * The p-th percentile of values, linearly interpolated between closest ranks (numpy's default);
 * NaN for no values.
 *
 * @param p from 0 to 100 (anything else throws)
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  checkPercentile(p);
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const position = ((sorted.length - 1) * p) / 100;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function maxOf(values: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

export function checkMissPenalty(missPenalty: unknown): 'infinity' | 'diagonal' {
  if (missPenalty === undefined) return 'infinity';
  if (missPenalty !== 'infinity' && missPenalty !== 'diagonal') {
    throw new Error(`missPenalty: expected 'infinity' or 'diagonal', got ${JSON.stringify(missPenalty)}`);
  }
  return missPenalty;
}

function missValue(distances: SurfaceDistances, missPenalty: unknown): number | null {
  // Checked first, so a misspelt penalty fails on every image, not only on the first missed one.
  const penalty = checkMissPenalty(missPenalty);
  if (distances.empty === 'none') return null;
  if (distances.empty === 'both') return NaN;
  return penalty === 'infinity' ? Infinity : distances.diagonal;
}

export function checkPercentile(p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) {
    throw new Error(`percentile: expected a number from 0 to 100, got ${JSON.stringify(p)}`);
  }
  return p;
}

/** Hausdorff distance (or HDp, or directed) from precomputed surface distances. */
export function hausdorffFromDistances(distances: SurfaceDistances, opts: HausdorffOptions = {}): number {
  checkOptions(opts, HAUSDORFF_OPTIONS, 'hausdorffFromDistances');
  return hausdorffOf(distances, opts);
}

/** {@link hausdorffFromDistances} for options already checked (the per-image path of `evaluate`). */
export function hausdorffOf(distances: SurfaceDistances, opts: HausdorffOptions): number {
  const p = checkPercentile(opts.percentile ?? 100);
  const miss = missValue(distances, opts.missPenalty);
  if (miss !== null) return miss;
  const stat = (values: Float64Array) => (p === 100 ? maxOf(values) : percentile(values, p));
  const forward = stat(distances.predToTruth);
  return opts.directed ? forward : Math.max(forward, stat(distances.truthToPred));
}

/** Average symmetric surface distance: the mean of both directed distance sets pooled together. */
export function averageSurfaceFromDistances(distances: SurfaceDistances, opts: SurfaceOptions = {}): number {
  checkOptions(opts, SURFACE_OPTIONS, 'averageSurfaceFromDistances');
  return averageSurfaceOf(distances, opts);
}

/** {@link averageSurfaceFromDistances} for options already checked. */
export function averageSurfaceOf(distances: SurfaceDistances, opts: SurfaceOptions): number {
  const miss = missValue(distances, opts.missPenalty);
  if (miss !== null) return miss;
  let sum = 0;
  for (const v of distances.predToTruth) sum += v;
  for (const v of distances.truthToPred) sum += v;
  return sum / (distances.predToTruth.length + distances.truthToPred.length);
}

/** `label` names the option in messages: 'surfaceDice: tolerance', or evaluate's 'surfaceDiceTolerance'. */
export function checkTolerance(tolerance: unknown, label: string): number {
  if (tolerance === undefined) throw new Error(`${label} is required: the largest boundary distance that counts as agreement, in spacing units`);
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error(`${label}: expected a finite number >= 0 (in spacing units), got ${JSON.stringify(tolerance)}`);
  }
  return tolerance;
}

/**
 * Surface Dice at a tolerance (normalized surface distance, NSD; Nikolov et al. 2021) from
 * precomputed surface distances: the fraction of both boundaries, pooled, that lies within
 * `tolerance` of the other boundary.
 */
export function surfaceDiceFromDistances(distances: SurfaceDistances, opts: SurfaceDiceOptions): number {
  const { tolerance, empty } = surfaceDiceSettings(opts, 'surfaceDiceFromDistances');
  return surfaceDiceOf(distances, tolerance, empty);
}

/** The options of `fn` checked, tolerance and policy included (the policy also where one mask is empty, which never reaches it). */
function surfaceDiceSettings(opts: SurfaceDiceOptions, fn: string): { tolerance: number; empty: EmptyPolicy } {
  checkOptions(opts, SURFACE_DICE_OPTIONS, fn);
  return { tolerance: checkTolerance(opts.tolerance, `${fn}: tolerance`), empty: checkPolicy(opts.empty ?? 'nan') };
}

/** {@link surfaceDiceFromDistances} for a tolerance already checked (the per-image path of `evaluate`). */
export function surfaceDiceOf(distances: SurfaceDistances, tolerance: number, empty: EmptyPolicy): number {
  // One boundary missing: none of the other lies within any tolerance of it.
  if (distances.empty === 'pred' || distances.empty === 'truth') return 0;
  let within = 0;
  for (const d of distances.predToTruth) if (d <= tolerance) within++;
  for (const d of distances.truthToPred) if (d <= tolerance) within++;
  return safeRatio(within, distances.predToTruth.length + distances.truthToPred.length, empty);
}

/** Both directed boundary-distance sets of a prediction (thresholded) and a binary truth. */
export function surfaceDistances(pred: MaskInput, truth: MaskInput, opts: SurfaceOptions = {}): SurfaceDistances {
  checkOptions(opts, SURFACE_OPTIONS, 'surfaceDistances');
  return distancesOf(pred, truth, opts);
}

function distancesOf(pred: MaskInput, truth: MaskInput, opts: SurfaceOptions): SurfaceDistances {
  const p = binarizePrediction(pred, opts.threshold ?? 0.5);
  const t = binarizeTruth(truth);
  checkSameSize(p, t, 'pred', 'truth');
  return surfaceDistancesOfMasks(p, t, opts.spacing ?? [1, 1]);
}

/**
 * Hausdorff distance between the boundaries of `pred` and `truth`: the max of the two directed
 * distances (or of their `percentile`-th percentiles; or pred -> truth only with `directed`).
 * One mask empty: Infinity, or the image diagonal with `missPenalty: 'diagonal'`; both empty: NaN.
 */
export function hausdorffDistance(pred: MaskInput, truth: MaskInput, opts: HausdorffOptions = {}): number {
  checkOptions(opts, HAUSDORFF_OPTIONS, 'hausdorffDistance');
  checkPercentile(opts.percentile ?? 100);
  return hausdorffOf(distancesOf(pred, truth, opts), opts);
}

/**
 * Average symmetric surface distance: the mean over the boundary pixels of both masks of the
 * distance to the other mask's boundary. Empty masks as in {@link hausdorffDistance}.
 */
export function averageSurfaceDistance(pred: MaskInput, truth: MaskInput, opts: SurfaceOptions = {}): number {
  checkOptions(opts, SURFACE_OPTIONS, 'averageSurfaceDistance');
  return averageSurfaceOf(distancesOf(pred, truth, opts), opts);
}

/**
 * Surface Dice at a tolerance (normalized surface distance, NSD): the boundary pixels of both masks
 * that lie within `tolerance` (spacing units) of the other mask's boundary, over all boundary pixels
 * of both. 1 when every boundary pixel has a counterpart that close, 0 when one mask is empty; both
 * empty: the `empty` policy (NaN by default).
 */
export function surfaceDice(pred: MaskInput, truth: MaskInput, opts: SurfaceDiceOptions): number {
  const { tolerance, empty } = surfaceDiceSettings(opts, 'surfaceDice');
  return surfaceDiceOf(distancesOf(pred, truth, opts), tolerance, empty);
}
