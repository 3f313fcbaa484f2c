/**
 * WGSL programs for training-mode batch normalization over the last axis of x seen as
 * [rows, channels] (rows = every leading axis), in tfjs-backend-webgpu's WebGPUProgram
 * conventions (inputs named after `variableNames`, the output `result`, parameters in `uniforms`),
 * and a shader of several outputs that tfjs's programs cannot express.
 *
 * Both the batch moments and the closed-form gradient are two channel sums over all rows. The
 * stock Mean and Sum over leading axes transpose first and reduce each channel in one workgroup
 * (two dispatches each, 32 workgroups for 32 channels); composing batch norm from them and the
 * elementwise kernels takes about 30 dispatches per layer and training step. Here a first program
 * adds both sums for row chunks in parallel (partial sums [splits, 2, channels]), one shader
 * finishes every per-channel output, and for the gradient one elementwise program computes dx.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { channelLanes, gridStrideWorkgroups, reductionThreads, strandTotals } from './grid.js';
import type { RecordedShader } from './recorded-dispatch.js';

/** What the partial sums add up, per channel c: A and B. */
export type PartialSumKind =
  /** A = sum(x - s), B = sum((x - s)^2), with s = x[0, c]: shifted, so the variance does not cancel. */
  | 'moments'
  /** A = sum(dy), B = sum(dy (x - mean)). */
  | 'gradient';

/** Uniforms of every program here, in this order. */
const UNIFORMS = 'rows : i32, channels : i32, rowsPerSplit : i32, splits : i32, rate : f32, epsilon : f32, threads : i32,';

export interface BatchNormGeometry {
  rows: number;
  channels: number;
  rowsPerSplit: number;
  splits: number;
  /** 1 - momentum, for the moving averages. */
  rate: number;
  epsilon: number;
  /** Threads of the elementwise program (its grid-stride loop's stride). */
  threads: number;
}

export function batchNormUniforms(g: BatchNormGeometry): Array<{ type: 'int32' | 'float32'; data: number[] }> {
  return [
    { type: 'int32', data: [g.rows] },
    { type: 'int32', data: [g.channels] },
    { type: 'int32', data: [g.rowsPerSplit] },
    { type: 'int32', data: [g.splits] },
    { type: 'float32', data: [g.rate] },
    { type: 'float32', data: [g.epsilon] },
    { type: 'int32', data: [g.threads] },
  ];
}

/**
 * Threads per workgroup of the partial sums. The sums wait on memory latency, not bandwidth: with
 * 64 threads and one load at a time per thread, batch norm's two kernels took 9.0-9.8 ms of a
 * U-Net step's GPU time on an H200; with 256 and two, 4.8-5.2 ms.
 */
export const PARTIAL_SUM_THREADS = 256;

/**
 * WGSL of dy at flat index i: with `rectified`, dy * step(y) for the rectified output y (ReLU's
 * gradient, as tfjs-webgpu's Step and Multiply compute it: NaN where y is NaN), so a batch norm
 * followed by a ReLU takes the ReLU's gradient inside its own; else dy itself.
 */
function dyAt(i: string, rectified: boolean): string {
  return rectified ? `rectifiedDy(${i})` : `dy[${i}]`;
}

const RECTIFIED_DY = `
      fn rectifiedDy(i : i32) -> f32 {
        let v = y[i];
        var s = select(0.0, 1.0, v > 0.0);
        if (isnan(v)) {
          s = v;
        }
        return dy[i] * s;
      }`;

/**
 * Partial sums A and B of one row chunk per workgroup (workgroupId.z) for `lanes` channels
 * (workgroupId.x): 256 threads, 256 / lanes strands of rows added in workgroup memory.
 * Output [splits, 2, channels]. Inputs: x ('moments'); dy, x, mean, and y if `rectified`
 * ('gradient', see dyAt).
 */
export function partialSumsProgram(kind: PartialSumKind, channels: number, splits: number, rectified = false): WebGPUProgramSpec {
  const lanes = channelLanes(channels);
  const strands = PARTIAL_SUM_THREADS / lanes;
  // Two rows per iteration into two pairs of sums: two loads in flight per thread, not one after
  // the other (the sums are latency-bound, far from the memory's bandwidth).
  const accumulate = (row: string, suffix: string) => kind === 'moments'
    ? `let v${suffix} = x[${row} * uniforms.channels + c] - shift;
            a${suffix} += v${suffix};
            b${suffix} = fma(v${suffix}, v${suffix}, b${suffix});`
    : `let g${suffix} = ${dyAt(`${row} * uniforms.channels + c`, rectified)};
            a${suffix} += g${suffix};
            b${suffix} = fma(g${suffix}, x[${row} * uniforms.channels + c] - centre, b${suffix});`;
  const totals = strandTotals({ threads: PARTIAL_SUM_THREADS, lanes, strands }, { A: 'a0 + a1', B: 'b0 + b1' }, `
    result[(split * 2) * uniforms.channels + c] = totalA;
    result[(split * 2 + 1) * uniforms.channels + c] = totalB;`);
  return {
    outputShape: [splits, 2, channels],
    shaderKey: `saunet_batchNormPartialSums_${kind}${rectified ? '_rectified' : ''}_${lanes}`,
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [Math.ceil(channels / lanes), 1, splits],
    variableNames: kind === 'moments' ? ['x'] : ['dy', 'x', 'mean', ...(rectified ? ['y'] : [])],
    uniforms: UNIFORMS,
    workgroupSize: [PARTIAL_SUM_THREADS, 1, 1],
    getUserCode: () => `${rectified ? RECTIFIED_DY : ''}
      ${totals.declarations}

      fn main() {
        let lane = i32(localId.x);
        let lc = lane % ${lanes};
        let strand = lane / ${lanes};
        let c = i32(workgroupId.x) * ${lanes} + lc;
        let split = i32(workgroupId.z);
        let rBegin = split * uniforms.rowsPerSplit;
        let rEnd = min(rBegin + uniforms.rowsPerSplit, uniforms.rows);
        var a0 = 0.0;
        var b0 = 0.0;
        var a1 = 0.0;
        var b1 = 0.0;
        if (c < uniforms.channels) {
          ${kind === 'moments' ? 'let shift = x[c];' : 'let centre = mean[c];'}
          var r = rBegin + strand;
          for (; r + ${strands} < rEnd; r += ${2 * strands}) {
            ${accumulate('r', '0')}
            ${accumulate(`(r + ${strands})`, '1')}
          }
          if (r < rEnd) {
            ${accumulate('r', '0')}
          }
        }
        ${totals.code}
      }
    `,
  };
}

/**
 * The per-channel results of `kind`, finished from the partial sums in one dispatch (A, B: their
 * totals over the splits, added by the threads of a channel's strands, then in workgroup memory:
 * {@link totalsDispatch}). A tfjs program has a single output, so this is
 * a shader of its own (recorded-dispatch.ts), bound in this order:
 * - 'moments': partial, x, movingMean, movingVariance; then it writes mean = s + A / rows, variance
 *   = B / rows - (A / rows)^2, at least 0 (biased, as tf.moments), and the moving averages
 *   moving - (moving - batch value) rate. With `movingInPlace`: partial, x, then movingMean and
 *   movingVariance, which it overwrites with their new values, then mean and variance.
 * - 'gradient': partial, variance, mean, scale; then it writes offsetGrad = A (sum(dy)) and
 *   scaleGrad = B / sqrt(variance + epsilon), and every per-channel value dx needs, copied into
 *   one buffer (channelTerms: mean, variance, scale, offsetGrad, scaleGrad, each [C]), so that
 *   dx's program binds 4 or 5 storage buffers, not 8 or 9: WebGPU's default limit, which browsers
 *   keep, is 8.
 * Two per-channel programs and two moving averages (or two per-channel programs) took a dispatch
 * each, and a dispatch costs tfjs and Dawn about 0.05 ms of CPU time on a GPU machine whatever
 * its size: 22 batch norms of a U-Net step made 66 of these.
 */
export function channelResultsShader(kind: PartialSumKind, channels: number, movingInPlace = false): RecordedShader {
  const layout = reductionThreads(channels, 'totals');
  const { threads, lanes, strands } = layout;
  const inPlace = kind === 'moments' && movingInPlace;
  const reads = kind === 'moments' ? ['partial', 'x', ...(inPlace ? [] : ['movingMean', 'movingVariance'])] : ['partial', 'variance', 'mean', 'scale'];
  const writes = inPlace ? ['movingMean', 'movingVariance', 'mean', 'variance'] : CHANNEL_RESULTS[kind].map(([name]) => name);
  const [newMovingMean, newMovingVariance] = inPlace ? ['movingMean', 'movingVariance'] : ['newMovingMean', 'newMovingVariance'];
  const results = kind === 'moments'
    ? `let m = totalA / f32(uniforms.rows);
  let batchMean = x[c] + m;
  let batchVariance = max(totalB / f32(uniforms.rows) - m * m, 0.0);
  mean[c] = batchMean;
  variance[c] = batchVariance;
  ${newMovingMean}[c] = movingMean[c] - (movingMean[c] - batchMean) * uniforms.rate;
  ${newMovingVariance}[c] = movingVariance[c] - (movingVariance[c] - batchVariance) * uniforms.rate;`
    : `let dOffset = totalA;
  let dScale = totalB * inverseSqrt(variance[c] + uniforms.epsilon);
  offsetGrad[c] = dOffset;
  scaleGrad[c] = dScale;
  let channels = uniforms.channels;
  channelTerms[c] = mean[c];
  channelTerms[channels + c] = variance[c];
  channelTerms[2 * channels + c] = scale[c];
  channelTerms[3 * channels + c] = dOffset;
  channelTerms[4 * channels + c] = dScale;`;
  const totals = strandTotals(layout, { A: 'partA', B: 'partB' }, results);
  return {
    key: `saunet_batchNormChannelResults_${kind}${inPlace ? '_inPlace' : ''}_${threads}_${lanes}`,
    code: () => `
struct Uniforms { ${UNIFORMS} };
${[...reads.map((name) => `var<storage, read> ${name} : array<f32>;`), ...writes.map((name) => `var<storage, read_write> ${name} : array<f32>;`)]
    .map((declaration, binding) => `@group(0) @binding(${binding}) ${declaration}`).join('\n')}
@group(0) @binding(${reads.length + writes.length}) var<uniform> uniforms : Uniforms;

${totals.declarations}

@compute @workgroup_size(${threads}, 1, 1)
fn main(@builtin(local_invocation_id) local : vec3<u32>, @builtin(workgroup_id) group : vec3<u32>) {
  let lane = i32(local.x);
  let lc = lane % ${lanes};
  let strand = lane / ${lanes};
  let c = i32(group.x) * ${lanes} + lc;
  var partA = 0.0;
  var partB = 0.0;
  if (c < uniforms.channels) {
    for (var s = strand; s < uniforms.splits; s += ${strands}) {
      partA += partial[(s * 2) * uniforms.channels + c];
      partB += partial[(s * 2 + 1) * uniforms.channels + c];
    }
  }
  ${totals.code}
}
`,
  };
}

/** The outputs of channelResultsShader, in the order it binds them, and the values of each per channel. */
export const CHANNEL_RESULTS: Record<PartialSumKind, ReadonlyArray<readonly [name: string, perChannel: number]>> = {
  moments: [['mean', 1], ['variance', 1], ['newMovingMean', 1], ['newMovingVariance', 1]],
  gradient: [['offsetGrad', 1], ['scaleGrad', 1], ['channelTerms', 5]],
};

/** The workgroups of {@link channelResultsShader}'s dispatch for `channels` channels. */
export function totalsDispatch(channels: number): [number, number, number] {
  return [Math.ceil(channels / reductionThreads(channels, 'totals').lanes), 1, 1];
}

/**
 * dx = scale / sigma (dy - offsetGrad / rows - (x - mean) / sigma * scaleGrad / rows), sigma =
 * sqrt(variance + epsilon): the closed-form input gradient of batch norm with the batch's moments
 * (dy masked by the rectified output y if `rectified`: see dyAt). Output: x's shape, flat.
 */
export function inputGradProgram(size: number, rectified = false): WebGPUProgramSpec {
  return {
    outputShape: [size],
    shaderKey: `saunet_batchNormInputGrad${rectified ? '_rectified' : ''}`,
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(size), 1, 1],
    // channelTerms: mean, variance, scale, offsetGrad, scaleGrad (see channelResultsShader).
    variableNames: ['dy', 'x', 'channelTerms', ...(rectified ? ['y'] : [])],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `${rectified ? RECTIFIED_DY : ''}
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let size = uniforms.rows * uniforms.channels;
        let perRow = 1.0 / f32(uniforms.rows);
        for (var i = index; i < size; i += uniforms.threads) {
          let c = i % uniforms.channels;
          let n = uniforms.channels;
          let invSigma = inverseSqrt(channelTerms[n + c] + uniforms.epsilon);
          let xhat = (x[i] - channelTerms[c]) * invSigma;
          result[i] = channelTerms[2 * n + c] * invSigma * (${dyAt('i', rectified)} - channelTerms[3 * n + c] * perRow - xhat * channelTerms[4 * n + c] * perRow);
        }
      }
    `,
  };
}

/**
 * relu(batchNorm(x, mean, variance, offset, scale)) in one elementwise pass: the normalization as
 * tfjs-webgpu's BatchNormProgram writes it, then ReLU as its Relu does (NaN and -0 kept), so the
 * values are those of the two stock kernels bit for bit. Output: x's shape, flat.
 */
export function rectifiedNormalizeProgram(size: number): WebGPUProgramSpec {
  return {
    outputShape: [size],
    shaderKey: 'saunet_batchNormRelu',
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(size), 1, 1],
    variableNames: ['x', 'mean', 'variance', 'offset', 'scale'],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let size = uniforms.rows * uniforms.channels;
        for (var i = index; i < size; i += uniforms.threads) {
          let c = i % uniforms.channels;
          let inv = scale[c] * inverseSqrt(variance[c] + f32(uniforms.epsilon));
          let v = dot(vec3<f32>(x[i], -mean[c], offset[c]), vec3<f32>(inv, inv, 1.0));
          result[i] = select(v, 0.0, v < 0.0);
        }
      }
    `,
  };
}
