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

/**
 * How the per-channel reductions (batch norm's moments and gradient sums, channel attention's pixel
 * sums; also the depthwise filter gradient's row chunks, the separable convolution's input
 * channels and the forward convolution's reduction where its output tiles are few: channelRowSplits,
 * channelSlices, registeredForwardSplit) lay out their threads. On a GPU they wait on
 * memory latency, not bandwidth: a thread that adds n values one load after another takes about n
 * load latencies whatever the data's size.
 * - 'parallel' (the default): the partial sums in workgroups of 256 threads with two loads in
 *   flight each, and the totals over the partial sums divided among a workgroup's threads as well
 *   (channel lanes x strands, added in workgroup memory): at most 64 loads in a row per thread
 *   where the zoo's layers used to have up to 512.
 * - 'serial': the layout the H200 measured on 2026-12-04 (one thread per channel adds every partial
 *   sum, up to 256 in a row; channel attention's pixel sums in workgroups of 64 threads with one
 *   load in flight; its kernel gradient one thread per tap over every batch and channel), kept so
 *   that the bench's GPU scripts can time one against the other. Programs of both layouts have
 *   shader keys of their own.
 */
export const REDUCTION_LAYOUT: ReductionLayoutSetting = { current: 'parallel' };

/** The setting {@link REDUCTION_LAYOUT} holds. */
export interface ReductionLayoutSetting {
  /** 'parallel' (the default) or 'serial' (the layout of 2026-12-04, for comparisons on a GPU); read when a kernel runs. */
  current: 'parallel' | 'serial';
}

/** Threads per workgroup, channel lanes and loads in flight per thread of a per-channel reduction in the current {@link REDUCTION_LAYOUT}. */
export interface ReductionThreads {
  threads: number;
  lanes: number;
  /** threads / lanes: the threads that share a channel. */
  strands: number;
  /** Values each thread loads per iteration of its loop (one after another or together). */
  inFlight: 1 | 2;
}

/** {@link ReductionThreads} for `channels` channels: of the partial sums (`sums`) or of the program that totals them (`totals`). */
export function reductionThreads(channels: number, what: 'sums' | 'totals'): ReductionThreads {
  const serial = REDUCTION_LAYOUT.current === 'serial';
  const threads = serial ? WORKGROUP : 256;
  const lanes = serial && what === 'totals' ? WORKGROUP : channelLanes(channels);
  return { threads, lanes, strands: threads / lanes, inFlight: serial ? 1 : 2 };
}

/**
 * WGSL that ends a per-channel reduction whose workgroup is `lanes` channels times `strands`
 * threads each (lane = strand * lanes + lc, channel c): each thread's part of every quantity
 * (`parts`: name -> WGSL f32 expression) goes into workgroup memory, and the first strand of each
 * channel adds the strands' parts into `total<name>` and runs `finish` (where c < channels).
 * `declarations` go at module scope, `code` at the end of main().
 */
export function strandTotals({ threads, lanes, strands }: Pick<ReductionThreads, 'threads' | 'lanes' | 'strands'>, parts: Readonly<Record<string, string>>,
  finish: string): { declarations: string; code: string } {
  const names = Object.keys(parts);
  return {
    declarations: names.map((name) => `var<workgroup> strand${name} : array<f32, ${threads}>;`).join('\n'),
    code: `${names.map((name) => `strand${name}[lane] = ${parts[name]};`).join('\n')}
  workgroupBarrier();
  if (strand == 0 && c < uniforms.channels) {
    ${names.map((name) => `var total${name} = 0.0;`).join('\n')}
    for (var t = 0; t < ${strands}; t++) {
      ${names.map((name) => `total${name} += strand${name}[t * ${lanes} + lc];`).join('\n')}
    }
    ${finish}
  }`,
  };
}

/**
 * How a per-channel reduction over `rows` rows splits them among workgroups: `channelBlocks`
 * blocks of channels (times batch images where each has its own sums), `strands` threads per
 * channel in a workgroup, about `targetWorkgroups` in all. Chunks of at least 32 rows per strand,
 * up to 256 (fewer rows per thread where longer chunks would leave a few workgroups each adding
 * hundreds of rows in a row: a deep layer's 16x16 pixels); 256 in the 'serial' layout.
 */
export function channelRowSplits(rows: number, channelBlocks: number, strands: number, targetWorkgroups: number): { splits: number; kPerSplit: number } {
  const minChunk = REDUCTION_LAYOUT.current === 'serial' ? 256 : Math.min(256, 32 * strands);
  return chooseSplits(rows, channelBlocks, targetWorkgroups, minChunk, 1);
}

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
