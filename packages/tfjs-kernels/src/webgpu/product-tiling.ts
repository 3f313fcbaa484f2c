/**
 * How this package's tiled matrix products (the Conv2D filter gradient, the forward convolution)
 * divide their work among a workgroup's threads, and the WGSL they share: the multiply-adds of one
 * tile. Which tiling is fastest depends on the GPU and the shape; the bench's GPU scripts measure.
 */

/** A tiling: square tiles of the output, rows and columns per thread, depth of the staged tiles. */
export interface ProductTiling {
  /** Rows and columns of a workgroup's square tile of the output. */
  tile: 32 | 64;
  /** Rows of the tile per thread; every thread has 4 columns (one vec4). */
  rowsPerThread: 4 | 8;
  /** Depth of the reduction staged in workgroup memory per step. */
  tileK: 16 | 32;
}

/** Every tiling there is a shader for. */
export const PRODUCT_TILINGS: readonly ProductTiling[] = ([32, 64] as const).flatMap((tile) => ([4, 8] as const).flatMap((rowsPerThread) =>
  ([16, 32] as const).map((tileK) => ({ tile, rowsPerThread, tileK }))));

/** Threads per workgroup of a tiling, [x (column vec4s), y (row groups)]. */
export function productThreads({ tile, rowsPerThread }: ProductTiling): [number, number] {
  return [tile / 4, tile / rowsPerThread];
}

/** Throws unless `tiling` is one of {@link PRODUCT_TILINGS} (each has at least `tile` and `tileK` threads, as the loaders need). */
export function checkProductTiling(tiling: ProductTiling): void {
  if (!PRODUCT_TILINGS.some((t) => t.tile === tiling.tile && t.rowsPerThread === tiling.rowsPerThread && t.tileK === tiling.tileK)) {
    throw new Error(`matrix-product tiling ${JSON.stringify(tiling)}: expected tile 32 or 64, rowsPerThread 4 or 8, tileK 16 or 32`);
  }
}

/**
 * WGSL: acc[i] += the products of one staged step, for a thread at (tx, ty): tileA [tileK][tile / 4]
 * (rows, as vec4s), tileB [tileK][tile / 4] (columns, as vec4s); acc : array<vec4<f32>, rowsPerThread>.
 */
export function tiledProductSteps({ rowsPerThread, tileK }: ProductTiling): string {
  const vec4sPerThread = rowsPerThread / 4;
  return `
          for (var kk = 0; kk < ${tileK}; kk++) {
            let b = tileB[kk][tx];
            for (var v = 0; v < ${vec4sPerThread}; v++) {
              let a = tileA[kk][ty * ${vec4sPerThread} + v];
              for (var i = 0; i < 4; i++) {
                acc[v * 4 + i] = fma(vec4<f32>(a[i]), b, acc[v * 4 + i]);
              }
            }
          }`;
}
