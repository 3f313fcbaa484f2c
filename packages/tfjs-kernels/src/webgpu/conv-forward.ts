/**
 * Conv2D and FusedConv2D on webgpu through this package's tiled product (conv-forward-programs.ts)
 * with a given tiling, where it applies: NHWC, float32, no empty operand, no activation but ReLU,
 * a bias of one value per output channel, at most 65,535 tiles of output pixels. Anything else goes
 * to `fallback` (the stock kernel), as do the shapes where the stock conv2d_mm shader (the same
 * product with one tiling) is as fast: `registerTrainingKernels()` registers it with the tiling and
 * the shapes that an H200 measured faster (tiling-choice.ts; the bench's gpu-conv-forward.ts).
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInfo, type ConvAttrs } from '../conv-geometry.js';
import type { KernelArgs } from '../kernel-ops.js';
import type { WebGPUBackendInternals } from './backend-internals.js';
import { conv2dForwardProgram, conv2dForwardSplitProgram, forwardFitsOneDispatch, splitSumProgram, type ForwardActivation } from './conv-forward-programs.js';
import { convGeometry, convGeometryUniforms, type ConvGeometry } from './conv-program-geometry.js';
import { gridStride, REDUCTION_LAYOUT } from './grid.js';
import { withShape } from './kernel-io.js';
import { checkProductTiling, type ProductTiling } from './product-tiling.js';
import { forwardSplit, forwardTiledProductPays, LARGE_TILES, SMALL_TILES, type ForwardSplit } from './tiling-choice.js';
import { webgpuEmptyOperandKernel } from './empty-operands.js';

interface FusedAttrs extends ConvAttrs {
  activation?: string | null;
}

/** The activation of a Conv2D (none) or FusedConv2D, if the program applies it; null if it does not. */
function programActivation(attrs: FusedAttrs): ForwardActivation | null {
  const a = attrs.activation ?? 'linear';
  return a === 'linear' || a === 'relu' ? a : null;
}

/**
 * A kernel function for Conv2D or FusedConv2D on webgpu: the tiled product with `tiling` where it
 * applies and `pays` for the convolution's geometry (and the split it would get), else
 * `fallback`; split along the reduction into partial sums and their sum where `split` says so
 * (default never).
 */
export function webgpuConvForwardWith(tiling: ProductTiling, fallback: KernelFunc,
  pays: (g: ConvGeometry, splits: ForwardSplit | null) => boolean = () => true,
  split: (g: ConvGeometry, tiling: ProductTiling) => ForwardSplit | null = () => null): (args: KernelArgs) => TensorInfo {
  checkProductTiling(tiling);
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as FusedAttrs;
    const activation = programActivation(attrs);
    const applies = x !== undefined && filter !== undefined && activation !== null && preluActivationWeights === undefined
      && (attrs.dataFormat ?? 'NHWC') === 'NHWC' && x.dtype === 'float32' && filter.dtype === 'float32'
      && !x.shape.includes(0) && !filter.shape.includes(0)
      && (bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
    if (!applies) return fallback(args as never) as TensorInfo;
    const g = convGeometry(convInfo(x.shape, filter.shape, attrs, false));
    if (g.outHeight <= 0 || g.outWidth <= 0 || !forwardFitsOneDispatch(g, tiling)) return fallback(args as never) as TensorInfo;
    const splits = split(g, tiling);
    if (!pays(g, splits)) return fallback(args as never) as TensorInfo;
    const backend = args.backend as WebGPUBackendInternals;
    const outShape = [g.batch, g.outHeight, g.outWidth, g.outChannels];
    if (splits !== null && splits.splits > 1) {
      const depth = g.filterHeight * g.filterWidth * g.inChannels;
      if (splits.chunk % tiling.tileK !== 0 || splits.splits * splits.chunk < depth || splits.chunk <= 0) {
        throw new Error(`convolution forward: split ${JSON.stringify(splits)} of a reduction of ${depth} with ${tiling.tileK}-deep tiles: ` +
          `expected chunks that are a multiple of ${tiling.tileK} and cover it`);
      }
      const partials = backend.runWebGPUProgram(conv2dForwardSplitProgram(g, tiling, splits.splits, splits.chunk), [x, filter], 'float32',
        convGeometryUniforms(g, splits.chunk));
      try {
        const size = util.sizeFromShape(outShape);
        const grid = gridStride(size);
        const out = backend.runWebGPUProgram(splitSumProgram(size, bias !== undefined, activation), bias === undefined ? [partials] : [partials, bias],
          'float32', [...grid.uniforms, { type: 'int32', data: [splits.splits] }, { type: 'int32', data: [g.outChannels] }]);
        return withShape(out, outShape);
      } finally {
        backend.disposeData(partials.dataId);
      }
    }
    const out = backend.runWebGPUProgram(conv2dForwardProgram(g, tiling, bias !== undefined, activation),
      bias === undefined ? [x, filter] : [x, filter, bias], 'float32', convGeometryUniforms(g));
    return withShape(out, outShape);
  };
}

/**
 * The split of a forward convolution's reduction with {@link SMALL_TILES} (forwardSplit), or null:
 * none in the 'serial' REDUCTION_LAYOUT (the layout measured on 2026-12-04).
 */
export function registeredForwardSplit(g: ConvGeometry): ForwardSplit | null {
  return REDUCTION_LAYOUT.current === 'serial' ? null : forwardSplit(g, SMALL_TILES);
}

/**
 * This package's Conv2D or FusedConv2D on webgpu: where few output tiles meet a long reduction (a
 * U-Net's deep layers at batch 1, see forwardSplit), the tiled product with {@link SMALL_TILES}
 * split along the reduction; else the tiled product with {@link LARGE_TILES} where
 * {@link forwardTiledProductPays}; else its empty-operand kernel (the cpu backend's result for
 * empty operands, the stock kernel for everything else).
 */
export function webgpuConvForward(name: 'Conv2D' | 'FusedConv2D'): (args: KernelArgs) => TensorInfo {
  const unsplit = webgpuConvForwardWith(LARGE_TILES, webgpuEmptyOperandKernel(name), (g) => forwardTiledProductPays(g.batch * g.outHeight * g.outWidth, g.outChannels));
  return webgpuConvForwardWith(SMALL_TILES, unsplit as KernelFunc, (_, splits) => splits !== null, registeredForwardSplit);
}
