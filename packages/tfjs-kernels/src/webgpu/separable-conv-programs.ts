/**
 * The WGSL program of a depthwise-separable convolution in one dispatch, in tfjs-backend-webgpu's
 * WebGPUProgram conventions: stride 1, 'same' zero padding, odd kernel sizes, a dilation,
 *   d[b, y, x, c] = sum_{i, j} x[b, y + i r - pt, x + j r - pl, c] depthwise[i, j, c, 0]
 *   out[b, y, x, o] = sum_c d[b, y, x, c] pointwise[0, 0, c, o] (+ bias[o])
 * (r the dilation, pt and pl half the dilated kernel). Composed from stock kernels that is two
 * dispatches (DepthwiseConv2dNative, then Conv2D) and d in memory between them; here one. Each
 * thread computes up to 16 output channels of one pixel (four vec4 accumulators), reading x and
 * the depthwise kernel four channels at a time (contiguous in NHWC), so d is recomputed once per
 * 16 output channels: for the scale-attentional cascade's stages, 8 to 128 channels wide with 3x3
 * kernels, at most 1.5 times the multiply-adds of the pair.
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { gridStrideWorkgroups, REDUCTION_LAYOUT, WORKGROUP } from './grid.js';
import type { RecordedShader, StorageType } from './recorded-dispatch.js';

const UNIFORMS = 'batch : i32, height : i32, width : i32, inChannels : i32, outChannels : i32, ' +
  'kernelHeight : i32, kernelWidth : i32, dilation : i32, threads : i32,';

export interface SeparableGeometry {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  dilation: number;
}

/**
 * The depthwise kernel's height and width (odd), written into the shader: its tap loops then have
 * constant bounds, so the compiler can unroll them and issue the taps' loads together rather than
 * one after another (the depthwise filter gradient, likewise, took half the GPU time on an H200).
 */
export type KernelSize = readonly [height: number, width: number];

/** vec4 accumulators per thread: up to four, as many as the output channels fill. */
function accumulators(outChannels: number): number {
  return Math.min(4, Math.ceil(outChannels / 4));
}

/** The (pixel, block of output channels) pairs of the program: one thread each, times {@link channelSlices}. */
function items(g: SeparableGeometry): number {
  return g.batch * g.height * g.width * Math.ceil(g.outChannels / (4 * accumulators(g.outChannels)));
}

/** Threads up to which channelSlices splits the input channels among threads. */
const SLICED_THREADS = 32768;

/**
 * How many threads share one pixel and block of output channels, each taking every slices-th group
 * of four input channels, their sums then added in workgroup memory: 1 (one thread loops over every
 * input channel) but for stages of few pixels and wide input, whose threads would be few and long
 * (a deep layer's 128 channels at 16x16: 32 groups of four, each a 3x3 window, one after another);
 * there 2, 4 or 8, while the threads stay at most 32,768 and each keeps at least 4 groups. Always 1
 * in REDUCTION_LAYOUT 'serial' (the layout measured on 2026-12-04).
 */
export function channelSlices(g: SeparableGeometry): number {
  if (REDUCTION_LAYOUT.current === 'serial') return 1;
  const groups = Math.ceil(g.inChannels / 4);
  let slices = 1;
  while (slices < 8 && items(g) * slices * 2 <= SLICED_THREADS && groups / (slices * 2) >= 4) slices *= 2;
  return slices;
}

/** How a call's shader divides its work: {@link channelSlices}, and whether the input channels come in whole groups of four. */
export interface SeparableLayout {
  slices: number;
  wholeQuads: boolean;
}

/** The layout of a convolution of this geometry, found once per call. */
export function separableLayout(g: SeparableGeometry): SeparableLayout {
  return { slices: channelSlices(g), wholeQuads: g.inChannels % 4 === 0 };
}

export function separableUniforms(g: SeparableGeometry, layout: SeparableLayout): Array<{ type: 'int32'; data: number[] }> {
  const threads = separableWorkgroups(g, layout) * WORKGROUP;
  return [g.batch, g.height, g.width, g.inChannels, g.outChannels, g.kernelHeight, g.kernelWidth, g.dilation, threads]
    .map((v) => ({ type: 'int32' as const, data: [v] }));
}

/**
 * WGSL: `${name}Quad(i, c)`, the array's values i .. i + 3 for input channels c .. c + 3, zeros
 * past the last; as f32 also where the array is stored as int32 (a tensor cast to float32 from
 * bool or int32 by tfjs-webgpu's stock Cast keeps its int32 buffer). With `wholeQuads` (the input
 * channels a multiple of four, as every stage of the zoo's layers has) four loads and no branch:
 * less code in each unrolled tap, for the GPU and for a CPU Vulkan's compiler (lavapipe).
 */
function channelQuad(name: string, wholeQuads: boolean): string {
  const four = `vec4<f32>(f32(${name}[i]), f32(${name}[i + 1]), f32(${name}[i + 2]), f32(${name}[i + 3]))`;
  if (wholeQuads) return `fn ${name}Quad(i : i32, c : i32) -> vec4<f32> { return ${four}; }`;
  return `fn ${name}Quad(i : i32, c : i32) -> vec4<f32> {
        if (c + 3 < uniforms.inChannels) {
          return ${four};
        }
        var v = vec4<f32>(0.0);
        for (var j = 0; j < 3; j++) {
          if (c + j < uniforms.inChannels) {
            v[j] = f32(${name}[i + j]);
          }
        }
        return v;
      }`;
}

/**
 * WGSL of both forms: the helpers, and the body of main for the thread at `index` (with one slice,
 * the start of its grid stride; with more, one thread per slice of an item and no stride: at most
 * SLICED_THREADS); with `keepDepthwise`, the threads of each pixel's first block of output channels
 * also write d to `depthwiseOut` (the other blocks compute the same d; each slice its channels).
 */
function separableCode(outChannels: number, taps: KernelSize, { slices, wholeQuads }: SeparableLayout, withBias: boolean, keepDepthwise: boolean): { helpers: string; body: string } {
  const [kernelHeight, kernelWidth] = taps;
  const vectors = accumulators(outChannels);
  const block = 4 * vectors;
  const helpers = `
      // pointwise[0, 0, c, o .. o + 3] (zeros past the last output channel or input channel).
      fn pointwiseRow(c : i32, o : i32) -> vec4<f32> {
        var w = vec4<f32>(0.0);
        if (c < uniforms.inChannels) {
          for (var j = 0; j < 4; j++) {
            if (o + j < uniforms.outChannels) {
              w[j] = pointwise[c * uniforms.outChannels + o + j];
            }
          }
        }
        return w;
      }

      // x[i .. i + 3] and depthwise[i .. i + 3], i the index of input channel c: zeros past the last channel.
      ${channelQuad('x', wholeQuads)}
      ${channelQuad('depthwise', wholeQuads)}${slices > 1 ? `

      // Each thread's sums, for the first slice of its item to add up.
      var<workgroup> sliceSums : array<array<vec4<f32>, ${vectors}>, ${WORKGROUP}>;` : ''}`;
  // acc += the item's sums over its slice's groups of four input channels (every one with one slice).
  const accumulate = `
          let col = pixel % uniforms.width;
          let row = (pixel / uniforms.width) % uniforms.height;
          let b = pixel / (uniforms.width * uniforms.height);
          // Four input channels at a time: d of channels c .. c + 3, then their pointwise rows.
          for (var c = ${slices > 1 ? 'slice * 4' : '0'}; c < uniforms.inChannels; c += ${4 * slices}) {
            var d = vec4<f32>(0.0);
            for (var ky = 0; ky < ${kernelHeight}; ky++) {
              let yy = row + ky * uniforms.dilation - padTop;
              if (yy < 0 || yy >= uniforms.height) {
                continue;
              }
              for (var kx = 0; kx < ${kernelWidth}; kx++) {
                let xx = col + kx * uniforms.dilation - padLeft;
                if (xx < 0 || xx >= uniforms.width) {
                  continue;
                }
                d = fma(xQuad(((b * uniforms.height + yy) * uniforms.width + xx) * uniforms.inChannels + c, c),
                  depthwiseQuad((ky * ${kernelWidth} + kx) * uniforms.inChannels + c, c), d);
              }
            }${keepDepthwise ? `
            if (o == 0) {
              for (var j = 0; j < 4; j++) {
                if (c + j < uniforms.inChannels) {
                  depthwiseOut[pixel * uniforms.inChannels + c + j] = d[j];
                }
              }
            }` : ''}
            for (var v = 0; v < ${vectors}; v++) {
              let ov = o + 4 * v;
              acc[v] = fma(vec4<f32>(d.x), pointwiseRow(c, ov), acc[v]);
              acc[v] = fma(vec4<f32>(d.y), pointwiseRow(c + 1, ov), acc[v]);
              acc[v] = fma(vec4<f32>(d.z), pointwiseRow(c + 2, ov), acc[v]);
              acc[v] = fma(vec4<f32>(d.w), pointwiseRow(c + 3, ov), acc[v]);
            }
          }`;
  const write = `
          for (var j = 0; j < ${block}; j++) {
            if (o + j < uniforms.outChannels) {
              result[pixel * uniforms.outChannels + o + j] = acc[j / 4][j % 4]${withBias ? ' + bias[o + j]' : ''};
            }
          }`;
  const prologue = `
        let blocks = (uniforms.outChannels + ${block - 1}) / ${block};
        let size = uniforms.batch * uniforms.height * uniforms.width * blocks;
        let padTop = ${(kernelHeight - 1) / 2} * uniforms.dilation;
        let padLeft = ${(kernelWidth - 1) / 2} * uniforms.dilation;`;
  const body = slices === 1 ? `${prologue}
        for (var item = index; item < size; item += uniforms.threads) {
          let pixel = item / blocks;
          let o = (item % blocks) * ${block};
          var acc : array<vec4<f32>, ${vectors}>;${accumulate}${write}
        }` : `${prologue}
        // Slices of one item are adjacent threads of one workgroup (${slices} divides ${WORKGROUP}).
        let slice = index % ${slices};
        let item = index / ${slices};
        let pixel = item / blocks;
        let o = (item % blocks) * ${block};
        var acc : array<vec4<f32>, ${vectors}>;
        if (item < size) {${accumulate}
        }
        let lane = index % ${WORKGROUP};
        sliceSums[lane] = acc;
        workgroupBarrier();
        if (slice == 0 && item < size) {
          for (var s = 1; s < ${slices}; s++) {
            for (var v = 0; v < ${vectors}; v++) {
              acc[v] += sliceSums[lane + s][v];
            }
          }${write}
        }`;
  return { helpers, body };
}

/** Output [batch * height * width * outChannels], flat. */
export function separableConvProgram(g: SeparableGeometry, layout: SeparableLayout, withBias: boolean): WebGPUProgramSpec {
  const { slices, wholeQuads } = layout;
  const { helpers, body } = separableCode(g.outChannels, [g.kernelHeight, g.kernelWidth], layout, withBias, false);
  return {
    outputShape: [g.batch * g.height * g.width * g.outChannels],
    shaderKey: `saunet_separableConv_${accumulators(g.outChannels)}_${g.kernelHeight}x${g.kernelWidth}_${slices}_${wholeQuads}_${withBias}`,
    dispatchLayout: { x: [0] },
    dispatch: [separableWorkgroups(g, layout), 1, 1],
    variableNames: ['x', 'depthwise', 'pointwise', ...(withBias ? ['bias'] : [])],
    uniforms: UNIFORMS,
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `${helpers}

      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {${body}
      }
    `,
  };
}

/** Workgroups of {@link separableConvKeepShader}'s dispatch (along x). */
export function separableWorkgroups(g: SeparableGeometry, layout: SeparableLayout): number {
  return gridStrideWorkgroups(items(g) * layout.slices);
}

/**
 * The same convolution for training: it also writes the depthwise output d, which the backward
 * pass reads (the pointwise filter's gradient), so a tfjs program, of one output, cannot express
 * it (recorded-dispatch.ts). Bound: x (stored as `xType`), depthwise, pointwise, bias if
 * `withBias`, result [batch * height * width * outChannels], depthwiseOut [batch * height * width *
 * inChannels].
 */
export function separableConvKeepShader(outChannels: number, taps: KernelSize, layout: SeparableLayout, withBias: boolean, xType: StorageType): RecordedShader {
  const { slices, wholeQuads } = layout;
  const { helpers, body } = separableCode(outChannels, taps, layout, withBias, true);
  const reads = ['x', 'depthwise', 'pointwise', ...(withBias ? ['bias'] : [])];
  const writes = ['result', 'depthwiseOut'];
  return {
    key: `saunet_separableConvKeep_${accumulators(outChannels)}_${taps[0]}x${taps[1]}_${slices}_${wholeQuads}_${withBias}_${xType}`,
    code: () => `
struct Uniforms { ${UNIFORMS} };
${[...reads.map((name) => `var<storage, read> ${name} : array<${name === 'x' ? xType : 'f32'}>;`), ...writes.map((name) => `var<storage, read_write> ${name} : array<f32>;`)]
    .map((declaration, binding) => `@group(0) @binding(${binding}) ${declaration}`).join('\n')}
@group(0) @binding(${reads.length + writes.length}) var<uniform> uniforms : Uniforms;
${helpers}

@compute @workgroup_size(${WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  let index = i32(id.x);${body}
}
`,
  };
}
