/**
 * Which tiling each of this package's matrix products gets, by the shape of the product. Measured
 * on an H200 on 2026-12-04 (packages/bench/measurements/h200-2026-12-04, folder 6: the bench's
 * gpu-filter-grad.ts and gpu-conv-forward.ts, every tiling on every convolution of a U-Net and an
 * SA-U-Net at 256x256): of the 8 tilings two were fastest on nearly every shape, 32x32 and 64x64
 * tiles with 4 rows per thread, 16 deep (the others won a few shapes, by little); the rules below
 * pick between them (and the stock shader) as those measurements did, shape by shape. Measured
 * again with the rules in place (folder 7): a U-Net step's filter gradients 0.78x the GPU time of
 * 32x32 tiles everywhere, its convolutions 0.84x that of the stock shader. (Dawn rounded those
 * timestamps to 65.536 microseconds, so the times per call compared there are coarse; the totals
 * hold. setupNodeWebGPU now asks for exact ones.)
 */
import { chooseSplits, FILTER_GRAD_WORKGROUPS } from './grid.js';
import type { ProductTiling } from './product-tiling.js';
import type { ConvGeometry } from './conv-program-geometry.js';

/** 32x32 tiles, 64 threads of 4x4 outputs, 16 deep. */
export const SMALL_TILES: ProductTiling = { tile: 32, rowsPerThread: 4, tileK: 16 };
/** 64x64 tiles, 256 threads of 4x4 outputs, 16 deep. */
export const LARGE_TILES: ProductTiling = { tile: 64, rowsPerThread: 4, tileK: 16 };

/**
 * The tiling of the Conv2D filter gradient, a product of `rows` (filter height x width x input
 * channels) by `cols` (output channels) summed over every output pixel of the batch.
 * 64x64 tiles where both sides are at least 32 and 32x32 tiles would leave fewer than 1,024
 * tiles: the pixels are then split into chunks to reach about 1,024 workgroups either way, and
 * those of 256 threads keep 4x as many threads busy as those of 64 (U-Net at 256x256: 0.37-0.75x
 * the time per call). 32x32 where there are enough tiles without a split (the larger tiles would
 * add a split and a sum of its partials: 1.4-4.3x the time) or one side is under 32 (most of a
 * 64x64 tile idle: up to 2.7x). Filter gradients of one Adam step (batch 4) on the H200: U-Net
 * 21.0 ms with 32x32 everywhere, 15.9 with 64x64 everywhere, 12.8 by this rule (the fastest of all
 * 8 tilings for every U-Net shape); SA-U-Net 14.5, 17.8 and 14.2.
 */
export function filterGradTiling(rows: number, cols: number): ProductTiling {
  const smallTiles = Math.ceil(rows / SMALL_TILES.tile) * Math.ceil(cols / SMALL_TILES.tile);
  return rows >= 32 && cols >= 32 && smallTiles < FILTER_GRAD_WORKGROUPS ? LARGE_TILES : SMALL_TILES;
}

/** Output pixels x output channels from which the forward convolution's tiled product beats the stock shader. */
const FORWARD_MIN_OUTPUTS = 2 ** 20;

/**
 * Whether a forward convolution (Conv2D, FusedConv2D; also the composed input gradient of a
 * Conv2D, which is one) of `pixels` output pixels (batch x height x width) and `outChannels`
 * runs faster as this package's tiled product with {@link LARGE_TILES} than as tfjs's conv2d_mm
 * shader: with at least 64 output channels and 2^20 outputs. On the H200, U-Net at 256x256: the
 * convolutions of an Adam step (batch 4) took 35.7 ms of GPU time by this rule against 45.9 ms
 * stock (where it applies 0.4-0.9x the time per call, one shape 1.2x); below 64 channels most of a
 * 64-wide tile idles (up to 4x slower) and smaller outputs tie or lose. Batch-1 inference: 6.6
 * against 6.9 ms; an SA-U-Net's convolutions (1x1, few channels) all stay stock.
 */
export function forwardTiledProductPays(pixels: number, outChannels: number): boolean {
  return outChannels >= 64 && pixels * outChannels >= FORWARD_MIN_OUTPUTS;
}

/** How a forward convolution's product is split along its reduction: chunks of `chunk` rows of r. */
export interface ForwardSplit {
  splits: number;
  chunk: number;
}

/** Output tiles below which {@link forwardSplit} splits the reduction. */
const FORWARD_SPLIT_BELOW_TILES = 512;

/**
 * A split of the forward product's reduction (filter height x width x input channels) for
 * convolutions with fewer than 512 output tiles of `tiling` and a reduction of at least 1,024:
 * chunks of at least 256 (a multiple of the tile depth) to reach about 1,024 workgroups, as the
 * filter gradients do; else null (no split). At batch 1 a U-Net's convolutions at 32x32 and 16x16
 * pixels have 64 to 256 tiles of 32x32 and reductions of 1,152 to 4,608 (up to 288 tile steps one
 * after another per workgroup): on an H200 (2026-12-04) those of 16x16 ran at about a quarter of
 * the arithmetic rate of those of 256x256 (1.2 GFLOP in 0.26 against 0.07 ms). Registered with
 * {@link SMALL_TILES} since 2026-12-05 (conv-forward.ts, not in REDUCTION_LAYOUT 'serial'), before
 * a GPU has timed it: the bench's gpu-reductions.ts and gpu-conv-forward.ts do.
 */
export function forwardSplit(g: ConvGeometry, tiling: ProductTiling): ForwardSplit | null {
  const tiles = Math.ceil((g.batch * g.outHeight * g.outWidth) / tiling.tile) * Math.ceil(g.outChannels / tiling.tile);
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  if (tiles >= FORWARD_SPLIT_BELOW_TILES || depth < 1024) return null;
  const { splits, kPerSplit } = chooseSplits(depth, tiles, FILTER_GRAD_WORKGROUPS, 256, tiling.tileK);
  return splits > 1 ? { splits, chunk: kPerSplit } : null;
}
