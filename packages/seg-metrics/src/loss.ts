/** Soft Dice for training: differentiable, on any backend. */
import {
  add, cast, customGrad, div, engine, getBackend, getKernel, mean, mul, sub, sum, tidy,
  type GradSaveFunc, type NamedAttrMap, type Scalar, type Tensor,
} from '@tensorflow/tfjs-core';
import { checkOptions, SOFT_DICE_OPTIONS } from './options.js';

/**
 * Kernels that @sa-unet/tfjs-kernels registers (for webgpu) by the names it exports as
 * SOFT_DICE_KERNELS (a test checks they agree): the coefficient with its per-sample sums in 2
 * dispatches, both gradients in 1, where the stock kernels take about 23 between them for a
 * training step. This package does not depend on that one: it only looks the names up.
 * - forward: { yTrue, yPred }, { smooth } -> [dice, sums [batch, 2]];
 * - gradient: { dy, yTrue, yPred, sums }, { smooth } -> [dTrue, dPred].
 */
export const FUSED_SOFT_DICE_KERNELS = { forward: 'SaUnetSoftDice', gradient: 'SaUnetSoftDiceGrad' } as const;

/** Whether the active backend has both fused kernels. */
function hasFusedKernels(): boolean {
  const backend = getBackend();
  return Object.values(FUSED_SOFT_DICE_KERNELS).every((name) => getKernel(name, backend) !== undefined);
}

/** Soft Dice of float32 masks by the fused kernels, with their gradient. */
function fusedSoftDice(yTrue: Tensor, yPred: Tensor, smooth: number): Scalar {
  const attrs = { smooth } as unknown as NamedAttrMap;
  const op = customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const save = args.pop() as GradSaveFunc;
    const [t, p] = args as Tensor[];
    const [dice, sums] = engine().runKernel(FUSED_SOFT_DICE_KERNELS.forward, { yTrue: t!, yPred: p! }, attrs) as Tensor[];
    save([t!, p!, sums!]);
    return {
      value: dice!,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => engine().runKernel(FUSED_SOFT_DICE_KERNELS.gradient,
        { dy: dy as Tensor, yTrue: saved[0]!, yPred: saved[1]!, sums: saved[2]! }, attrs) as Tensor[],
    };
  });
  return op(yTrue, yPred) as Scalar;
}

/** Options of {@link softDice} and {@link diceLoss}. */
export interface SoftDiceOptions {
  /** Added to numerator and denominator: keeps the value defined (1) when both masks are empty. Default 1. */
  smooth?: number;
}

/**
 * Soft Dice coefficient (2 sum(t p) + smooth) / (sum t + sum p + smooth), computed per sample over
 * all its pixels and channels, then averaged over the batch (axis 0). yTrue and yPred share a shape.
 * On a backend with @sa-unet/tfjs-kernels' soft-Dice kernels (webgpu), in 2 dispatches and its
 * gradient in 1 (see FUSED_SOFT_DICE_KERNELS); elsewhere composed from stock kernels.
 */
export function softDice(yTrue: Tensor, yPred: Tensor, opts: SoftDiceOptions = {}): Scalar {
  checkOptions(opts, SOFT_DICE_OPTIONS, 'softDice');
  const smooth = opts.smooth ?? 1;
  if (typeof smooth !== 'number' || !(smooth >= 0)) throw new Error(`smooth: expected a number >= 0, got ${JSON.stringify(smooth)}`);
  if (yTrue.shape.length !== yPred.shape.length || yTrue.shape.some((d, i) => d !== yPred.shape[i])) {
    throw new Error(`softDice: yTrue shape [${yTrue.shape.join(', ')}] differs from yPred shape [${yPred.shape.join(', ')}]`);
  }
  return tidy(() => {
    const axes = yTrue.shape.map((_, i) => i).slice(1);
    const t = yTrue.dtype === 'float32' ? yTrue : cast(yTrue, 'float32');
    // The fused kernels take float32 masks of at most 65,535 samples.
    if (yPred.dtype === 'float32' && yPred.rank >= 1 && yPred.size > 0 && yPred.shape[0]! <= 65535 && hasFusedKernels()) {
      return fusedSoftDice(t, yPred, smooth);
    }
    const intersection = axes.length > 0 ? sum(mul(t, yPred), axes) : mul(t, yPred);
    const total = axes.length > 0 ? add(sum(t, axes), sum(yPred, axes)) : add(t, yPred);
    return mean(div(add(mul(2, intersection), smooth), add(total, smooth))) as Scalar;
  });
}

/** 1 - {@link softDice}: the paper's training loss; usable as a tfjs-layers loss (`model.compile({ loss: diceLoss })`). */
export function diceLoss(yTrue: Tensor, yPred: Tensor, opts: SoftDiceOptions = {}): Scalar {
  return tidy(() => sub(1, softDice(yTrue, yPred, opts)) as Scalar);
}
