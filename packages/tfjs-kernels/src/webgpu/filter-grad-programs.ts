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
import { CONV_GEOMETRY_UNIFORMS, convGeometryUniforms, type ConvGeometry } from './conv-program-geometry.js';
import { channelLanes } from './grid.js';
import { productThreads, tiledProductSteps, type ProductTiling } from './product-tiling.js';

const GEOMETRY_UNIFORMS = `${CONV_GEOMETRY_UNIFORMS} kTotal : i32, kPerSplit : i32, splits : i32,`;

/** Uniform values in the order of GEOMETRY_UNIFORMS. */
export function geometryUniforms(g: ConvGeometry, kPerSplit: number, splits: number): Array<{ type: 'int32'; data: number[] }> {
  return convGeometryUniforms(g, g.batch * g.outHeight * g.outWidth, kPerSplit, splits);
}

/**
 * Conv2D filter gradient as a tiled, split-K matrix product: dW[m, o] = sum_k A[m, k] B[k, o] with
 * m = (p, q, c) the filter row (c fastest, the [fh, fw, c, o] layout), k = (n, i, j) an output
 * pixel, A[m, k] = x at the input pixel tap (p, q) of output pixel k reads (im2col done on the
 * fly, never stored), B[k, o] = dy. A workgroup computes a tile x tile block of one K chunk,
 * rowsPerThread x 4 outputs per thread, through tileK-deep tiles in workgroup memory (which tiling
 * for which shape: tiling-choice.ts).
 * Output: partial sums [m, o, split].
 */
export function conv2dFilterGradProgram(g: ConvGeometry, splits: number, tiling: ProductTiling): WebGPUProgramSpec {
  const { tile, rowsPerThread, tileK } = tiling;
  const [threadsX, threadsY] = productThreads(tiling);
  // Each thread loads one column of each tile at every kStride-th k of it.
  const kStride = (threadsX * threadsY) / tile;
  const M = g.filterHeight * g.filterWidth * g.inChannels;
  const N = g.outChannels;
  return {
    outputShape: [M, N, splits],
    shaderKey: `saunet_conv2dFilterGrad_splitK_${tile}_${rowsPerThread}_${tileK}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(N / tile), Math.ceil(M / tile), splits],
    variableNames: ['x', 'dy'],
    uniforms: GEOMETRY_UNIFORMS,
    workgroupSize: [threadsX, threadsY, 1],
    getUserCode: () => `
      // Tiles as rows of vec4s, so that each thread reads its rows and 4 columns of a k in few loads.
      var<workgroup> tileA : array<array<vec4<f32>, ${tile / 4}>, ${tileK}>;
      var<workgroup> tileB : array<array<vec4<f32>, ${tile / 4}>, ${tileK}>;

      fn main() {
        let rows = uniforms.filterHeight * uniforms.filterWidth * uniforms.inChannels;
        let cols = uniforms.outChannels;
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let lane = ty * ${threadsX} + tx;
        let n0 = i32(workgroupId.x) * ${tile};
        let m0 = i32(workgroupId.y) * ${tile};
        let split = i32(workgroupId.z);
        let kBegin = split * uniforms.kPerSplit;
        let kEnd = min(kBegin + uniforms.kPerSplit, uniforms.kTotal);

        // Each thread loads one column of each tile (the same filter row m and dy channel n at
        // every k) at every ${kStride}-th k of the tile: the filter tap and channel of m are found
        // once, and the output pixel (b, i, j) of k is walked forward, not divided out per load
        // (integer division by a uniform costs tens of instructions, more than the tile's FMAs).
        let col = lane % ${tile};
        let kOff = lane / ${tile};
        let m = m0 + col;
        let mValid = m < rows;
        let c = m % uniforms.inChannels;
        let pq = m / uniforms.inChannels;
        let rowOff = (pq / uniforms.filterWidth) * uniforms.dilationHeight - uniforms.padTop;
        let colOff = (pq % uniforms.filterWidth) * uniforms.dilationWidth - uniforms.padLeft;
        let n = n0 + col;
        let nValid = n < cols;
        let k0 = kBegin + kOff;
        var pj = k0 % uniforms.outWidth;
        var pi = (k0 / uniforms.outWidth) % uniforms.outHeight;
        var pb = k0 / (uniforms.outWidth * uniforms.outHeight);

        var acc : array<vec4<f32>, ${rowsPerThread}>;

        // The trip count comes from uniforms only, so that the barriers stay in uniform control
        // flow (WGSL's uniformity analysis treats workgroupId, kept in a private variable by
        // tfjs's prelude, as non-uniform); reads past kEnd are zeros.
        for (var step = 0; step < uniforms.kPerSplit; step += ${tileK}) {
          for (var e = 0; e < ${tileK / kStride}; e++) {
            let kk = kOff + ${kStride} * e;
            let k = kBegin + step + kk;
            var a = 0.0;
            var g = 0.0;
            if (k < kEnd) {
              let row = pi * uniforms.strideHeight + rowOff;
              let xcol = pj * uniforms.strideWidth + colOff;
              if (mValid && row >= 0 && row < uniforms.inHeight && xcol >= 0 && xcol < uniforms.inWidth) {
                a = x[((pb * uniforms.inHeight + row) * uniforms.inWidth + xcol) * uniforms.inChannels + c];
              }
              if (nValid) {
                g = dy[k * cols + n];
              }
            }
            tileA[kk][col / 4][col % 4] = a;
            tileB[kk][col / 4][col % 4] = g;
            // The next load's k is ${kStride} further on.
            pj += ${kStride};
            while (pj >= uniforms.outWidth) {
              pj -= uniforms.outWidth;
              pi += 1;
            }
            while (pi >= uniforms.outHeight) {
              pi -= uniforms.outHeight;
              pb += 1;
            }
          }
          workgroupBarrier();
${tiledProductSteps(tiling)}
          workgroupBarrier();
        }

        for (var i = 0; i < ${rowsPerThread}; i++) {
          for (var j = 0; j < 4; j++) {
            let mi = m0 + ty * ${rowsPerThread} + i;
            let nj = n0 + tx * 4 + j;
            if (mi < rows && nj < cols) {
              result[(mi * cols + nj) * uniforms.splits + split] = acc[i][j];
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
    shaderKey: `saunet_depthwiseFilterGrad_${g.filterHeight}x${g.filterWidth}_${lanesC}_${multiplier}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(channels / lanesC), 1, splits],
    variableNames: ['x', 'dy'],
    uniforms: GEOMETRY_UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      var<workgroup> strands : array<f32, ${64 * taps}>;

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
            // The output pixel of k once, then every tap from it. The filter's size is in the
            // shader, so that the tap loop has constant bounds (with the size from uniforms this
            // kernel took 16.1 ms of an SA-U-Net step on an H200, with it in the shader 8.0 ms).
            let j = k % uniforms.outWidth;
            let t = k / uniforms.outWidth;
            let rowBase = (t % uniforms.outHeight) * uniforms.strideHeight - uniforms.padTop;
            let colBase = j * uniforms.strideWidth - uniforms.padLeft;
            let imageBase = (t / uniforms.outHeight) * uniforms.inHeight;
            for (var tap = 0; tap < ${taps}; tap++) {
              let row = rowBase + (tap / ${g.filterWidth}) * uniforms.dilationHeight;
              let xcol = colBase + (tap % ${g.filterWidth}) * uniforms.dilationWidth;
              if (row >= 0 && row < uniforms.inHeight && xcol >= 0 && xcol < uniforms.inWidth) {
                acc[tap] = fma(x[((imageBase + row) * uniforms.inWidth + xcol) * uniforms.inChannels + c], g, acc[tap]);
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
