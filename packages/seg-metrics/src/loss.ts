/** Soft Dice for training: differentiable, on any backend. */
import { add, cast, div, mean, mul, sub, sum, tidy, type Scalar, type Tensor } from '@tensorflow/tfjs-core';
import { checkOptions, SOFT_DICE_OPTIONS } from './options.js';

/** Options of {@link softDice} and {@link diceLoss}. */
export interface SoftDiceOptions {
  /** Added to numerator and denominator: keeps the value defined (1) when both masks are empty. Default 1. */
  smooth?: number;
}

/**
 * Soft Dice coefficient (2 sum(t p) + smooth) / (sum t + sum p + smooth), computed per sample over
 * all its pixels and channels, then averaged over the batch (axis 0). yTrue and yPred share a shape.
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
    const intersection = axes.length > 0 ? sum(mul(t, yPred), axes) : mul(t, yPred);
    const total = axes.length > 0 ? add(sum(t, axes), sum(yPred, axes)) : add(t, yPred);
    return mean(div(add(mul(2, intersection), smooth), add(total, smooth))) as Scalar;
  });
}

/** 1 - {@link softDice}: the paper's training loss; usable as a tfjs-layers loss (`model.compile({ loss: diceLoss })`). */
export function diceLoss(yTrue: Tensor, yPred: Tensor, opts: SoftDiceOptions = {}): Scalar {
  return tidy(() => sub(1, softDice(yTrue, yPred, opts)) as Scalar);
}
