/**
 * WGSL programs for efficient channel attention (ECA) on z [batch, h, w, C], in
 * tfjs-backend-webgpu's WebGPUProgram conventions:
 *   pooled[b, c] = mean over pixels of z[b, :, :, c]
 *   gate[b, c] = sigmoid(sum_t kernel[t] pooled[b, c + t - (k - 1) / 2])   (a 'same' conv1d, zero padded)
 *   y = z * gate
 * and its gradient. z may come in equal-width parts along the channels (the scale-attentional
 * layer's stage outputs), read where they are: the concatenation is never made. Composed from stock kernels the forward pass takes 5 dispatches (Mean over
 * the pixel axes transposes, then reduces) and the gradient about 12; here 3, and 3 plus one per
 * channel block of dz that the caller asks for (the scale-attentional layer asks for one block per
 * stage, adding the cascade's gradient of the stage on the way: no split, no add). The gate is
 * never stored: the programs that need it recompute it from the k pooled values (k is 3 to 9).
 */
import type { WebGPUProgramSpec } from './backend-internals.js';
import { gridStrideWorkgroups, REDUCTION_LAYOUT, reductionThreads, strandTotals } from './grid.js';

/** Uniforms of every program here, in this order. */
const UNIFORMS = 'batch : i32, pixels : i32, channels : i32, taps : i32, pixelsPerSplit : i32, splits : i32, threads : i32, ' +
  'channelBegin : i32, blockChannels : i32, partWidth : i32, width : i32, filterHeight : i32, filterWidth : i32, dilation : i32,';

export interface AttentionGeometry {
  batch: number;
  /** h * w. */
  pixels: number;
  channels: number;
  /** k, the 1-D kernel's size (odd). */
  taps: number;
  pixelsPerSplit: number;
  splits: number;
  /** Threads of the elementwise programs (their grid-stride loop's stride). */
  threads: number;
  /** The channel block [channelBegin, channelBegin + blockChannels) of the input gradient (all of C elsewhere). */
  channelBegin: number;
  blockChannels: number;
  /** Channels of each part of z (C with z whole). */
  partWidth: number;
  /** z's width (pixels = height * width). */
  width: number;
  /** The depthwise filter whose input gradient the input-gradient block adds ([1, 1] without one), and its dilation. */
  filterHeight: number;
  filterWidth: number;
  dilation: number;
}

export function attentionUniforms(g: AttentionGeometry): Array<{ type: 'int32'; data: number[] }> {
  return [g.batch, g.pixels, g.channels, g.taps, g.pixelsPerSplit, g.splits, g.threads, g.channelBegin, g.blockChannels, g.partWidth,
    g.width, g.filterHeight, g.filterWidth, g.dilation].map((v) => ({ type: 'int32' as const, data: [v] }));
}

/** Names of z's inputs: 'z' whole, or 'z0', 'z1', ... for `parts` parts. */
export function zNames(parts: number): string[] {
  return parts === 1 ? ['z'] : Array.from({ length: parts }, (_, j) => `z${j}`);
}

/** zAt(row, c): z[row, c] of the virtual [batch * pixels, C] matrix, from whichever part holds channel c. */
function zAtFunction(parts: number): string {
  if (parts === 1) return 'fn zAt(row : i32, c : i32) -> f32 { return z[row * uniforms.channels + c]; }';
  const cases = zNames(parts).map((name, j) => `case ${j}: { return ${name}[index]; }`).join('\n        ');
  return `fn zAt(row : i32, c : i32) -> f32 {
      let part = c / uniforms.partWidth;
      let index = row * uniforms.partWidth + c % uniforms.partWidth;
      switch part {
        ${cases}
        default: { return 0.0; }
      }
    }`;
}

/**
 * WGSL: gateAt(b, c), the gate of (b, c) from pooled [batch, C] and kernel [k]. k is written into
 * the shader (each k a shader of its own): constant bounds let the compiler unroll the loop and
 * issue its loads together, where the elementwise programs run it once per value of z.
 */
function gateCode(taps: number): string {
  return `
  fn gateAt(b : i32, c : i32) -> f32 {
    var logit = 0.0;
    for (var t = 0; t < ${taps}; t++) {
      let cs = c + t - ${(taps - 1) / 2};
      if (cs >= 0 && cs < uniforms.channels) {
        logit = fma(kernel[t], pooled[b * uniforms.channels + cs], logit);
      }
    }
    return 1.0 / (1.0 + exp(-logit));
  }
`;
}

/**
 * Per (batch, pixel chunk, channel): the sum over the chunk's pixels of z ('pool') or of dy * z
 * ('gateGrad'). A workgroup's threads (reductionThreads: 256, or 64 in the 'serial' layout) cover
 * `lanes` channels (workgroupId.x) times threads / lanes strands of pixels, each strand with one
 * or two loads in flight; workgroupId.y is the batch index, workgroupId.z the chunk.
 * Output [batch, splits, C].
 */
export function pixelSumsProgram(kind: 'pool' | 'gateGrad', batch: number, channels: number, splits: number, parts: number): WebGPUProgramSpec {
  const { threads, lanes, strands, inFlight } = reductionThreads(channels, 'sums');
  const add = (p: string, total: string) => `{
            let row = b * uniforms.pixels + ${p};
            ${kind === 'pool' ? `${total} += zAt(row, c);` : `${total} = fma(dy[row * uniforms.channels + c], zAt(row, c), ${total});`}
          }`;
  // Two pixels per iteration into two sums where inFlight is 2: their loads overlap.
  const loop = inFlight === 1 ? `for (var p = pBegin + strand; p < pEnd; p += ${strands}) ${add('p', 'total0')}` : `var p = pBegin + strand;
          for (; p + ${strands} < pEnd; p += ${2 * strands}) {
            ${add('p', 'total0')}
            ${add(`(p + ${strands})`, 'total1')}
          }
          if (p < pEnd) ${add('p', 'total0')}`;
  const totals = strandTotals({ threads, lanes, strands }, { Sum: 'total0 + total1' }, `
          result[(b * uniforms.splits + split) * uniforms.channels + c] = totalSum;`);
  return {
    outputShape: [batch, splits, channels],
    shaderKey: `saunet_attentionPixelSums_${kind}_${lanes}_${parts}_${threads}_${inFlight}`,
    dispatchLayout: { x: [2], y: [0], z: [1] },
    dispatch: [Math.ceil(channels / lanes), batch, splits],
    variableNames: kind === 'pool' ? zNames(parts) : ['dy', ...zNames(parts)],
    uniforms: UNIFORMS,
    workgroupSize: [threads, 1, 1],
    getUserCode: () => `
      ${totals.declarations}
      ${zAtFunction(parts)}

      fn main() {
        let lane = i32(localId.x);
        let lc = lane % ${lanes};
        let strand = lane / ${lanes};
        let c = i32(workgroupId.x) * ${lanes} + lc;
        let b = i32(workgroupId.y);
        let split = i32(workgroupId.z);
        let pBegin = split * uniforms.pixelsPerSplit;
        let pEnd = min(pBegin + uniforms.pixelsPerSplit, uniforms.pixels);
        var total0 = 0.0;
        var total1 = 0.0;
        if (c < uniforms.channels) {
          ${loop}
        }
        ${totals.code}
      }
    `,
  };
}

/**
 * Per (b, c), from the pixel sums [batch, splits, C]: 'pooled' = their total / pixels; 'logitGrad'
 * = their total (d gate) * gate (1 - gate), the gradient of the gate's logit. A workgroup per batch
 * index (workgroupId.y) and `lanes` channels (workgroupId.x), its strands adding every
 * strands-th pixel sum, then in workgroup memory (reductionThreads' 'totals'). Output [batch, C].
 */
export function perChannelProgram(what: 'pooled' | 'logitGrad', batch: number, channels: number, taps: number): WebGPUProgramSpec {
  const layout = reductionThreads(channels, 'totals');
  const { threads, lanes, strands } = layout;
  const totals = strandTotals(layout, { Sum: 'part' }, `
          let index = b * uniforms.channels + c;
          ${what === 'pooled' ? 'result[index] = totalSum / f32(uniforms.pixels);' : `let g = gateAt(b, c);
          result[index] = totalSum * g * (1.0 - g);`}`);
  return {
    // 2-D, so that tfjs calls main() without a flat index (workgroupId and localId place the threads).
    outputShape: [batch, channels],
    shaderKey: `saunet_attentionPerChannel_${what}_${threads}_${lanes}${what === 'logitGrad' ? `_k${taps}` : ''}`,
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [Math.ceil(channels / lanes), batch, 1],
    variableNames: what === 'pooled' ? ['sums'] : ['sums', 'pooled', 'kernel'],
    uniforms: UNIFORMS,
    workgroupSize: [threads, 1, 1],
    getUserCode: () => `
      ${what === 'logitGrad' ? gateCode(taps) : ''}
      ${totals.declarations}

      fn main() {
        let lane = i32(localId.x);
        let lc = lane % ${lanes};
        let strand = lane / ${lanes};
        let c = i32(workgroupId.x) * ${lanes} + lc;
        let b = i32(workgroupId.y);
        var part = 0.0;
        if (c < uniforms.channels) {
          for (var s = strand; s < uniforms.splits; s += ${strands}) {
            part += sums[(b * uniforms.splits + s) * uniforms.channels + c];
          }
        }
        ${totals.code}
      }
    `,
  };
}

/**
 * dKernel[t] = sum over b, c of logitGrad[b, c] pooled[b, c + t - (k - 1) / 2]. A workgroup per
 * tap (workgroupId.x), its threads taking every threads-th (b, c), then adding their sums pairwise
 * in workgroup memory; in the 'serial' layout one thread per tap adds all of them. Output [k].
 */
export function kernelGradProgram(taps: number): WebGPUProgramSpec {
  const threads = REDUCTION_LAYOUT.current === 'serial' ? 1 : 256;
  return {
    outputShape: [taps, 1], // 2-D, as perChannelProgram's
    shaderKey: `saunet_attentionKernelGrad_${threads}`,
    dispatchLayout: { x: [0], y: [1] },
    dispatch: [taps, 1, 1],
    variableNames: ['logitGrad', 'pooled'],
    uniforms: UNIFORMS,
    workgroupSize: [threads, 1, 1],
    getUserCode: () => `
      var<workgroup> threadSums : array<f32, ${threads}>;

      fn main() {
        let t = i32(workgroupId.x);
        let lane = i32(localId.x);
        let half = (uniforms.taps - 1) / 2;
        var total = 0.0;
        for (var i = lane; i < uniforms.batch * uniforms.channels; i += ${threads}) {
          let c = i % uniforms.channels;
          let cs = c + t - half;
          if (cs >= 0 && cs < uniforms.channels) {
            total = fma(logitGrad[i], pooled[i - c + cs], total);
          }
        }
        threadSums[lane] = total;
        for (var stride = ${Math.floor(threads / 2)}; stride > 0; stride /= 2) {
          workgroupBarrier();
          if (lane < stride) {
            threadSums[lane] += threadSums[lane + stride];
          }
        }
        if (lane == 0) {
          result[t] = threadSums[0];
        }
      }
    `,
  };
}

/**
 * What the attend program applies after z * gate, per channel c: `affine`, times scale[c] plus
 * shift[c] (a batch normalization after the attention, in inference, folded in); `relu`, then
 * max(., 0) (NaN kept, as tfjs' Relu keeps it). Both off: y = z * gate.
 */
export interface AttendEpilogue {
  affine: boolean;
  relu: boolean;
}

/** Elementwise over z: y = z * gate (then the epilogue). Output: z's shape, flat. */
export function attendProgram(size: number, parts: number, taps: number, epilogue: AttendEpilogue = { affine: false, relu: false }): WebGPUProgramSpec {
  let value = 'zAt(row, c) * gateAt(row / uniforms.pixels, c)';
  if (epilogue.affine) value = `fma(${value}, scale[c], shift[c])`;
  return {
    outputShape: [size],
    shaderKey: `saunet_attentionAttend_${parts}_k${taps}${epilogue.affine ? '_affine' : ''}${epilogue.relu ? '_relu' : ''}`,
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(size), 1, 1],
    variableNames: [...zNames(parts), 'pooled', 'kernel', ...(epilogue.affine ? ['scale', 'shift'] : [])],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      ${gateCode(taps)}
      ${zAtFunction(parts)}
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let size = uniforms.batch * uniforms.pixels * uniforms.channels;
        for (var i = index; i < size; i += uniforms.threads) {
          let row = i / uniforms.channels;
          let c = i % uniforms.channels;
          let value = ${value};
          result[i] = ${epilogue.relu ? 'select(value, 0.0, value < 0.0)' : 'value'};
        }
      }
    `,
  };
}

/**
 * What the input-gradient block adds to dz: nothing; `addend`, a tensor of the block's shape; or
 * 'depthwise', the input gradient of a depthwise convolution (stride 1, 'same', odd filter, a
 * dilation r) of the block's channels, from its output gradient `depthwiseDy` and its filter
 * `depthwiseFilter` [kh, kw, blockChannels, 1]:
 *   sum_{i, j} depthwiseDy[b, y - i r + pt, x - j r + pl, c] depthwiseFilter[i, j, c, 0]
 * (pt and pl half the dilated filter), computed here instead of by a DepthwiseConv2dNativeBackpropInput
 * dispatch whose output this one would read.
 */
export type BlockAddend = 'none' | 'addend' | 'depthwise';

/**
 * WGSL: depthwiseGradAt(b, y, x, cb), the 'depthwise' addend at a pixel and channel cb of the
 * block, for a filter of `filter` [height, width] (in the shader, as gateCode's k).
 */
function depthwiseGradCode([filterHeight, filterWidth]: readonly [number, number]): string {
  return `
  fn depthwiseGradAt(b : i32, y : i32, x : i32, cb : i32) -> f32 {
    let height = uniforms.pixels / uniforms.width;
    let padTop = ${(filterHeight - 1) / 2} * uniforms.dilation;
    let padLeft = ${(filterWidth - 1) / 2} * uniforms.dilation;
    var total = 0.0;
    for (var i = 0; i < ${filterHeight}; i++) {
      let yy = y - i * uniforms.dilation + padTop;
      if (yy < 0 || yy >= height) {
        continue;
      }
      for (var j = 0; j < ${filterWidth}; j++) {
        let xx = x - j * uniforms.dilation + padLeft;
        if (xx < 0 || xx >= uniforms.width) {
          continue;
        }
        total = fma(depthwiseDy[((b * height + yy) * uniforms.width + xx) * uniforms.blockChannels + cb],
          depthwiseFilter[(i * ${filterWidth} + j) * uniforms.blockChannels + cb], total);
      }
    }
    return total;
  }
`;
}

/**
 * The channels [channelBegin, channelBegin + blockChannels) of dz = dy * gate + dPooled / pixels,
 * dPooled[b, c] = sum_t kernel[t] logitGrad[b, c - t + (k - 1) / 2], plus what `add` names
 * ({@link BlockAddend}). Output: the block [batch, h, w, blockChannels], flat.
 */
export function inputGradBlockProgram(size: number, add: BlockAddend, taps: number, filter: readonly [number, number] = [1, 1]): WebGPUProgramSpec {
  const extra = { none: [], addend: ['addend'], depthwise: ['depthwiseDy', 'depthwiseFilter'] }[add];
  const plus = {
    none: '',
    addend: ' + addend[i]',
    depthwise: ' + depthwiseGradAt(b, pixel / uniforms.width, pixel % uniforms.width, i % uniforms.blockChannels)',
  }[add];
  return {
    outputShape: [size],
    shaderKey: `saunet_attentionInputGradBlock_${add}_k${taps}${add === 'depthwise' ? `_${filter[0]}x${filter[1]}` : ''}`,
    dispatchLayout: { x: [0] },
    dispatch: [gridStrideWorkgroups(size), 1, 1],
    variableNames: ['dy', 'pooled', 'kernel', 'logitGrad', ...extra],
    uniforms: UNIFORMS,
    workgroupSize: [64, 1, 1],
    getUserCode: () => `
      ${gateCode(taps)}
      ${add === 'depthwise' ? depthwiseGradCode(filter) : ''}
      fn pooledGradAt(b : i32, c : i32) -> f32 {
        var total = 0.0;
        for (var t = 0; t < ${taps}; t++) {
          let cd = c - t + ${(taps - 1) / 2};
          if (cd >= 0 && cd < uniforms.channels) {
            total = fma(kernel[t], logitGrad[b * uniforms.channels + cd], total);
          }
        }
        return total;
      }

      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let size = uniforms.batch * uniforms.pixels * uniforms.blockChannels;
        for (var i = index; i < size; i += uniforms.threads) {
          let row = i / uniforms.blockChannels; // b * pixels + pixel
          let c = uniforms.channelBegin + i % uniforms.blockChannels;
          let b = row / uniforms.pixels;
          let pixel = row % uniforms.pixels;
          let value = fma(dy[row * uniforms.channels + c], gateAt(b, c), pooledGradAt(b, c) / f32(uniforms.pixels));
          result[i] = value${plus};
        }
      }
    `,
  };
}
