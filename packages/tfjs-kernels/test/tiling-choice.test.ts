/**
 * Which tiling the webgpu matrix products get per shape (tiling-choice.ts): the shapes of a U-Net's
 * and an SA-U-Net's Adam step at 256x256, batch 4, with the choice the H200 measurements made.
 */
import { describe, expect, it } from 'vitest';
import { filterGradTiling, forwardSplit, forwardTiledProductPays, LARGE_TILES, SMALL_TILES } from '../src/webgpu/tiling-choice.js';
import type { ConvGeometry } from '../src/webgpu/conv-program-geometry.js';
import { registeredForwardSplit } from '../src/webgpu/conv-forward.js';
import { inSerialLayout } from '../../../test-utils/webgpu.js';

describe('filterGradTiling', () => {
  // [filter rows (height x width x input channels), output channels, the tile of the fastest tiling measured]
  it.each([
    [288, 32, 64], [576, 32, 64], [576, 64, 64], [1152, 64, 64], [1152, 128, 64], [2304, 128, 64], [2304, 256, 64],
    [1152, 256, 64], [576, 128, 64], [288, 64, 64], // fewer than 1,024 tiles of 32x32: the pixels are split; 64x64 tiles
    [4608, 256, 32], [4608, 512, 32], [2304, 512, 32], // at least 1,024 tiles of 32x32: no split; 32x32 tiles
    [32, 1, 32], [9, 32, 32], [8, 8, 32], [32, 8, 32], [1, 8, 32], // one side under 32: 32x32 tiles
  ])('rows %i, columns %i: %ix%i tiles', (rows, cols, tile) => {
    expect(filterGradTiling(rows, cols)).toEqual(tile === 64 ? LARGE_TILES : SMALL_TILES);
  });

  it('both tilings have 4 rows per thread and are 16 deep', () => {
    expect([SMALL_TILES, LARGE_TILES]).toEqual([{ tile: 32, rowsPerThread: 4, tileK: 16 }, { tile: 64, rowsPerThread: 4, tileK: 16 }]);
  });
});

describe('forwardTiledProductPays', () => {
  // [output pixels (batch x height x width), output channels, whether the tiled product runs (measured: faster, or at batch 1 as fast)]
  it.each([
    [4 * 128 * 128, 64, true], [4 * 64 * 64, 256, true], [4 * 256 * 256, 64, true], [128 * 128, 64, true], // 2^20 outputs or more, 64+ channels
    [4 * 256 * 256, 32, false], [256 * 256, 32, false], // under 64 channels
    [64 * 64, 128, false], [4 * 16 * 16, 512, false], [16 * 16, 512, false], // under 2^20 outputs
  ])('%i pixels, %i channels: %s', (pixels, channels, pays) => {
    expect(forwardTiledProductPays(pixels, channels)).toBe(pays);
  });
});

describe('forwardSplit', () => {
  /** A 3x3 'same' convolution of a [batch, side, side, inChannels] input to outChannels. */
  const conv = (batch: number, side: number, inChannels: number, outChannels: number): ConvGeometry => ({
    batch, inHeight: side, inWidth: side, inChannels, outHeight: side, outWidth: side, outChannels, filterHeight: 3, filterWidth: 3,
    strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1, padTop: 1, padLeft: 1,
  });
  // U-Net at batch 1, base 32: [side, in, out, splits with 32x32 tiles (1: none)]
  it.each([
    [16, 512, 512, 8], [16, 256, 512, 8], [32, 256, 256, 4], [32, 512, 256, 4], [32, 128, 256, 4], // few tiles, long reductions
    [64, 128, 128, 1], // 512 tiles: enough
    [256, 32, 32, 1], [128, 64, 64, 1], // many tiles
    [16, 64, 64, 1], // a short reduction (576)
  ])('%ix%i, %i -> %i channels: %i splits', (side, inChannels, outChannels, splits) => {
    const split = forwardSplit(conv(1, side, inChannels, outChannels), SMALL_TILES);
    if (splits === 1) {
      expect(split).toBeNull();
      return;
    }
    expect(split!.splits).toBe(splits);
    const depth = 9 * inChannels;
    expect(split!.chunk % SMALL_TILES.tileK).toBe(0);
    expect(split!.chunk).toBeGreaterThanOrEqual(256);
    expect(split!.splits * split!.chunk).toBeGreaterThanOrEqual(depth); // every row of r in a chunk
    expect((split!.splits - 1) * split!.chunk).toBeLessThan(depth); // and no chunk empty
  });
});

describe('registeredForwardSplit', () => {
  const deep: ConvGeometry = {
    batch: 1, inHeight: 16, inWidth: 16, inChannels: 512, outHeight: 16, outWidth: 16, outChannels: 512, filterHeight: 3, filterWidth: 3,
    strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1, padTop: 1, padLeft: 1,
  };
  it('is forwardSplit with 32x32 tiles, and none in the \'serial\' reduction layout (the kernels measured on 2026-12-04)', async () => {
    expect(registeredForwardSplit(deep)).toEqual(forwardSplit(deep, SMALL_TILES));
    expect(registeredForwardSplit(deep)).not.toBeNull();
    await inSerialLayout(() => expect(registeredForwardSplit(deep)).toBeNull());
  });
});
