/**
 * The zoo's batch normalization: tfjs-layers' BatchNormalization with a shorter training-mode
 * gradient. Saved as, and loaded as, the stock 'BatchNormalization' (same class name, config and
 * weights), so a model built here loads with tfjs-layers alone.
 *
 * Why: in training mode the stock layer normalizes with the batch's moments, and autodiff
 * differentiates through tfjs-core's `moments` (mean, difference, square, mean) and then through
 * FusedBatchNorm with respect to x, mean and variance: about 26 kernels per layer, most of them
 * passes over the whole activation. The closed form of the batch-norm gradient needs two channel
 * sums and two passes:
 *   dbeta = S1 = sum(dy),  dgamma = S2 = sum(dy (x - mean)) / sigma,
 *   dx = (gamma / sigma) (dy - S1 / n - xhat S2 / n),  xhat = (x - mean) / sigma,
 * with sigma = sqrt(variance + epsilon) and n the values per channel. Here it takes 15 kernels; on
 * WebGPU, where a kernel costs about 0.05 ms of CPU time whatever its size, that is most of what
 * batch norm costs a training step.
 *
 * The forward pass is the stock one (the same kernels: mean, difference, square, mean,
 * FusedBatchNorm, and the same moving-average updates), so outputs and moving statistics are
 * equal bit for bit; gradients are equal within float32 rounding. Inference, and training with a
 * configuration other than the zoo's (an axis other than the last, no center or no scale), run the
 * stock code.
 *
 * Where the active backend has the two batch-norm kernels of @sa-unet/tfjs-kernels (registered for
 * webgpu by its registerTrainingKernels; names in {@link FUSED_BATCH_NORM_KERNELS}), training uses
 * them instead: the moments with the moving averages in 5 dispatches instead of 13, the gradient
 * in 4 instead of about 17 (outputs and moving statistics then equal the stock layer's within
 * float32 rounding). This package does not depend on that one: it only looks the names up.
 */
import {
  add,
  batchNorm,
  customGrad,
  engine,
  getBackend,
  getKernel,
  mean,
  mul,
  rsqrt,
  serialization,
  square,
  sub,
  sum,
  tidy,
  type GradSaveFunc,
  type Tensor,
} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type BatchNormalizationArgs = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;
type StockBatchNormalization = ReturnType<typeof tfl.layers.batchNormalization>;
type Kwargs = Parameters<StockBatchNormalization['call']>[1];

/** The stock layer's fields (private in its typings) that the training path reads. */
interface BatchNormalizationFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/** Whether the stock layer still has the fields read here (tfjs-layers 4.x); if not, the stock code runs. */
function hasStockFields(layer: BatchNormalizationFields): boolean {
  return [layer.momentum, layer.epsilon].every((v) => typeof v === 'number') &&
    [layer.gamma, layer.beta, layer.movingMean, layer.movingVariance].every((v) => typeof v?.read === 'function' && typeof v.write === 'function');
}

// tfjs-layers registers its BatchNormalization class but does not export it.
const registered = serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
if (registered === undefined) throw new Error('@sa-unet/unet-zoo: tfjs-layers registered no BatchNormalization class');
const StockBatchNormalizationClass = registered[0] as unknown as new (args?: BatchNormalizationArgs) => StockBatchNormalization;

/**
 * Kernels that @sa-unet/tfjs-kernels registers (for webgpu), by the names it exports as
 * BATCH_NORM_KERNELS (a test checks they agree):
 * - moments: { x, movingMean, movingVariance }, { momentum } -> [mean, variance, movingMean', movingVariance'];
 * - gradient: { dy, x, mean, variance, scale }, { varianceEpsilon } -> [dx, dScale, dOffset].
 */
export const FUSED_BATCH_NORM_KERNELS = { moments: 'SaUnetBatchMoments', gradient: 'SaUnetBatchNormGrad' } as const;

/** Whether the active backend has both fused kernels. */
function hasFusedKernels(): boolean {
  const backend = getBackend();
  return Object.values(FUSED_BATCH_NORM_KERNELS).every((name) => getKernel(name, backend) !== undefined);
}

/**
 * FusedBatchNorm of x with the batch's own mean and variance over `channelAxes` (computed from x by
 * the caller), with the closed-form gradient for x, gamma and beta. mean and variance are not
 * inputs of the op: their dependence on x is part of the closed form, so autodiff must not
 * differentiate through them again.
 */
function normalizeWithBatchMoments(x: Tensor, gamma: Tensor, beta: Tensor, batchMean: Tensor, batchVariance: Tensor,
  channelAxes: number[], epsilon: number, fused: boolean): Tensor {
  const op = customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const save = args.pop() as GradSaveFunc;
    const [input, scale, offset] = args as Tensor[];
    save([input, scale, batchMean, batchVariance]);
    return {
      value: batchNorm(input, batchMean, batchVariance, offset, scale, epsilon),
      gradFunc: (dyIn: Tensor | Tensor[], saved: Tensor[]) => tidy(() => {
        const dy = dyIn as Tensor;
        const [xs, g, m, v] = saved;
        if (fused) {
          const [dx, dGamma, dBeta] = engine().runKernel(FUSED_BATCH_NORM_KERNELS.gradient,
            { dy, x: xs!, mean: m!, variance: v!, scale: g! }, { varianceEpsilon: epsilon }) as Tensor[];
          return [dx!, dGamma!, dBeta!];
        }
        const perChannel = 1 / (xs.size / g.size);
        const invSigma = rsqrt(add(v, epsilon));
        const s1 = sum(dy, channelAxes);
        const dGamma = mul(sum(mul(dy, sub(xs, m)), channelAxes), invSigma);
        const a = mul(g, invSigma);
        // (x - mean) / sigma * (a S2 / n) + a S1 / n, in one FusedBatchNorm pass over x.
        const correction = batchNorm(xs, m, v, mul(a, mul(s1, perChannel)), mul(a, mul(dGamma, perChannel)), epsilon);
        return [sub(mul(dy, a), correction), dGamma, s1];
      }),
    };
  });
  return op(x, gamma, beta);
}

/**
 * tfjs-layers' BatchNormalization with the closed-form training gradient above. Same arguments,
 * defaults, weights and config as `tf.layers.batchNormalization`.
 */
export class ZooBatchNormalization extends StockBatchNormalizationClass {
  // The stock name, unregistered: models save (and load) as stock BatchNormalization layers.
  static readonly className = 'BatchNormalization';

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const self = this as unknown as BatchNormalizationFields;
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0]! : inputs;
    const ours = kwargs.training === true && !Array.isArray(x) && x.rank >= 2 && x.rank <= 4 &&
      (self.axis === -1 || self.axis === x.rank - 1) && self.center === true && self.scale === true && hasStockFields(self);
    if (!ours) return super.call(inputs, kwargs); // the stock code, its errors included
    return tidy(() => {
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const fused = x.dtype === 'float32' && x.size > 0 && hasFusedKernels();
      let batchMean: Tensor;
      let batchVariance: Tensor;
      if (fused) {
        const [m, v, movingMean, movingVariance] = engine().runKernel(FUSED_BATCH_NORM_KERNELS.moments,
          { x, movingMean: self.movingMean.read(), movingVariance: self.movingVariance.read() }, { momentum: self.momentum }) as Tensor[];
        [batchMean, batchVariance] = [m!, v!];
        self.movingMean.write(movingMean!);
        self.movingVariance.write(movingVariance!);
      } else {
        // tfjs-core's moments, kernel for kernel, so the moving statistics equal the stock layer's.
        batchMean = mean(x, axes);
        batchVariance = mean(square(sub(x, batchMean)), axes);
        for (const [variable, value] of [[self.movingMean, batchMean], [self.movingVariance, batchVariance]] as const) {
          tidy(() => {
            const current = variable.read();
            variable.write(sub(current, mul(sub(current, value), 1 - self.momentum)));
          });
        }
      }
      return normalizeWithBatchMoments(x, self.gamma.read(), self.beta.read(), batchMean, batchVariance, axes, self.epsilon, fused);
    });
  }
}

/** A {@link ZooBatchNormalization}, as `tf.layers.batchNormalization(args)` makes the stock one. */
export function zooBatchNormalization(args: BatchNormalizationArgs = {}): ZooBatchNormalization {
  return new ZooBatchNormalization(args);
}
