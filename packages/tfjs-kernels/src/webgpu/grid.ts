/**
 * How this package's WGSL programs divide their work into workgroups: split reductions, channel
 * lanes, grid-stride loops. One place, since every program here uses the same three shapes.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';

/** Threads per workgroup of the elementwise and reduction programs. */
export const WORKGROUP = 64;

/** Beyond this many workgroups, threads loop (grid stride): dispatch sizes stay within WebGPU's limits. */
const MAX_WORKGROUPS = 4096;

/** Workgroups the filter gradients' split reductions aim at (more, 4,096, were slower on an H200). */
export const FILTER_GRAD_WORKGROUPS = 1024;

/** How many chunks to split a reduction of length K into: enough workgroups to fill a large GPU, chunks of at least `minChunk`. */
export function chooseSplits(kTotal: number, tiles: number, targetWorkgroups = FILTER_GRAD_WORKGROUPS, minChunk = 256, multiple = 16): { splits: number; kPerSplit: number } {
  const wanted = Math.max(1, Math.ceil(targetWorkgroups / Math.max(1, tiles)));
  const maxSplits = Math.max(1, Math.floor(kTotal / minChunk));
  const splits0 = Math.min(wanted, maxSplits);
  const kPerSplit = Math.ceil(Math.ceil(kTotal / splits0) / multiple) * multiple;
  return { splits: Math.ceil(kTotal / kPerSplit), kPerSplit };
}

/**
 * Workgroups the partial sums aim at. Fewer than the filter gradients' 1,024: one thread per
 * channel finishes the sums and loops over every chunk, so chunks stay at most 256 per channel
 * (a few hundred workgroups of 64 threads still keep a large GPU's memory busy).
 */
export const PARTIAL_SUM_WORKGROUPS = 256;

/** Channels per workgroup of a per-channel reduction: a power of two up to 64 (adjacent threads read adjacent channels). */
export function channelLanes(channels: number): number {
  return Math.min(WORKGROUP, 2 ** Math.ceil(Math.log2(Math.max(1, channels))));
}

/** Workgroups of a grid-stride loop over n elements: one thread per element up to MAX_WORKGROUPS * WORKGROUP threads. */
export function gridStrideWorkgroups(n: number): number {
  return Math.min(MAX_WORKGROUPS, Math.max(1, Math.ceil(n / WORKGROUP)));
}

/** Workgroups of a grid-stride loop over n elements, and the uniforms such a program leads with: n, then the stride. */
export function gridStride(n: number): { workgroups: number; uniforms: Array<{ type: 'int32'; data: number[] }> } {
  const workgroups = gridStrideWorkgroups(n);
  return { workgroups, uniforms: [{ type: 'int32', data: [n] }, { type: 'int32', data: [workgroups * WORKGROUP] }] };
}

/**
 * An elementwise program of tfjs-backend-webgpu over n flat indices: `body` (WGSL) runs for each
 * index i in a grid-stride loop, reading the inputs `variableNames` and writing result[i]; its
 * uniforms are gridStride(n)'s (size, threads), then `extraUniforms` (WGSL struct fields).
 */
export function gridStrideProgram(shaderKey: string, variableNames: string[], n: number, body: string, extraUniforms = ''): WebGPUProgramSpec {
  return {
    outputShape: [n],
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(n), 1, 1],
    variableNames,
    uniforms: `size : i32, threads : i32,${extraUniforms === '' ? '' : ` ${extraUniforms}`}`,
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        for (var i = index; i < uniforms.size; i += uniforms.threads) {
          ${body}
        }
      }
    `,
  };
}
