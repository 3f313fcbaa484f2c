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
 * equal bit for bit; gradients are equal within float32 rounding. Inference (but see the ReLU
 * below), and training with a configuration other than the zoo's (an axis other than the last, no
 * center or no scale), run the stock code.
 *
 * Where the active backend has the batch-norm kernels of @sa-unet/tfjs-kernels (registered for
 * webgpu and wasm by its registerTrainingKernels; names in {@link FUSED_BATCH_NORM_KERNELS}),
 * training uses them instead: on webgpu the moments with the moving averages in 2 dispatches
 * instead of 13, the gradient in 3 instead of about 17 (outputs and moving statistics then equal
 * the stock layer's within float32 rounding); on wasm in three passes over x instead of about ten,
 * with the values of the composed path below bit for bit. This package does not depend on that
 * one: it only looks the names up.
 *
 * A zoo model's conv -> batch norm -> ReLU unit goes one step further there: a batch norm whose
 * output goes only to a {@link ZooReLU} (a plain ReLU, saved as the stock one) applies the ReLU
 * itself, in its normalization's dispatch, and takes the ReLU's gradient inside its own; the ReLU
 * passes that output on. Two dispatches fewer per unit and step (44 in a U-Net step),
 * the same values; likewise in inference, one fewer per unit (FusedBatchNorm and Relu in one
 * dispatch). So such a layer's output is already rectified, also when the layer is called directly
 * rather than through its model.
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

/** A layer class that tfjs-layers registers but does not export. */
function stockLayerClass(className: string): unknown {
  const registered = serialization.SerializationMap.getMap().classNameMap[className];
  if (registered === undefined) throw new Error(`@sa-unet/unet-zoo: tfjs-layers registered no ${className} class`);
  return registered[0];
}
const StockBatchNormalizationClass = stockLayerClass('BatchNormalization') as new (args?: BatchNormalizationArgs) => StockBatchNormalization;

type ReLUArgs = NonNullable<Parameters<typeof tfl.layers.reLU>[0]>;
type StockReLU = ReturnType<typeof tfl.layers.reLU> & { maxValue?: number | null };
const StockReLUClass = stockLayerClass('ReLU') as new (args?: ReLUArgs) => StockReLU;

/** Outputs of zoo batch norms that applied the ReLU after them themselves. */
const rectifiedOutputs = new WeakSet<Tensor>();

/**
 * tfjs-layers' ReLU, which passes on unchanged an input that the zoo batch norm before it has
 * already rectified (see {@link ZooBatchNormalization}). Saved as, and loaded as, the stock 'ReLU'.
 */
export class ZooReLU extends StockReLUClass {
  // The stock name, unregistered: models save (and load) as stock ReLU layers.
  static readonly className = 'ReLU';

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0]! : inputs;
    if (!Array.isArray(x) && rectifiedOutputs.has(x)) return x;
    return super.call(inputs, kwargs);
  }
}

/** A {@link ZooReLU}, as `tf.layers.reLU(args)` makes the stock one. */
export function zooReLU(args: ReLUArgs = {}): ZooReLU {
  return new ZooReLU(args);
}

/**
 * Kernels that @sa-unet/tfjs-kernels registers (for webgpu), by the names it exports as
 * BATCH_NORM_KERNELS (a test checks they agree):
 * - moments: { x, movingMean, movingVariance }, { momentum, inPlace } -> [mean, variance, movingMean', movingVariance']
 *   (with inPlace, movingMean' and movingVariance' may be the inputs' own storage, updated);
 * - gradient: { dy, x, mean, variance, scale, y? }, { varianceEpsilon } -> [dx, dScale, dOffset]
 *   (with y, the output of normalizeRelu, the gradient of that);
 * - normalizeRelu: { x, mean, variance, offset, scale }, { varianceEpsilon } -> relu(batchNorm(...)).
 */
export const FUSED_BATCH_NORM_KERNELS = { moments: 'SaUnetBatchMoments', gradient: 'SaUnetBatchNormGrad', normalizeRelu: 'SaUnetBatchNormRelu' } as const;

/** Whether the active backend has the fused kernels named. */
function hasFusedKernels(names: readonly string[]): boolean {
  const backend = getBackend();
  return names.every((name) => getKernel(name, backend) !== undefined);
}

/**
 * FusedBatchNorm of x with the batch's own mean and variance over `channelAxes` (computed from x by
 * the caller), with the closed-form gradient for x, gamma and beta; with `rectify` (fused kernels
 * only), relu of that. mean and variance are not inputs of the op: their dependence on x is part
 * of the closed form, so autodiff must not differentiate through them again.
 */
function normalizeWithBatchMoments(x: Tensor, gamma: Tensor, beta: Tensor, batchMean: Tensor, batchVariance: Tensor,
  channelAxes: number[], epsilon: number, fused: boolean, rectify: boolean): Tensor {
  const op = customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const save = args.pop() as GradSaveFunc;
    const [input, scale, offset] = args as Tensor[];
    const value = rectify
      ? engine().runKernel(FUSED_BATCH_NORM_KERNELS.normalizeRelu,
        { x: input!, mean: batchMean, variance: batchVariance, offset: offset!, scale: scale! }, { varianceEpsilon: epsilon }) as Tensor
      : batchNorm(input!, batchMean, batchVariance, offset, scale, epsilon);
    // The rectified output's sign is the ReLU's gradient: the gradient kernel reads it.
    save([input!, scale!, batchMean, batchVariance, ...(rectify ? [value] : [])]);
    return {
      value,
      gradFunc: (dyIn: Tensor | Tensor[], saved: Tensor[]) => tidy(() => {
        const dy = dyIn as Tensor;
        const [xs, g, m, v, rectified] = saved;
        if (fused) {
          const [dx, dGamma, dBeta] = engine().runKernel(FUSED_BATCH_NORM_KERNELS.gradient,
            { dy, x: xs!, mean: m!, variance: v!, scale: g!, ...(rectified === undefined ? {} : { y: rectified }) },
            { varianceEpsilon: epsilon }) as Tensor[];
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
    const zooConfig = !Array.isArray(x) && x.rank >= 2 && x.rank <= 4 &&
      (self.axis === -1 || self.axis === x.rank - 1) && self.center === true && self.scale === true && hasStockFields(self);
    if (!zooConfig) return super.call(inputs, kwargs); // the stock code, its errors included
    if (kwargs.training !== true) {
      if (!this.rectifies(x)) return super.call(inputs, kwargs);
      // The stock inference (FusedBatchNorm with the moving statistics), and the ReLU in the same dispatch.
      return tidy(() => {
        const y = engine().runKernel(FUSED_BATCH_NORM_KERNELS.normalizeRelu, {
          x, mean: self.movingMean.read(), variance: self.movingVariance.read(), offset: self.beta.read(), scale: self.gamma.read(),
        }, { varianceEpsilon: self.epsilon }) as Tensor;
        rectifiedOutputs.add(y);
        return y;
      });
    }
    return tidy(() => {
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const fused = x.dtype === 'float32' && x.size > 0 && hasFusedKernels([FUSED_BATCH_NORM_KERNELS.moments, FUSED_BATCH_NORM_KERNELS.gradient]);
      const rectify = fused && this.rectifies(x);
      let batchMean: Tensor;
      let batchVariance: Tensor;
      if (fused) {
        // inPlace: the kernel may update the moving averages in their own storage (they are replaced right after).
        const [m, v, movingMean, movingVariance] = engine().runKernel(FUSED_BATCH_NORM_KERNELS.moments,
          { x, movingMean: self.movingMean.read(), movingVariance: self.movingVariance.read() }, { momentum: self.momentum, inPlace: true }) as Tensor[];
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
      const y = normalizeWithBatchMoments(x, self.gamma.read(), self.beta.read(), batchMean, batchVariance, axes, self.epsilon, fused, rectify);
      if (rectify) rectifiedOutputs.add(y);
      return y;
    });
  }

  /**
   * Whether this call applies the ReLU after it itself: x float32 and not empty, the backend with
   * the normalize-and-ReLU kernel, and this layer's output going to a plain {@link ZooReLU} and
   * nowhere else.
   */
  private rectifies(x: Tensor): boolean {
    if (x.dtype !== 'float32' || x.size === 0 || this.outboundNodes.length !== 1) return false;
    const next = this.outboundNodes[0]!.outboundLayer;
    return next instanceof ZooReLU && next.maxValue == null && hasFusedKernels([FUSED_BATCH_NORM_KERNELS.normalizeRelu]);
  }
}

/** A {@link ZooBatchNormalization}, as `tf.layers.batchNormalization(args)` makes the stock one. */
export function zooBatchNormalization(args: BatchNormalizationArgs = {}): ZooBatchNormalization {
  return new ZooBatchNormalization(args);
}
