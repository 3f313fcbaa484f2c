/**
 * WGSL programs for the filter gradients of convolutions on the tfjs WebGPU backend, following
 * its WebGPUProgram conventions (inputs bound as storage buffers named after `variableNames`, the
 * output as `result`, shapes and our parameters in `uniforms`).
 *
 * Both gradients are reductions over every output pixel of the batch, K = n * ho * wo, which is
 * huge (262 144 for 4 x 256 x 256) while the result is small (a filter). One workgroup per output
 * tile leaves a GPU idle, and stock tfjs loops over K in one thread per weight (788 ms of a U-Net
 * step on an H100). Here K is split into chunks reduced by separate workgroups, each writing a
 * partial sum; the partial sums (innermost axis) are then added by the backend's Sum.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { channelLanes } from './grid.js';

/** Geometry of the forward convolution (NHWC), as uniforms. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

const GEOMETRY_UNIFORMS = 'batch : i32, inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, ' +
  'filterHeight : i32, filterWidth : i32, strideHeight : i32, strideWidth : i32, dilationHeight : i32, dilationWidth : i32, ' +
  'padTop : i32, padLeft : i32, kTotal : i32, kPerSplit : i32, splits : i32,';

/** Uniform values in the order of GEOMETRY_UNIFORMS. */
export function geometryUniforms(g: ConvGeometry, kPerSplit: number, splits: number): Array<{ type: 'int32'; data: number[] }> {
  const kTotal = g.batch * g.outHeight * g.outWidth;
  return [g.batch, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels, g.filterHeight, g.filterWidth,
    g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, kTotal, kPerSplit, splits]
    .map((v) => ({ type: 'int32' as const, data: [v] }));
}

// Shared WGSL: the input pixel read by filter tap (p, q) for output pixel k, or -1 if in padding.
const X_INDEX = `
  fn xIndex(k : i32, p : i32, q : i32, c : i32) -> i32 {
    let j = k % uniforms.outWidth;
    let t = k / uniforms.outWidth;
    let i = t % uniforms.outHeight;
    let b = t / uniforms.outHeight;
    let row = i * uniforms.strideHeight + p * uniforms.dilationHeight - uniforms.padTop;
    let col = j * uniforms.strideWidth + q * uniforms.dilationWidth - uniforms.padLeft;
    if (row < 0 || row >= uniforms.inHeight || col < 0 || col >= uniforms.inWidth) {
      return -1;
    }
    return ((b * uniforms.inHeight + row) * uniforms.inWidth + col) * uniforms.inChannels + c;
  }
`;

const TILE_M = 32;
const TILE_N = 32;
const TILE_K = 16;

/**
 * Conv2D filter gradient as a tiled, split-K matrix product: dW[m, o] = sum_k A[m, k] B[k, o] with
 * m = (p, q, c) the filter row (c fastest, the [fh, fw, c, o] layout), k = (n, i, j) an output
 * pixel, A[m, k] = x at the input pixel tap (p, q) of output pixel k reads (im2col done on the
 * fly, never stored), B[k, o] = dy. A workgroup of 8x8 threads computes a 32x32 tile of one K
 * chunk, 4x4 outputs per thread, through 16-deep tiles in workgroup memory.
 * Output: partial sums [m, o, split].
 */
export function conv2dFilterGradProgram(g: ConvGeometry, splits: number): WebGPUProgramSpec {
  const M = g.filterHeight * g.filterWidth * g.inChannels;
  const N = g.outChannels;
  return {
    outputShape: [M, N, splits],
    shaderKey: 'saunet_conv2dFilterGrad_splitK',
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(N / TILE_N), Math.ceil(M / TILE_M), splits],
    variableNames: ['x', 'dy'],
    uniforms: GEOMETRY_UNIFORMS,
    workgroupSize: [8, 8, 1],
    getUserCode: () => `
      var<workgroup> tileA : array<array<f32, ${TILE_M}>, ${TILE_K}>;
      var<workgroup> tileB : array<array<f32, ${TILE_N}>, ${TILE_K}>;
      ${X_INDEX}

      fn readA(m : i32, k : i32, kEnd : i32) -> f32 {
        let rows = uniforms.filterHeight * uniforms.filterWidth * uniforms.inChannels;
        if (m >= rows || k >= kEnd) {
          return 0.0;
        }
        let c = m % uniforms.inChannels;
        let pq = m / uniforms.inChannels;
        let index = xIndex(k, pq / uniforms.filterWidth, pq % uniforms.filterWidth, c);
        if (index < 0) {
          return 0.0;
        }
        return x[index];
      }

      fn main() {
        let rows = uniforms.filterHeight * uniforms.filterWidth * uniforms.inChannels;
        let cols = uniforms.outChannels;
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let lane = ty * 8 + tx;
        let n0 = i32(workgroupId.x) * ${TILE_N};
        let m0 = i32(workgroupId.y) * ${TILE_M};
        let split = i32(workgroupId.z);
        let kBegin = split * uniforms.kPerSplit;
        let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.kTotal);

        var acc : array<array<f32, 4>, 4>;
        for (var i = 0; i < 4; i++) {
          for (var j = 0; j < 4; j++) {
            acc[i][j] = 0.0;
          }
        }

        // The trip count comes from uniforms only, so that the barriers stay in uniform control
        // flow (WGSL's uniformity analysis treats workgroupId, kept in a private variable by
        // tfjs's prelude, as non-uniform); reads past kEnd are zeros.
        for (var step = 0; step < uniforms.kPerSplit; step += ${TILE_K}) {
          let k0 = kBegin + step;
          // ${TILE_K * TILE_M} elements of each tile, 64 threads: 8 each; neighbouring threads
          // read neighbouring channels (contiguous in x and in dy).
          for (var e = 0; e < 8; e++) {
            let idx = lane + e * 64;
            let kk = idx / ${TILE_M};
            let mm = idx % ${TILE_M};
            tileA[kk][mm] = readA(m0 + mm, k0 + kk, kEnd);
            let nn = idx % ${TILE_N};
            let k = k0 + kk;
            let col = n0 + nn;
            var b = 0.0;
            if (k < kEnd && col < cols) {
              b = dy[k * cols + col];
            }
            tileB[kk][nn] = b;
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${TILE_K}; kk++) {
            var a : array<f32, 4>;
            var b : array<f32, 4>;
            for (var i = 0; i < 4; i++) {
              a[i] = tileA[kk][ty * 4 + i];
              b[i] = tileB[kk][tx * 4 + i];
            }
            for (var i = 0; i < 4; i++) {
              for (var j = 0; j < 4; j++) {
                acc[i][j] = fma(a[i], b[j], acc[i][j]);
              }
            }
          }
          workgroupBarrier();
        }

        for (var i = 0; i < 4; i++) {
          for (var j = 0; j < 4; j++) {
            let m = m0 + ty * 4 + i;
            let n = n0 + tx * 4 + j;
            if (m < rows && n < cols) {
              result[(m * cols + n) * uniforms.splits + split] = acc[i][j];
            }
          }
        }
      }
    `,
  };
}

/**
 * Depthwise filter gradient: dW[p, q, c, mult] = sum_k x[tap (p, q) of pixel k, c] dy[k, c * m + mult].
 * A workgroup of 64 threads covers `lanesC` output channels times 64 / lanesC strands of one K
 * chunk; each thread keeps one sum per tap, the strands are added in workgroup memory.
 * Output: partial sums [tap, c * m + mult, split].
 */
export function depthwiseFilterGradProgram(g: ConvGeometry, multiplier: number, splits: number): WebGPUProgramSpec {
  const channels = g.inChannels * multiplier;
  const taps = g.filterHeight * g.filterWidth;
  const lanesC = channelLanes(channels);
  const lanesK = 64 / lanesC;
  return {
    outputShape: [taps, channels, splits],
    shaderKey: `saunet_depthwiseFilterGrad_${taps}_${lanesC}_${multiplier}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(channels / lanesC), 1, splits],
    variableNames: ['x', 'dy'],
    uniforms: GEOMETRY_UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      var<workgroup> strands : array<f32, ${64 * taps}>;
      ${X_INDEX}

      fn main() {
        let lane = i32(localId.x);
        let lc = lane % ${lanesC};
        let lk = lane / ${lanesC};
        let oc = i32(workgroupId.x) * ${lanesC} + lc;
        let channels = uniforms.inChannels * ${multiplier};
        let split = i32(workgroupId.z);
        let kBegin = split * uniforms.kPerSplit;
        let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.kTotal);
        let c = oc / ${multiplier};

        var acc : array<f32, ${taps}>;
        for (var t = 0; t < ${taps}; t++) {
          acc[t] = 0.0;
        }
        if (oc < channels) {
          for (var k = kBegin + lk; k < kEnd; k += ${lanesK}) {
            let g = dy[k * channels + oc];
            for (var t = 0; t < ${taps}; t++) {
              let index = xIndex(k, t / uniforms.filterWidth, t % uniforms.filterWidth, c);
              if (index >= 0) {
                acc[t] = fma(x[index], g, acc[t]);
              }
            }
          }
        }
        for (var t = 0; t < ${taps}; t++) {
          strands[t * 64 + lane] = acc[t];
        }
        workgroupBarrier();
        if (lk == 0 && oc < channels) {
          for (var t = 0; t < ${taps}; t++) {
            var sum = 0.0;
            for (var s = 0; s < ${lanesK}; s++) {
              sum += strands[t * 64 + s * ${lanesC} + lc];
            }
            result[(t * channels + oc) * uniforms.splits + split] = sum;
          }
        }
      }
    `,
  };
}
