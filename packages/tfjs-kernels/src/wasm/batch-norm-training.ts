/**
 * Training-mode batch normalization on wasm: the batch moments with the moving averages, and the
 * closed-form gradient, under the names of {@link BATCH_NORM_KERNELS} (which `@sa-unet/unet-zoo`'s
 * batch norm uses where a backend has them), with the values of the stock kernels that the zoo
 * composes where it does not, bit for bit.
 *
 * Composed, a batch norm's training step runs about 25 kernels per layer, most of them passes over
 * the whole activation (the moments: mean, difference, square, mean; the gradient: sum(dy), the
 * difference from the mean, its product with dy, their sum, FusedBatchNorm, the product dy * a,
 * the difference), each with tfjs's dispatch around it. Here the passes over x are three of the
 * heap module's (src/wasm/heap-module.wat): the sum of squared differences, both channel sums of
 * the gradient in one pass, and dx in one pass; every float32 operation of the composed kernels
 * is kept, in the same order (the sums in the order of our Sum, src/wasm/channel-reductions.ts),
 * and the per-channel values ([channels] each) come from the same stock kernels as before. Where
 * the heap module cannot run, the same stock kernels are composed here.
 *
 * The third name, `normalizeRelu`, is not registered for wasm: the stock Relu's handling of -0
 * and NaN is XNNPACK's, which this module does not repeat.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelOps, type KernelArgs } from '../kernel-ops.js';
import { BATCH_NORM_KERNELS, checkNormalizedX } from '../own-kernels.js';
import { requireInputs } from '../webgpu/kernel-io.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { normalizationParams } from './batch-norm.js';
import { heapModule } from './heap-module.js';

/** x's channel count and rows, x checked: float32, at least one axis, none empty. */
function rowsOf(kernel: string, x: TensorInfo): { channels: number; rows: number; axes: number[] } {
  checkNormalizedX(kernel, x);
  const channels = x.shape[x.shape.length - 1]!;
  return { channels, rows: util.sizeFromShape(x.shape) / channels, axes: x.shape.slice(0, -1).map((_, i) => i) };
}

/** Each of `named` float32 with `size` values, or an Error naming the kernel and the input. */
function checkSizes(kernel: string, named: Record<string, TensorInfo>, size: number, what: string): void {
  for (const [label, t] of Object.entries(named)) {
    if (t.dtype !== 'float32' || util.sizeFromShape(t.shape) !== size) {
      throw new Error(`${kernel}: ${label} must be float32 with ${what} (${size} values), got ${t.dtype} [${t.shape.join(', ')}]`);
    }
  }
}

/**
 * `moments`: { x, movingMean, movingVariance }, { momentum } -> [mean, variance, movingMean',
 * movingVariance'] as tfjs-core's mean(x), mean(square(sub(x, mean))) over every axis but the last
 * and m - (m - batch value) * (1 - momentum) give them (new tensors; `inPlace` is not needed here).
 */
export function wasmBatchMoments({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.moments;
  const [x, movingMean, movingVariance] = requireInputs(name, inputs, ['x', 'movingMean', 'movingVariance']) as [TensorInfo, TensorInfo, TensorInfo];
  const { channels, rows, axes } = rowsOf(name, x);
  checkSizes(name, { movingMean, movingVariance }, channels, 'one value per channel');
  const b = backend as WasmBackendInternals;
  const ops = new KernelOps(b, 'wasm');
  try {
    const reduce = { axis: axes, keepDims: false };
    const mean = ops.run('Mean', { x }, reduce);
    const heap = heapModule(b);
    let variance: TensorInfo;
    if (heap !== null) {
      const sums = ops.adopt(b.makeOutput([channels], 'float32'));
      heap.momentSums(heapStart(b, x), heapStart(b, sums), rows, channels, heapStart(b, mean));
      // Our Mean's division: float32 by the count as float32 (a double division rounded once is the same).
      const values = b.typedArrayFromHeap(sums) as Float32Array;
      const count = Math.fround(rows);
      for (let c = 0; c < channels; c++) values[c] = values[c]! / count;
      variance = sums;
    } else {
      variance = ops.run('Mean', { x: ops.run('Square', { x: ops.run('Sub', { a: x, b: mean }) }) }, reduce);
    }
    const rate = ops.constant(Float32Array.of(1 - Number((attrs ?? {}).momentum)), []);
    const moved = (moving: TensorInfo, batch: TensorInfo) =>
      ops.run('Sub', { a: moving, b: ops.run('Multiply', { a: ops.run('Sub', { a: moving, b: batch }), b: rate }) });
    return ops.finishAll([mean, variance, moved(movingMean, mean), moved(movingVariance, variance)]);
  } catch (err) {
    ops.dispose();
    throw err;
  }
}

/**
 * `gradient`: { dy, x, mean, variance, scale, y? }, { varianceEpsilon } -> [dx, dScale, dOffset]
 * as the zoo's composed closed form gives them: invSigma = rsqrt(variance + epsilon),
 * dOffset = sum(dy), dScale = sum(dy (x - mean)) invSigma, a = scale invSigma, dx = dy a -
 * batchNorm(x, mean, variance, a dOffset / n, a dScale / n). With y (the output of a rectifying
 * batch norm), dy times step(y) first.
 */
export function wasmBatchNormGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_KERNELS.gradient;
  const [dyIn, x, mean, variance, scale] = requireInputs(name, inputs, ['dy', 'x', 'mean', 'variance', 'scale']) as
    [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const { channels, rows, axes } = rowsOf(name, x);
  const y = inputs['y'];
  checkSizes(name, { dy: dyIn, ...(y === undefined ? {} : { y }) }, rows * channels, 'x\'s size');
  checkSizes(name, { mean, variance, scale }, channels, 'one value per channel');
  const varianceEpsilon = Number((attrs ?? {}).varianceEpsilon);
  const b = backend as WasmBackendInternals;
  const ops = new KernelOps(b, 'wasm');
  try {
    const dy = y === undefined ? dyIn : ops.run('Multiply', { a: dyIn, b: ops.run('Step', { x: y }, { alpha: 0 }) });
    const invSigma = ops.run('Rsqrt', { x: ops.run('Add', { a: variance, b: ops.constant(Float32Array.of(varianceEpsilon), []) }) });
    const heap = heapModule(b);
    const reduce = { axis: axes, keepDims: false };
    let offsetGrad: TensorInfo;
    let products: TensorInfo;
    if (heap !== null) {
      offsetGrad = ops.adopt(b.makeOutput([channels], 'float32'));
      products = ops.adopt(b.makeOutput([channels], 'float32'));
      heap.gradientSums(heapStart(b, dy), heapStart(b, x), heapStart(b, offsetGrad), heapStart(b, products), rows, channels, heapStart(b, mean));
    } else {
      offsetGrad = ops.run('Sum', { x: dy }, reduce);
      products = ops.run('Sum', { x: ops.run('Multiply', { a: dy, b: ops.run('Sub', { a: x, b: mean }) }) }, reduce);
    }
    const scaleGrad = ops.run('Multiply', { a: products, b: invSigma });
    const a = ops.run('Multiply', { a: scale, b: invSigma });
    const perValue = ops.constant(Float32Array.of(1 / rows), []);
    const offset = ops.run('Multiply', { a, b: ops.run('Multiply', { a: offsetGrad, b: perValue }) });
    const correctionScale = ops.run('Multiply', { a, b: ops.run('Multiply', { a: scaleGrad, b: perValue }) });
    let dx: TensorInfo;
    if (heap !== null) {
      dx = ops.adopt(b.makeOutput([...x.shape], 'float32'));
      const params = ops.adopt(normalizationParams(b, channels, { mean, variance, offset, scale: correctionScale, varianceEpsilon }, [a]));
      heap.batchNormInputGrad(heapStart(b, dy), heapStart(b, x), heapStart(b, dx), rows, channels, heapStart(b, params));
    } else {
      const correction = ops.run('FusedBatchNorm', { x, mean, variance, offset, scale: correctionScale }, { varianceEpsilon });
      dx = ops.run('Sub', { a: ops.run('Multiply', { a: dy, b: a }), b: correction });
    }
    return ops.finishAll([dx, scaleGrad, offsetGrad]);
  } catch (err) {
    ops.dispose();
    throw err;
  }
}
