/**
 * WGSL programs for training-mode batch normalization over the last axis of x seen as
 * [rows, channels] (rows = every leading axis), in tfjs-backend-webgpu's WebGPUProgram
 * conventions (inputs named after `variableNames`, the output `result`, parameters in `uniforms`).
 *
 * Both the batch moments and the closed-form gradient are two channel sums over all rows. The
 * stock Mean and Sum over leading axes transpose first and reduce each channel in one workgroup
 * (two dispatches each, 32 workgroups for 32 channels); composing batch norm from them and the
 * elementwise kernels takes about 30 dispatches per layer and training step. Here a first program
 * adds both sums for row chunks in parallel (partial sums [splits, 2, channels]), small programs
 * finish one per-channel output each, and one elementwise program computes dx.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { channelLanes, gridStrideWorkgroups } from './grid.js';

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
const PARTIAL_SUM_THREADS = 256;

/**
 * Partial sums A and B of one row chunk per workgroup (workgroupId.z) for `lanes` channels
 * (workgroupId.x): 256 threads, 256 / lanes strands of rows added in workgroup memory.
 * Output [splits, 2, channels]. Inputs: x ('moments'); dy, x, mean ('gradient').
 */
export function partialSumsProgram(kind: PartialSumKind, channels: number, splits: number): WebGPUProgramSpec {
  const lanes = channelLanes(channels);
  const strands = PARTIAL_SUM_THREADS / lanes;
  // Two rows per iteration into two pairs of sums: two loads in flight per thread, not one after
  // the other (the sums are latency-bound, far from the memory's bandwidth).
  const accumulate = (row: string, suffix: string) => kind === 'moments'
    ? `let v${suffix} = x[${row} * uniforms.channels + c] - shift;
            a${suffix} += v${suffix};
            b${suffix} = fma(v${suffix}, v${suffix}, b${suffix});`
    : `let g${suffix} = dy[${row} * uniforms.channels + c];
            a${suffix} += g${suffix};
            b${suffix} = fma(g${suffix}, x[${row} * uniforms.channels + c] - centre, b${suffix});`;
  return {
    outputShape: [splits, 2, channels],
    shaderKey: `saunet_batchNormPartialSums_${kind}_${lanes}`,
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [Math.ceil(channels / lanes), 1, splits],
    variableNames: kind === 'moments' ? ['x'] : ['dy', 'x', 'mean'],
    uniforms: UNIFORMS,
    workgroupSize: [PARTIAL_SUM_THREADS, 1, 1],
    getUserCode: () => `
      var<workgroup> sumsA : array<f32, ${PARTIAL_SUM_THREADS}>;
      var<workgroup> sumsB : array<f32, ${PARTIAL_SUM_THREADS}>;

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
        sumsA[lane] = a0 + a1;
        sumsB[lane] = b0 + b1;
        workgroupBarrier();
        if (strand == 0 && c < uniforms.channels) {
          var totalA = 0.0;
          var totalB = 0.0;
          for (var s = 0; s < ${strands}; s++) {
            totalA += sumsA[s * ${lanes} + lc];
            totalB += sumsB[s * ${lanes} + lc];
          }
          result[(split * 2) * uniforms.channels + c] = totalA;
          result[(split * 2 + 1) * uniforms.channels + c] = totalB;
        }
      }
    `,
  };
}

/** A per-channel result finished from the partial sums (A, B: their totals over the splits). */
export type ChannelResult =
  /** s + A / rows. Inputs: partial, x. */
  | 'mean'
  /** B / rows - (A / rows)^2, at least 0 (the biased variance, as tf.moments). Inputs: partial. */
  | 'variance'
  /** A (the offset's gradient, sum(dy)). Inputs: partial. */
  | 'offsetGrad'
  /** B / sqrt(variance + epsilon) (the scale's gradient). Inputs: partial, variance. */
  | 'scaleGrad';

const CHANNEL_INPUTS: Record<ChannelResult, string[]> = {
  mean: ['partial', 'x'],
  variance: ['partial'],
  offsetGrad: ['partial'],
  scaleGrad: ['partial', 'variance'],
};

const CHANNEL_VALUE: Record<ChannelResult, string> = {
  mean: 'x[c] + totalA / f32(uniforms.rows)',
  variance: 'batchVariance(totalA, totalB)',
  offsetGrad: 'totalA',
  scaleGrad: 'totalB * inverseSqrt(variance[c] + uniforms.epsilon)',
};

/** One thread per channel adds the splits' partial sums and writes `what`. Output [channels]. */
export function channelResultProgram(what: ChannelResult, channels: number): WebGPUProgramSpec {
  return {
    outputShape: [channels],
    shaderKey: `saunet_batchNormChannel_${what}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(channels / 64), 1, 1],
    variableNames: CHANNEL_INPUTS[what],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      fn batchVariance(totalA : f32, totalB : f32) -> f32 {
        let m = totalA / f32(uniforms.rows);
        return max(totalB / f32(uniforms.rows) - m * m, 0.0);
      }

      // A flat dispatch layout: tfjs passes the global index (one thread per channel).
      fn main(index : i32) {
        let c = index;
        if (c >= uniforms.channels) {
          return;
        }
        var totalA = 0.0;
        var totalB = 0.0;
        for (var s = 0; s < uniforms.splits; s++) {
          totalA += partial[(s * 2) * uniforms.channels + c];
          totalB += partial[(s * 2 + 1) * uniforms.channels + c];
        }
        result[c] = ${CHANNEL_VALUE[what]};
      }
    `,
  };
}

/** moving - (moving - batch) * rate, per channel: a moving average's update from the batch's mean or variance. Output [channels]. */
export function movingAverageProgram(channels: number): WebGPUProgramSpec {
  return {
    outputShape: [channels],
    shaderKey: 'saunet_batchNormMovingAverage',
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(channels / 64), 1, 1],
    variableNames: ['moving', 'batch'],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index (one thread per channel).
      fn main(index : i32) {
        if (index < uniforms.channels) {
          result[index] = moving[index] - (moving[index] - batch[index]) * uniforms.rate;
        }
      }
    `,
  };
}


/**
 * dx = scale / sigma (dy - offsetGrad / rows - (x - mean) / sigma * scaleGrad / rows), sigma =
 * sqrt(variance + epsilon): the closed-form input gradient of batch norm with the batch's moments.
 * Output: x's shape, flat.
 */
export function inputGradProgram(size: number): WebGPUProgramSpec {
  return {
    outputShape: [size],
    shaderKey: 'saunet_batchNormInputGrad',
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(size), 1, 1],
    variableNames: ['dy', 'x', 'mean', 'variance', 'scale', 'offsetGrad', 'scaleGrad'],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let size = uniforms.rows * uniforms.channels;
        let perRow = 1.0 / f32(uniforms.rows);
        for (var i = index; i < size; i += uniforms.threads) {
          let c = i % uniforms.channels;
          let invSigma = inverseSqrt(variance[c] + uniforms.epsilon);
          let xhat = (x[i] - mean[c]) * invSigma;
          result[i] = scale[c] * invSigma * (dy[i] - offsetGrad[c] * perRow - xhat * scaleGrad[c] * perRow);
        }
      }
    `,
  };
}
