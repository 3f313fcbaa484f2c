/**
 * WGSL of the soft Dice coefficient and its gradient, per sample over every value but the first
 * axis (the batch), as @sa-unet/seg-metrics' softDice defines it:
 *   dice = mean_b (2 I_b + smooth) / (S_b + smooth),  I_b = sum(t p),  S_b = sum(t) + sum(p).
 * Composed from stock kernels the loss and its gradient take about 23 dispatches per training step,
 * each on tensors of a few values but for two passes over the images (a dispatch costs tfjs and
 * Dawn about 0.05 ms of CPU time on a GPU machine whatever its size); here three: the partial sums
 * of chunks of each sample (a tfjs program), the per-sample sums and the mean (one shader, two
 * outputs), and both gradients in one elementwise pass (one shader, two outputs).
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import type { RecordedShader, StorageType } from './recorded-dispatch.js';

/** Threads per workgroup of the partial sums and the per-sample sums. */
export const DICE_THREADS = 256;

/** Uniforms of the partial sums: values per sample, per chunk, and chunks per sample. */
export function partialSumsUniforms(perSample: number, perSplit: number, splits: number): Array<{ type: 'int32'; data: number[] }> {
  return [perSample, perSplit, splits].map((v) => ({ type: 'int32' as const, data: [v] }));
}

/**
 * sum(t p) and sum(t) + sum(p) of one chunk of one sample per workgroup (workgroupId.x the chunk,
 * workgroupId.y the sample). Output [batch, splits, 2].
 */
export function dicePartialSumsProgram(batch: number, splits: number): WebGPUProgramSpec {
  return {
    outputShape: [batch, splits, 2],
    shaderKey: 'saunet_softDicePartialSums',
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [splits, batch, 1],
    variableNames: ['yTrue', 'yPred'],
    uniforms: 'perSample : i32, perSplit : i32, splits : i32,',
    workgroupSize: [DICE_THREADS, 1, 1],
    getUserCode: () => `
      var<workgroup> products : array<f32, ${DICE_THREADS}>;
      var<workgroup> totals : array<f32, ${DICE_THREADS}>;

      fn main() {
        let lane = i32(localId.x);
        let split = i32(workgroupId.x);
        let sample = i32(workgroupId.y);
        let begin = split * uniforms.perSplit;
        let end = min(begin + uniforms.perSplit, uniforms.perSample);
        let offset = sample * uniforms.perSample;
        var product = 0.0;
        var total = 0.0;
        for (var i = begin + lane; i < end; i += ${DICE_THREADS}) {
          // f32(): a mask cast to float32 by the stock Cast keeps its int32 buffer, which tfjs binds as such.
          let t = f32(yTrue[offset + i]);
          let p = f32(yPred[offset + i]);
          product = fma(t, p, product);
          total += t + p;
        }
        products[lane] = product;
        totals[lane] = total;
        workgroupBarrier();
        for (var stride = ${DICE_THREADS / 2}; stride > 0; stride /= 2) {
          if (lane < stride) {
            products[lane] += products[lane + stride];
            totals[lane] += totals[lane + stride];
          }
          workgroupBarrier();
        }
        if (lane == 0) {
          let at = (sample * uniforms.splits + split) * 2;
          result[at] = products[0];
          result[at + 1] = totals[0];
        }
      }
    `,
  };
}

const FINISH_UNIFORMS = 'batch : i32, splits : i32, smoothing : f32,';

/**
 * From the partial sums: sums [batch, 2] (I_b, S_b) and dice, the mean over the batch of
 * (2 I_b + smooth) / (S_b + smooth). One workgroup; bound: partial, dice, sums.
 */
export const diceFinishShader: RecordedShader = {
  key: 'saunet_softDiceFinish',
  code: () => `
struct Uniforms { ${FINISH_UNIFORMS} };
@group(0) @binding(0) var<storage, read> partial : array<f32>;
@group(0) @binding(1) var<storage, read_write> dice : array<f32>;
@group(0) @binding(2) var<storage, read_write> sums : array<f32>;
@group(0) @binding(3) var<uniform> uniforms : Uniforms;

var<workgroup> ratios : array<f32, ${DICE_THREADS}>;

@compute @workgroup_size(${DICE_THREADS}, 1, 1)
fn main(@builtin(local_invocation_id) localId : vec3<u32>) {
  let lane = i32(localId.x);
  var ratio = 0.0;
  for (var b = lane; b < uniforms.batch; b += ${DICE_THREADS}) {
    var product = 0.0;
    var total = 0.0;
    for (var s = 0; s < uniforms.splits; s++) {
      product += partial[(b * uniforms.splits + s) * 2];
      total += partial[(b * uniforms.splits + s) * 2 + 1];
    }
    sums[b * 2] = product;
    sums[b * 2 + 1] = total;
    ratio += (2.0 * product + uniforms.smoothing) / (total + uniforms.smoothing);
  }
  ratios[lane] = ratio;
  workgroupBarrier();
  for (var stride = ${DICE_THREADS / 2}; stride > 0; stride /= 2) {
    if (lane < stride) {
      ratios[lane] += ratios[lane + stride];
    }
    workgroupBarrier();
  }
  if (lane == 0) {
    dice[0] = ratios[0] / f32(uniforms.batch);
  }
}
`,
};

export function finishUniforms(batch: number, splits: number, smooth: number): Array<{ type: 'int32' | 'float32'; data: number[] }> {
  return [{ type: 'int32', data: [batch] }, { type: 'int32', data: [splits] }, { type: 'float32', data: [smooth] }];
}

const GRAD_UNIFORMS = 'size : i32, threads : i32, perSample : i32, batch : i32, smoothing : f32,';

/**
 * The gradients of dice for yTrue and yPred, scaled by dy, in one grid-stride pass:
 *   d dice / d p_i = (2 t_i (S_b + smooth) - (2 I_b + smooth)) / (batch (S_b + smooth)^2)
 * (and t, p swapped for yTrue), for masks stored as `trueType` and `predType`. Bound: dy (a
 * scalar), yTrue, yPred, sums, dTrue, dPred.
 */
export const diceGradShader = (trueType: StorageType, predType: StorageType): RecordedShader => ({
  key: `saunet_softDiceGrad_${trueType}_${predType}`,
  code: () => `
struct Uniforms { ${GRAD_UNIFORMS} };
@group(0) @binding(0) var<storage, read> dy : array<f32>;
@group(0) @binding(1) var<storage, read> yTrue : array<${trueType}>;
@group(0) @binding(2) var<storage, read> yPred : array<${predType}>;
@group(0) @binding(3) var<storage, read> sums : array<f32>;
@group(0) @binding(4) var<storage, read_write> dTrue : array<f32>;
@group(0) @binding(5) var<storage, read_write> dPred : array<f32>;
@group(0) @binding(6) var<uniform> uniforms : Uniforms;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  for (var i = i32(id.x); i < uniforms.size; i += uniforms.threads) {
    let b = i / uniforms.perSample;
    let denominator = sums[b * 2 + 1] + uniforms.smoothing;
    let numerator = 2.0 * sums[b * 2] + uniforms.smoothing;
    let k = dy[0] / (f32(uniforms.batch) * denominator * denominator);
    dPred[i] = k * (2.0 * f32(yTrue[i]) * denominator - numerator);
    dTrue[i] = k * (2.0 * f32(yPred[i]) * denominator - numerator);
  }
}
`,
});

export function gradUniforms(size: number, threads: number, perSample: number, batch: number, smooth: number): Array<{ type: 'int32' | 'float32'; data: number[] }> {
  return [
    { type: 'int32', data: [size] }, { type: 'int32', data: [threads] }, { type: 'int32', data: [perSample] },
    { type: 'int32', data: [batch] }, { type: 'float32', data: [smooth] },
  ];
}
