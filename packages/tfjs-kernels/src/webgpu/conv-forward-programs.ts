/**
 * The forward Conv2D (NHWC) as a tiled matrix product in WGSL, with the tilings of
 * product-tiling.ts: y[m, o] = act(sum_r A[m, r] W[r, o] + bias[o]) with m = (n, i, j) an output
 * pixel, r = (p, q, c) a filter row (c fastest, the [fh, fw, c, o] layout) and A[m, r] = x at the
 * input pixel that tap (p, q) of output pixel m reads (im2col on the fly, never stored). Its
 * uniforms are the convolution's geometry (convGeometryUniforms).
 * tfjs-backend-webgpu's own conv2d_mm shader is this product with one tiling (32x32 tiles, 4x4
 * outputs per thread); this one lets the bench measure the others on a GPU.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { CONV_GEOMETRY_UNIFORMS, type ConvGeometry } from './conv-program-geometry.js';
import { productThreads, tiledProductSteps, type ProductTiling } from './product-tiling.js';
import { gridStrideProgram } from './grid.js';

/** The activations the program applies itself (others are left to the stock kernel). */
export type ForwardActivation = 'linear' | 'relu';

/** WebGPU's default limit of workgroups along one dimension of a dispatch. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Whether {@link conv2dForwardProgram} can cover this convolution's output in one dispatch. */
export function forwardFitsOneDispatch(g: ConvGeometry, tiling: ProductTiling): boolean {
  return Math.ceil((g.batch * g.outHeight * g.outWidth) / tiling.tile) <= MAX_WORKGROUPS_PER_DIMENSION;
}

/**
 * Output y [n, ho, wo, o], computed as [n * ho * wo, o]. A workgroup computes a tile x tile block of
 * output pixels and channels through tileK-deep steps of r staged in workgroup memory. Loads are
 * laid out for coalescing: for A, adjacent threads read adjacent filter rows r (adjacent channels of
 * one input pixel); for W, adjacent output channels. The workgroup finds its output pixels' input
 * windows once (in workgroup memory), and each thread divides r into tap and channel once per
 * step rather than once per load.
 */
export function conv2dForwardProgram(g: ConvGeometry, tiling: ProductTiling, hasBias: boolean, activation: ForwardActivation): WebGPUProgramSpec {
  return forwardProduct(g, tiling, { hasBias, activation });
}

/**
 * The same product split along r into `splits` chunks of `chunk` rows (a multiple of tileK), one
 * per workgroup layer z: partial sums [splits, n * ho * wo, o], without bias or activation, which
 * {@link splitSumProgram} adds up. For convolutions with few output tiles and a long reduction
 * (a U-Net's deepest layers at batch 1: 16x16 pixels, 512 channels, r = 4,608 gives 128 tiles of
 * 32x32, about one per multiprocessor of a large GPU, each running 288 steps in turn).
 */
export function conv2dForwardSplitProgram(g: ConvGeometry, tiling: ProductTiling, splits: number, chunk: number): WebGPUProgramSpec {
  return forwardProduct(g, tiling, { splits, chunk });
}

type ProductOptions = { hasBias: boolean; activation: ForwardActivation; splits?: undefined; chunk?: undefined }
  | { splits: number; chunk: number; hasBias?: undefined; activation?: undefined };

function forwardProduct(g: ConvGeometry, tiling: ProductTiling, options: ProductOptions): WebGPUProgramSpec {
  const { tile, rowsPerThread, tileK } = tiling;
  const split = options.splits !== undefined;
  const hasBias = options.hasBias === true;
  const activation = options.activation ?? 'linear';
  const [threadsX, threadsY] = productThreads(tiling);
  const threads = threadsX * threadsY;
  // A: each thread loads filter row rLocal (lane % tileK) of aLoads output pixels, aStride apart.
  const aStride = threads / tileK;
  const aLoads = (tile * tileK) / threads;
  // W: each thread loads output channel lane % tile of every bStride-th row of the step.
  const bStride = threads / tile;
  const bLoads = tileK / bStride;
  const rows = g.batch * g.outHeight * g.outWidth;
  return {
    // 4-D like x, so that tfjs's shader key, which has each input's broadcast dimensions against
    // the output, changes between layers less often (each new key is a compile).
    outputShape: split ? [options.splits, rows, g.outChannels] : [g.batch, g.outHeight, g.outWidth, g.outChannels],
    shaderKey: split ? `saunet_conv2dForwardSplit_${tile}_${rowsPerThread}_${tileK}` : `saunet_conv2dForward_${tile}_${rowsPerThread}_${tileK}_${hasBias}_${activation}`,
    dispatchLayout: split ? { x: [2], y: [1], z: [0] } : { x: [3], y: [0, 1, 2] },
    dispatch: [Math.ceil(g.outChannels / tile), Math.ceil(rows / tile), split ? options.splits : 1],
    variableNames: hasBias ? ['x', 'w', 'bias'] : ['x', 'w'],
    uniforms: split ? `${CONV_GEOMETRY_UNIFORMS} chunk : i32,` : CONV_GEOMETRY_UNIFORMS,
    workgroupSize: [threadsX, threadsY, 1],
    getUserCode: () => `
      // tileA's rows one vec4 longer than the tile: adjacent threads store adjacent r, one row
      // apart, and rows of 32 or 64 floats would put them all in one bank of workgroup memory.
      var<workgroup> tileA : array<array<vec4<f32>, ${tile / 4 + 1}>, ${tileK}>;
      var<workgroup> tileB : array<array<vec4<f32>, ${tile / 4}>, ${tileK}>;
      var<workgroup> pixelRow : array<i32, ${tile}>;
      var<workgroup> pixelCol : array<i32, ${tile}>;
      var<workgroup> pixelImageRow : array<i32, ${tile}>;

      fn main() {
        let rows = uniforms.batch * uniforms.outHeight * uniforms.outWidth;
        let cols = uniforms.outChannels;
        let depth = uniforms.filterHeight * uniforms.filterWidth * uniforms.inChannels;
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let lane = ty * ${threadsX} + tx;
        let n0 = i32(workgroupId.x) * ${tile};
        let m0 = i32(workgroupId.y) * ${tile};

        // The input pixels of the tile's output pixels, found once per workgroup: the top-left
        // corner each window starts from, and its image's first row (pixels past the last read
        // nothing).
        if (lane < ${tile}) {
          let m = m0 + lane;
          let j = m % uniforms.outWidth;
          let t = m / uniforms.outWidth;
          pixelRow[lane] = select(-1073741824, (t % uniforms.outHeight) * uniforms.strideHeight - uniforms.padTop, m < rows);
          pixelCol[lane] = j * uniforms.strideWidth - uniforms.padLeft;
          pixelImageRow[lane] = (t / uniforms.outHeight) * uniforms.inHeight;
        }
        workgroupBarrier();
        let rLocal = lane % ${tileK};
        let bCol = lane % ${tile};
        let bRow = lane / ${tile};
        let n = n0 + bCol;
        let nValid = n < cols;

        var acc : array<vec4<f32>, ${rowsPerThread}>;

        // The trip count comes from uniforms only, so that the barriers stay in uniform control flow.
        // (A split's chunk starts at k0: workgroupId is not uniform to WGSL's analysis, so it offsets
        // the rows read, not the loop.)
        ${split ? `let k0 = i32(workgroupId.z) * uniforms.chunk;
        for (var s = 0; s < uniforms.chunk; s += ${tileK}) {
          let step = k0 + s;` : `for (var step = 0; step < depth; step += ${tileK}) {`}
          let r = step + rLocal;
          let c = r % uniforms.inChannels;
          let pq = r / uniforms.inChannels;
          let rowOff = (pq / uniforms.filterWidth) * uniforms.dilationHeight;
          let colOff = (pq % uniforms.filterWidth) * uniforms.dilationWidth;
          for (var e = 0; e < ${aLoads}; e++) {
            let mLocal = lane / ${tileK} + e * ${aStride};
            var a = 0.0;
            let row = pixelRow[mLocal] + rowOff;
            let col = pixelCol[mLocal] + colOff;
            if (r < depth && row >= 0 && row < uniforms.inHeight && col >= 0 && col < uniforms.inWidth) {
              a = x[((pixelImageRow[mLocal] + row) * uniforms.inWidth + col) * uniforms.inChannels + c];
            }
            tileA[rLocal][mLocal / 4][mLocal % 4] = a;
          }
          for (var e = 0; e < ${bLoads}; e++) {
            let kk = bRow + e * ${bStride};
            let rr = step + kk;
            var b = 0.0;
            if (rr < depth && nValid) {
              b = w[rr * cols + n];
            }
            tileB[kk][bCol / 4][bCol % 4] = b;
          }
          workgroupBarrier();
${tiledProductSteps(tiling)}
          workgroupBarrier();
        }

        for (var i = 0; i < ${rowsPerThread}; i++) {
          let m = m0 + ty * ${rowsPerThread} + i;
          for (var j = 0; j < 4; j++) {
            let o = n0 + tx * 4 + j;
            if (m < rows && o < cols) {
              ${split ? `result[(i32(workgroupId.z) * rows + m) * cols + o] = acc[i][j];` : `var v = acc[i][j]${hasBias ? ' + bias[o]' : ''};
              ${activation === 'relu' ? 'v = select(v, 0.0, v < 0.0); // NaN stays NaN, as in the stock kernels' : ''}
              result[m * cols + o] = v;`}
            }
          }
        }
      }
    `,
  };
}

/**
 * y = act(sum over the splits of the partial sums [splits, n * ho * wo, o] + bias[o]), flat
 * (n * ho * wo * o values): the end of {@link conv2dForwardSplitProgram}, one thread per output.
 * Its uniforms are gridStride(size)'s, then the number of splits and of output channels.
 */
export function splitSumProgram(size: number, hasBias: boolean, activation: ForwardActivation): WebGPUProgramSpec {
  return gridStrideProgram(`saunet_conv2dSplitSum_${hasBias}_${activation}`, hasBias ? ['partials', 'bias'] : ['partials'], size, `
          var v = 0.0;
          for (var z = 0; z < uniforms.splits; z++) {
            v += partials[z * uniforms.size + i];
          }
          ${hasBias ? 'v += bias[i % uniforms.cols];' : ''}
          ${activation === 'relu' ? 'v = select(v, 0.0, v < 0.0); // NaN stays NaN, as in the stock kernels' : ''}
          result[i] = v;`, 'splits : i32, cols : i32,');
}
