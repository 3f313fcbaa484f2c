/**
 * Composing kernels from other kernels of the same backend, as tfjs's own backends do: each step
 * calls a registered kernel function directly (no tensors, no tape), and every intermediate is
 * released when the composite kernel returns.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { ConvAttrs } from './conv-geometry.js';
import { requireStockKernel } from './registry-state.js';
import { webgpuFlippedFilter } from './webgpu/flipped-filter.js';

export type Pair = [number, number];

export class KernelOps {
  private readonly temps: TensorInfo[] = [];
  /** Buffers this kernel allocated (reshapes of them share the same data id). */
  private readonly owned = new Set<unknown>();
  /** Copies of matMul operands that are not this kernel's buffers, by data id and shape. */
  private readonly copies = new Map<unknown, Map<string, TensorInfo>>();

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs kernel `name` of this backend; its output is released by {@link dispose} unless it is the result. */
  run(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(name, this.backendName);
    if (kernel === undefined) {
      throw new Error(`@sa-unet/tfjs-kernels: kernel '${name}' is not registered for backend '${this.backendName}'`);
    }
    const out = kernel.kernelFunc({ inputs: inputs as never, backend: this.backend, attrs });
    const info = Array.isArray(out) ? out[0] : out;
    if (!Object.values(inputs).some((t) => t.dataId === info.dataId)) this.owned.add(info.dataId);
    this.temps.push(info);
    return info;
  }

  /**
   * Runs the stock kernel `name` of this backend (the one ours replaced, where ours wraps it) on
   * `inputs`; its output is an intermediate of this kernel, like run()'s.
   */
  runStock(name: string, inputs: Record<string, TensorInfo>, attrs: object): TensorInfo {
    const stock = requireStockKernel(name, this.backendName);
    return this.adopt(stock.kernelFunc({ inputs: inputs as never, backend: this.backend, attrs: attrs as never }) as TensorInfo);
  }

  /** Takes an output made outside run() (e.g. by a WebGPU program) as an intermediate of this kernel. */
  adopt(info: TensorInfo): TensorInfo {
    this.owned.add(info.dataId);
    this.temps.push(info);
    return info;
  }

  /** Releases every intermediate except `result`, and returns `result`. */
  finish(result: TensorInfo): TensorInfo {
    return this.finishAll([result])[0]!;
  }

  /** Releases every intermediate except `results` (each kept once), and returns them: {@link finish} for a kernel with several outputs. */
  finishAll(results: TensorInfo[]): TensorInfo[] {
    const toKeep = new Set(results);
    if (toKeep.size !== results.length || !results.every((t) => this.temps.includes(t))) {
      throw new Error('@sa-unet/tfjs-kernels: internal error, a result is not an intermediate of this kernel');
    }
    for (const t of this.temps) {
      if (toKeep.delete(t)) continue; // its first occurrence is the result; any other is a reference to release
      this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
    return results;
  }

  /**
   * Releases those of `ts` that are intermediates of this kernel (inputs are left alone) before
   * it returns, for large temporaries that nothing later reads. A reshape shares its input's
   * buffer and counts as one more reference to it: release both.
   */
  release(...ts: TensorInfo[]): void {
    for (const t of ts) {
      const i = this.temps.indexOf(t);
      if (i < 0) continue;
      this.temps.splice(i, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  /** Releases every intermediate (on failure). */
  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }

  /** Transpose; a reshape when only axes of size 1 move (no copy). */
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    if (collapseTranspose(x.shape, perm).perm.length <= 1) return this.reshape(x, perm.map((axis) => x.shape[axis]));
    return this.run('Transpose', { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Zero padding; `paddings[i]` = [before, after] (non-negative). */
  pad(x: TensorInfo, paddings: Pair[]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** x with one zero appended along `axis` (a shared dimension of 0 made 1, so that stock kernels compute zeros). */
  appendZero(x: TensorInfo, axis: number): TensorInfo {
    return this.pad(x, x.shape.map((_, i) => (i === axis ? [0, 1] : [0, 0]) as Pair));
  }

  /**
   * The stock convolution `name` on an input without channels: input and filter get one zero
   * channel (at `channelAxis` of x, 2 of the filter), so that the stock kernel computes the zeros,
   * bias and activation that a convolution of nothing gives.
   */
  convWithOneZeroChannel(name: string, inputs: Record<string, TensorInfo>, attrs: object, channelAxis: number): TensorInfo {
    return this.runStock(name, { ...inputs, x: this.appendZero(inputs['x']!, channelAxis), filter: this.appendZero(inputs['filter']!, 2) }, attrs);
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  stridedSlice(x: TensorInfo, begin: number[], end: number[], strides: number[]): TensorInfo {
    return this.run('StridedSlice', { x }, {
      begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }

  /** A constant tensor owned by this kernel (released with the intermediates). */
  constant(values: Int32Array | Float32Array, shape: number[]): TensorInfo {
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    const info: TensorInfo = { dataId: this.backend.write(values, shape, dtype), shape, dtype };
    this.owned.add(info.dataId);
    this.temps.push(info);
    return info;
  }

  /** Float32 zeros of `shape`. */
  zeros(shape: number[]): TensorInfo {
    return this.run('Fill', [], { shape, value: 0, dtype: 'float32' });
  }

  /** Rows of x along `axis` in the order of `indices`. */
  gather(x: TensorInfo, indices: number[], axis: number): TensorInfo {
    const idx = this.constant(Int32Array.from(indices), [indices.length]);
    return this.run('GatherV2', { x, indices: idx }, { axis, batchDims: 0 });
  }

  /**
   * A filter [fh, fw, a, b] rotated by 180 degrees in space: a gather of its taps in reverse
   * order (the backends' Reverse kernel is several times slower on large filters).
   */
  rotate180(filter: TensorInfo): TensorInfo {
    const [fh, fw, a, b] = filter.shape;
    const taps = fh * fw;
    if (taps === 1) return filter;
    const flat = this.reshape(filter, [taps, a * b]);
    const order = Array.from({ length: taps }, (_, i) => taps - 1 - i);
    // One gather on webgpu (one dispatch); whole-row slices and a concat on the CPU backends, where
    // the stock wasm GatherV2 is slow (3x3x256x128 filter: 9.5 ms, against 4.6 ms).
    const reversed = this.backendName === 'webgpu' ? this.gather(flat, order, 0)
      : this.concat(order.map((t) => this.slice(flat, [t, 0], [1, a * b])), 0);
    return this.reshape(reversed, [fh, fw, a, b]);
  }

  /**
   * A Conv2D filter [fh, fw, c, o] rotated 180 degrees with its channel axes swapped, [fh, fw, o,
   * c]: the filter of the input gradient's convolution. One program on webgpu (one dispatch
   * instead of two), rotate180 and a transpose elsewhere.
   */
  flippedFilter(filter: TensorInfo): TensorInfo {
    const [fh, fw, c, o] = filter.shape as [number, number, number, number];
    if (this.backendName === 'webgpu') return this.adopt(webgpuFlippedFilter(this.backend, filter));
    return this.reshape(this.transpose(this.reshape(this.rotate180(filter), [fh * fw, c, o]), [0, 2, 1]), [fh, fw, o, c]);
  }

  /**
   * The sum of xs, in AddN calls of at most 4 inputs: the webgpu backend binds every input as a
   * storage buffer, and devices may allow only 8 per shader stage (lavapipe's default).
   */
  addN(xs: TensorInfo[]): TensorInfo {
    let terms = xs;
    while (terms.length > 1) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < terms.length; i += 4) {
        const group = terms.slice(i, i + 4);
        next.push(group.length === 1 ? group[0] : this.run('AddN', group));
      }
      terms = next;
    }
    return terms[0];
  }

  conv2d(x: TensorInfo, filter: TensorInfo, strides: Pair, pad: 'valid' | Pair[], dilations: Pair): TensorInfo {
    return this.run('Conv2D', { x, filter }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: null as never });
  }

  depthwiseConv2d(x: TensorInfo, filter: TensorInfo, strides: Pair, pad: 'valid' | Pair[], dilations: Pair): TensorInfo {
    return this.run('DepthwiseConv2dNative', { x, filter }, { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: null as never });
  }

  /**
   * a [batch, m, k] times b [batch, k, n]; no transpose flags, since the wasm backend has a fast
   * path only without them. On wasm, b must be a buffer of this kernel: the backend caches the
   * packed b by data id alone, so an input (or a reshape of one) seen before with another shape
   * would hit a stale entry and read out of bounds; such a b is copied first.
   */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b: this.backendName === 'wasm' ? this.ownedOperand(b) : b }, { transposeA: false, transposeB: false });
  }

  /** b, or one copy of it per shape for all the products of this kernel (the packed copy is then reused). */
  private ownedOperand(b: TensorInfo): TensorInfo {
    if (this.owned.has(b.dataId)) return b;
    const key = `${b.shape}`;
    let byShape = this.copies.get(b.dataId);
    if (byShape === undefined) this.copies.set(b.dataId, (byShape = new Map()));
    let copy = byShape.get(key);
    if (copy === undefined) byShape.set(key, (copy = this.copy(b)));
    return copy;
  }

  /** A copy of x in a new buffer. */
  copy(x: TensorInfo): TensorInfo {
    return this.run('Add', { a: x, b: this.constant(new Float32Array(1), [1]) });
  }

  mul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('Multiply', { a, b });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  concat(xs: TensorInfo[], axis: number): TensorInfo {
    return this.run('Concat', xs, { axis });
  }

  /** Crops (negative amounts) or zero-pads (positive amounts) the two spatial axes of an NHWC tensor. */
  cropOrPad(x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
    let out = x;
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const [n, h, w, c] = out.shape;
      const t = Math.max(0, -top);
      const l = Math.max(0, -left);
      out = this.slice(out, [0, t, l, 0], [n, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c]);
    }
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      out = this.pad(out, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
    }
    return out;
  }

  /**
   * Inserts (stride - 1) zeros after each row and column of an NHWC tensor: the input of a
   * strided convolution's input-gradient as a stride-1 convolution. Rank-4 steps only.
   */
  zeroInsert(x: TensorInfo, strides: Pair): TensorInfo {
    const [sh, sw] = strides;
    if (sh === 1 && sw === 1) return x;
    const [n, h, w, c] = x.shape;
    let out = x;
    if (sh > 1) {
      out = this.reshape(out, [n, h, 1, w * c]);
      out = this.pad(out, [[0, 0], [0, 0], [0, sh - 1], [0, 0]]);
    }
    if (sw > 1) {
      out = this.reshape(out, [n * h * sh, w, 1, c]);
      out = this.pad(out, [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
    }
    return this.reshape(out, [n, h * sh, w * sw, c]);
  }
}

/**
 * The input gradient of a convolution is the correlation of dy, zero-inserted by the stride, with
 * the rotated filter, padded so that the output has the input's size: this prepares dy and the
 * padding (negative amounts crop dy; the rest the convolution applies itself, without a copy).
 */
export function transposedConvInput(
  ops: KernelOps,
  dy: TensorInfo,
  info: { inHeight: number; inWidth: number; filterHeight: number; filterWidth: number; strideHeight: number; strideWidth: number;
    dilationHeight: number; dilationWidth: number; padInfo: { top: number; left: number } },
): { input: TensorInfo; pad: Pair[] } {
  const { inHeight: h, inWidth: w, filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const d = ops.zeroInsert(dy, [info.strideHeight, info.strideWidth]);
  const top = (fh - 1) * dh - padInfo.top;
  const left = (fw - 1) * dw - padInfo.left;
  const bottom = h + (fh - 1) * dh - top - d.shape[1];
  const right = w + (fw - 1) * dw - left - d.shape[2];
  return {
    input: ops.cropOrPad(d, Math.min(top, 0), Math.min(bottom, 0), Math.min(left, 0), Math.min(right, 0)),
    pad: [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]],
  };
}

/** The arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}

/** The attributes of the convolution-gradient kernels. */
export type GradAttrs = ConvAttrs & { filterShape?: number[]; inputShape?: number[] };

/** A float32 result of `shape` holding `values` computed on the CPU (for kernels that loop in JS). */
export function float32Output(backend: KernelBackend, values: Float32Array, shape: readonly number[]): TensorInfo {
  return { dataId: backend.write(values, [...shape], 'float32'), shape: [...shape], dtype: 'float32' };
}

/**
 * The gradient of a convolution one of whose `operands` has no values (an empty batch, or an
 * output that a 'valid' filter larger than its input leaves empty): zeros of `shape`, as the stock
 * cpu kernels give; else null. The composed kernels would otherwise return uninitialized memory
 * on wasm (their steps produce nothing to sum), and WebGPU refuses to bind an empty buffer.
 */
export function zerosIfEmpty(ops: KernelOps, operands: TensorInfo[], shape: number[]): TensorInfo | null {
  return operands.some((t) => t.shape.includes(0)) ? ops.zeros(shape) : null;
}

/**
 * A kernel function for `backendName` whose body composes other kernels through `ops`: every
 * intermediate is released, on success and on failure.
 */
export function compositeKernel(
  backendName: string,
  body: (ops: KernelOps, inputs: Record<string, TensorInfo>, attrs: GradAttrs, backend: KernelBackend) => TensorInfo,
) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const ops = new KernelOps(backend as KernelBackend, backendName);
    try {
      return ops.finish(body(ops, inputs as Record<string, TensorInfo>, attrs as unknown as GradAttrs, backend as KernelBackend));
    } catch (err) {
      ops.dispose();
      throw err;
    }
  };
}

/**
 * The same transpose with size-1 axes dropped and axes that stay neighbours merged: [n, h, w, c]
 * with perm [3, 0, 1, 2] is [n*h*w, c] with perm [1, 0].
 */
export function collapseTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const sizes = shape.filter((d) => d !== 1); // the axes left, renumbered in input order
  let next = 0;
  const position = shape.map((d) => (d === 1 ? -1 : next++));
  const kept = perm.map((axis) => position[axis]!).filter((axis) => axis >= 0);
  const groups: number[][] = []; // runs of axes that stay consecutive, in output order
  for (const axis of kept) {
    const run = groups[groups.length - 1];
    if (run !== undefined && run[run.length - 1] === axis - 1) run.push(axis);
    else groups.push([axis]);
  }
  const inputOrder = [...groups].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: inputOrder.map((run) => run.reduce((size, axis) => size * sizes[axis]!, 1)),
    perm: groups.map((run) => inputOrder.indexOf(run)),
  };
}
