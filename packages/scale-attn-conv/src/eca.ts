/**
 * Efficient channel attention (ECA; Wang et al., CVPR 2020): a channel gate computed by a 1-D
 * convolution across the globally average-pooled channels, without dimensionality reduction.
 */
import { conv1d, mul, mean, reshape, serialization, sigmoid, tidy, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '@tensorflow/tfjs-core';
import { layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import {
  deserializeObject,
  deserializeOptional,
  serializeObject,
  type Constraint,
  type ConstraintIdentifier,
  type Initializer,
  type InitializerIdentifier,
  type Regularizer,
  type RegularizerIdentifier,
  type SerializedObject,
} from './keras-objects.js';
import { checkArgs, checkFloatInput, checkImageShape, checkOddInteger, checkPositiveInteger, formatShape } from './validate.js';
import { singleShape, singleTensor, type LayerArgs } from './layer-utils.js';

/**
 * ECA's adaptive kernel size for `channels` channels: t = floor(|(log2(C) + b) / gamma|), then the
 * odd number t (if t is odd) or t + 1 (if even), as in the ECA reference code.
 *
 * @param channels number of channels C (integer >= 1)
 * @param gamma default 2
 * @param b default 1
 */
export function ecaKernelSize(channels: number, gamma = 2, b = 1): number {
  checkPositiveInteger(channels, 'channels', 'ecaKernelSize');
  if (!(gamma > 0) || !Number.isFinite(gamma)) {
    throw new Error(`ecaKernelSize: 'gamma' must be a finite number > 0, got ${gamma}`);
  }
  if (!Number.isFinite(b)) throw new Error(`ecaKernelSize: 'b' must be a finite number, got ${b}`);
  const t = Math.floor(Math.abs((Math.log2(channels) + b) / gamma));
  return t % 2 === 1 ? t : t + 1;
}

/**
 * y = z * sigmoid(conv1d_k(GAP(z))): the ECA gate applied to z [batch, h, w, C] with a 1-D
 * kernel of shape [k, 1, 1] sliding across channels ('same' padding, no bias).
 * Used by {@link EfficientChannelAttention}; the scale-attentional convolution builds the same
 * gate from `globalAveragePool` and `gateOfPooled`, whose pooled channels its backward pass reuses.
 */
export function applyChannelAttention(z: Tensor, kernel: Tensor): Tensor {
  const fn = 'applyChannelAttention';
  checkImageShape(z.shape, fn);
  checkFloatInput(z, fn);
  if (kernel.rank !== 3 || kernel.shape[0] % 2 === 0 || kernel.shape[1] !== 1 || kernel.shape[2] !== 1) {
    throw new Error(`${fn}: kernel must have shape [k, 1, 1] with k odd (a 1-D convolution across channels), got ${formatShape(kernel.shape)}`);
  }
  return tidy(() => mul(z, channelGate(z, kernel)));
}

/** ECA's gate sigmoid(conv1d_k(GAP(z))) for z [batch, h, w, C], as [batch, 1, 1, C]. */
export function channelGate(z: Tensor, kernel: Tensor): Tensor4D {
  return gateOfPooled(globalAveragePool(z), kernel);
}

/** GAP(z) for z [batch, h, w, C], as [batch, C]. */
export function globalAveragePool(z: Tensor): Tensor2D {
  return mean(z, [1, 2]) as Tensor2D;
}

/** sigmoid(conv1d_k(pooled)) for pooled [batch, C], as [batch, 1, 1, C]. */
export function gateOfPooled(pooled: Tensor2D, kernel: Tensor): Tensor4D {
  const [batch, channels] = pooled.shape;
  const logits = conv1d(reshape(pooled, [batch, channels, 1]) as Tensor3D, kernel as Tensor3D, 1, 'same');
  return reshape(sigmoid(logits), [batch, 1, 1, channels]);
}

/** Arguments of {@link EfficientChannelAttention}. */
export interface EfficientChannelAttentionArgs extends LayerArgs {
  /** Size of the 1-D kernel across channels: 'auto' (ECA's formula, {@link ecaKernelSize}) or an odd integer. Default 'auto'. */
  kernelSize?: 'auto' | number;
  /** gamma of ECA's formula. Default 2. */
  gamma?: number;
  /** b of ECA's formula. Default 1. */
  b?: number;
  /** Initializer of the 1-D kernel. Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier | Initializer | SerializedObject;
  /** Regularizer of the 1-D kernel. Default none. */
  kernelRegularizer?: RegularizerIdentifier | Regularizer | SerializedObject | null;
  /** Constraint of the 1-D kernel. Default none. */
  kernelConstraint?: ConstraintIdentifier | Constraint | SerializedObject | null;
}

/** The layer's own argument names (checked by the compiler against {@link EfficientChannelAttentionArgs}). */
const ECA_ARGS = Object.keys({
  kernelSize: true, gamma: true, b: true, kernelInitializer: true, kernelRegularizer: true, kernelConstraint: true,
} satisfies Record<Exclude<keyof EfficientChannelAttentionArgs, keyof LayerArgs>, true>);

/**
 * Efficient channel attention as a layer: multiplies each channel of a [batch, h, w, C] input by
 * a gate in (0, 1) computed from the global average of all channels by a 1-D convolution.
 * Output shape = input shape. Weights: one kernel of shape [k, 1, 1] named `kernel`.
 */
export class EfficientChannelAttention extends layers.Layer {
  /** The name under which the class is registered for (de)serialization: 'EfficientChannelAttention'. */
  static className = 'EfficientChannelAttention';

  /** Size of the 1-D kernel as given ('auto': {@link ecaKernelSize} of the input's channels, resolved in build()). */
  readonly kernelSize: 'auto' | number;
  /** gamma of ECA's kernel-size formula. */
  readonly gamma: number;
  /** b of ECA's kernel-size formula. */
  readonly b: number;
  private readonly kernelInitializer: Initializer;
  private readonly kernelRegularizer: Regularizer | null;
  private readonly kernelConstraint: Constraint | null;
  private kernel: LayerVariable | null = null;

  constructor(args: EfficientChannelAttentionArgs = {}) {
    const who = 'EfficientChannelAttention';
    checkArgs(args, ECA_ARGS, who);
    super(args);
    this.kernelSize = args.kernelSize ?? 'auto';
    if (this.kernelSize !== 'auto') checkOddInteger(this.kernelSize, 'kernelSize', who);
    this.gamma = args.gamma ?? 2;
    if (typeof this.gamma !== 'number' || !(this.gamma > 0) || !Number.isFinite(this.gamma)) {
      throw new Error(`${who}: 'gamma' must be a finite number > 0, got ${JSON.stringify(args.gamma)}`);
    }
    this.b = args.b ?? 1;
    if (typeof this.b !== 'number' || !Number.isFinite(this.b)) throw new Error(`${who}: 'b' must be a finite number, got ${JSON.stringify(args.b)}`);
    this.kernelInitializer = deserializeObject<Initializer>(args.kernelInitializer ?? 'glorotUniform', 'initializer', 'kernelInitializer');
    this.kernelRegularizer = deserializeOptional<Regularizer>(args.kernelRegularizer, 'regularizer', 'kernelRegularizer');
    this.kernelConstraint = deserializeOptional<Constraint>(args.kernelConstraint, 'constraint', 'kernelConstraint');
    this.supportsMasking = true;
  }

  /** The kernel size in use for `channels` input channels. */
  resolvedKernelSize(channels: number): number {
    return this.kernelSize === 'auto' ? ecaKernelSize(channels, this.gamma, this.b) : this.kernelSize;
  }

  override build(inputShape: Shape | Shape[]): void {
    const channels = checkImageShape(singleShape(inputShape, this.name), 'EfficientChannelAttention');
    const k = this.resolvedKernelSize(channels);
    this.kernel = this.addWeight('kernel', [k, 1, 1], 'float32', this.kernelInitializer,
      this.kernelRegularizer ?? undefined, true, this.kernelConstraint ?? undefined);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape, this.name);
    checkImageShape(shape, 'EfficientChannelAttention');
    return shape;
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = singleTensor(inputs, 'EfficientChannelAttention');
      checkFloatInput(x, 'EfficientChannelAttention');
      checkImageShape(x.shape, 'EfficientChannelAttention');
      // The layer's kernel is [k, 1, 1] by construction: applyChannelAttention's checks are done.
      return mul(x, channelGate(x, this.kernel!.read()));
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      kernelSize: this.kernelSize,
      gamma: this.gamma,
      b: this.b,
      kernelInitializer: serializeObject(this.kernelInitializer),
      kernelRegularizer: serializeObject(this.kernelRegularizer),
      kernelConstraint: serializeObject(this.kernelConstraint),
      ...super.getConfig(),
    } as unknown as serialization.ConfigDict;
  }
}
serialization.registerClass(EfficientChannelAttention);

/** Creates an {@link EfficientChannelAttention} layer. */
export function efficientChannelAttention(args: EfficientChannelAttentionArgs = {}): EfficientChannelAttention {
  return new EfficientChannelAttention(args);
}
