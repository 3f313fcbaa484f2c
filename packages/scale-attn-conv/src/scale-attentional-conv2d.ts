/**
 * The scale-attentional convolution of Kim et al. (Ultrasonography 2022): a cascade of linear
 * convolutions whose outputs, seen through growing receptive fields, are concatenated and
 * weighted by efficient channel attention.
 */
import { serialization, tidy, type Tensor, type Tensor1D, type Tensor3D, type Tensor4D } from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { scaleAttentional, type CascadeWeights } from './cascade.js';
import { depthwiseInitializer } from './depthwise-init.js';
import { ecaKernelSize } from './eca.js';
import { recomputesIntermediates } from './gradient-memory.js';
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
import { singleShape, singleTensor, type LayerArgs } from './layer-utils.js';
import { checkArgs, checkFloatInput, checkImageShape, checkOddInteger, checkPositiveInteger, type FixedArg } from './validate.js';

const LAYER = 'ScaleAttentionalConv2D';

/** Arguments of {@link ScaleAttentionalConv2D}. */
export interface ScaleAttentionalConv2DArgs extends LayerArgs {
  /** Output channels (required). */
  filters: number;
  /** Number N of cascaded stages: the layer sees 1x1, 3x3, ..., (2N-1)x(2N-1) at once (with kernelSize 3). Default 4. */
  scales?: number;
  /** Kernel size k of the depthwise convolutions of stages 2..N (odd). Default 3. */
  kernelSize?: number;
  /**
   * Width of each stage F(n). Default `filters / scales` (then `filters` must be divisible by
   * `scales`), which makes the concatenation exactly `filters` wide, as in the paper. If
   * `scales * stageFilters !== filters`, a linear 1x1 projection maps the attended concatenation
   * to `filters` channels.
   */
  stageFilters?: number;
  /** Weight the concatenated scales by efficient channel attention. Default true. */
  useAttention?: boolean;
  /** Kernel size of the attention's 1-D convolution: 'auto' (ECA's formula on the concatenated width) or an odd integer. Default 'auto'. */
  attentionKernelSize?: 'auto' | number;
  /** Add a bias after the 1x1 convolution of each stage (and after the projection). Default true. */
  useBias?: boolean;
  /** Dilation of the depthwise convolutions of stages 2..N. Default 1. */
  dilationRate?: number;
  /** Padding: 'same' only (the stages are concatenated, so they must keep the spatial size). Default 'same'. */
  padding?: 'same';
  /**
   * Multiply each output channel by a learned scale and add a learned shift, after the attention
   * (and the projection). Default false: the layer is linear, as in the paper, and a network adds
   * batch normalization after it. In inference a batch normalization is such a scale and shift;
   * `foldBatchNorm` of @sa-unet/unet-zoo folds one into the layer this way (weights `affine_scale`,
   * initialized to ones, and `affine_shift`, zeros).
   */
  affine?: boolean;
  /**
   * Activation of the output, last: 'linear' (or null) or 'relu'. Default 'linear'. On webgpu with
   * @sa-unet/tfjs-kernels, inference applies the affine map and the ReLU in the attention's own
   * dispatch (with no projection after it).
   */
  activation?: 'linear' | 'relu' | null;
  /**
   * Initializer of every convolution kernel (1x1, depthwise, pointwise, attention, projection).
   * Default 'glorotUniform'. For the depthwise kernels a variance-scaling initializer (`glorot*`,
   * `he*`, `leCun*`, `varianceScaling`) counts the fans of one channel's kxk filter (k·k in and
   * out), not tfjs-layers' k·k·channels fan-in, so that every stage of the cascade starts at its
   * input's scale; other initializers apply as they are.
   */
  kernelInitializer?: InitializerIdentifier | Initializer | SerializedObject;
  /** Initializer of the biases. Default 'zeros'. */
  biasInitializer?: InitializerIdentifier | Initializer | SerializedObject;
  /** Regularizer of every convolution kernel. Default none. */
  kernelRegularizer?: RegularizerIdentifier | Regularizer | SerializedObject | null;
  /** Regularizer of the biases. Default none. */
  biasRegularizer?: RegularizerIdentifier | Regularizer | SerializedObject | null;
  /** Constraint of every convolution kernel. Default none. */
  kernelConstraint?: ConstraintIdentifier | Constraint | SerializedObject | null;
  /** Constraint of the biases. Default none. */
  biasConstraint?: ConstraintIdentifier | Constraint | SerializedObject | null;
}

/** The layer's own argument names (the compiler checks the list against {@link ScaleAttentionalConv2DArgs}). */
const OWN_ARGS = Object.keys({
  filters: true, scales: true, kernelSize: true, stageFilters: true, useAttention: true, attentionKernelSize: true, useBias: true,
  dilationRate: true, padding: true, affine: true, activation: true, kernelInitializer: true, biasInitializer: true, kernelRegularizer: true, biasRegularizer: true,
  kernelConstraint: true, biasConstraint: true,
} satisfies Record<Exclude<keyof ScaleAttentionalConv2DArgs, keyof LayerArgs>, true>);

/** conv2d's arguments that this layer does not take: the values it behaves as anyway, and what to do instead. */
const CONV2D_ARGS: Record<string, FixedArg> = {
  strides: { accepts: [1, [1, 1]], hint: 'the layer keeps the spatial size, as its stages are concatenated; downsample with a pooling layer after it' },
  dataFormat: { accepts: ['channelsLast'], hint: 'the layer is channels last only' },
  depthMultiplier: { accepts: [1], hint: 'each depthwise convolution has one filter per channel' },
};

/** The pieces of one configuration that decide the weights: what {@link scaleAttentionalParamCount} counts. */
export interface ScaleAttentionalShapeArgs {
  /** Channels of the layer's input. */
  inputChannels: number;
  /** As {@link ScaleAttentionalConv2DArgs.filters}. */
  filters: number;
  /** As {@link ScaleAttentionalConv2DArgs.scales}. Default 4. */
  scales?: number;
  /** As {@link ScaleAttentionalConv2DArgs.kernelSize}. Default 3. */
  kernelSize?: number;
  /** As {@link ScaleAttentionalConv2DArgs.stageFilters}. Default `filters / scales`. */
  stageFilters?: number;
  /** As {@link ScaleAttentionalConv2DArgs.useAttention}. Default true. */
  useAttention?: boolean;
  /** As {@link ScaleAttentionalConv2DArgs.attentionKernelSize}. Default 'auto'. */
  attentionKernelSize?: 'auto' | number;
  /** As {@link ScaleAttentionalConv2DArgs.useBias}. Default true. */
  useBias?: boolean;
  /** As {@link ScaleAttentionalConv2DArgs.affine}. Default false. */
  affine?: boolean;
}

/**
 * The number of weights of one layer, in closed form. With C_in input channels, s = stageFilters,
 * N = scales, k = kernelSize, F = filters, k_a = the attention kernel size:
 *
 * ```text
 *   C_in*s                  (H1: 1x1 convolution)
 * + (N-1) * (k*k*s + s*s)   (H2..HN: depthwise kxk, then 1x1)
 * + N*s                     (the stages' biases, if useBias)
 * + k_a                     (ECA's 1-D kernel, if useAttention)
 * + N*s*F                   (1x1 projection, if N*s != F)
 * + F                       (its bias, if N*s != F and useBias)
 * + 2*F                     (the output's scale and shift, if affine)
 * ```
 */
export function scaleAttentionalParamCount(args: ScaleAttentionalShapeArgs): number {
  const { scales: n, stageFilters: s, filters, attentionTaps, convolutionWeights } = resolveShape(args, 'scaleAttentionalParamCount');
  const useBias = args.useBias ?? true;
  let count = convolutionWeights + attentionTaps;
  if (useBias) count += n * s + (n * s !== filters ? filters : 0);
  if (args.affine ?? false) count += 2 * filters;
  return count;
}

/** {@link ScaleAttentionalShapeArgs} and the size of the input: what {@link scaleAttentionalMultiplyAdds} counts. */
export interface ScaleAttentionalCostArgs extends ScaleAttentionalShapeArgs {
  /** Input height, pixels (the output's too: the layer keeps the spatial size). */
  height: number;
  /** Input width, pixels. */
  width: number;
}

/**
 * The multiply-adds of one layer applied to one image, in closed form: every convolution's sum
 * over its window per output value. With P = height * width pixels and the names of
 * {@link scaleAttentionalParamCount}:
 *
 * ```text
 *   P * C_in*s                 (H1)
 * + P * (N-1) * (k*k*s + s*s)  (H2..HN: depthwise, then 1x1)
 * + N*s * k_a                  (ECA's 1-D convolution across the channels, if useAttention)
 * + P * N*s*F                  (1x1 projection, if N*s != F)
 * ```
 *
 * Elementwise work (biases, the attention's pooling and gating, the affine map, the activation)
 * is not counted, as for every layer in `multiplyAdds` of @sa-unet/unet-zoo. Dilation does not
 * change the count.
 */
export function scaleAttentionalMultiplyAdds(args: ScaleAttentionalCostArgs): number {
  const fn = 'scaleAttentionalMultiplyAdds';
  const { scales: n, stageFilters: s, attentionTaps, convolutionWeights } = resolveShape(args, fn);
  const pixels = checkPositiveInteger(args.height, 'height', fn) * checkPositiveInteger(args.width, 'width', fn);
  // Each weight of the 1x1 and depthwise kernels is one multiply-add per pixel; ECA's taps, one per channel of z.
  return pixels * convolutionWeights + n * s * attentionTaps;
}

/**
 * The checked pieces of {@link ScaleAttentionalShapeArgs} (errors begin with `who`): attentionTaps
 * is 0 without attention; convolutionWeights counts the 2-D kernels, C_in*s + (N-1)*(k*k*s + s*s)
 * plus N*s*F for a projection (N*s != F), without biases.
 */
function resolveShape(args: ScaleAttentionalShapeArgs, who: string):
  { inputChannels: number; filters: number; scales: number; kernelSize: number; stageFilters: number; attentionTaps: number; convolutionWeights: number } {
  if (args === null || typeof args !== 'object') throw new Error(`${who}: expected { inputChannels, filters, ... }, got ${String(args)}`);
  const inputChannels = checkPositiveInteger(args.inputChannels, 'inputChannels', who);
  const stages = resolveStages(args, who);
  if (args.attentionKernelSize !== undefined && args.attentionKernelSize !== 'auto') checkOddInteger(args.attentionKernelSize, 'attentionKernelSize', who);
  const { scales: n, kernelSize: k, stageFilters: s, filters } = stages;
  const ka = args.attentionKernelSize ?? 'auto';
  const attentionTaps = !(args.useAttention ?? true) ? 0 : ka === 'auto' ? ecaKernelSize(n * s) : ka;
  const convolutionWeights = inputChannels * s + (n - 1) * (k * k * s + s * s) + (n * s !== filters ? n * s * filters : 0);
  return { inputChannels, ...stages, attentionTaps, convolutionWeights };
}

/**
 * The stages of a configuration, checked (errors begin with `who`): filters, the number of scales,
 * the depthwise kernel size, and each stage's width (default filters / scales, which must then
 * divide evenly). What both the layer and {@link scaleAttentionalParamCount} take.
 */
function resolveStages(args: Pick<ScaleAttentionalShapeArgs, 'filters' | 'scales' | 'kernelSize' | 'stageFilters'>, who: string):
  { filters: number; scales: number; kernelSize: number; stageFilters: number } {
  const filters = checkPositiveInteger(args.filters, 'filters', who);
  const scales = checkPositiveInteger(args.scales ?? 4, 'scales', who);
  const kernelSize = checkOddInteger(args.kernelSize ?? 3, 'kernelSize', who);
  if (args.stageFilters !== undefined && args.stageFilters !== null) {
    return { filters, scales, kernelSize, stageFilters: checkPositiveInteger(args.stageFilters, 'stageFilters', who) };
  }
  if (filters % scales !== 0) {
    throw new Error(
      `${who}: 'filters' (${filters}) must be divisible by 'scales' (${scales}) unless 'stageFilters' is given, so that each of the ` +
        `${scales} stages is filters / scales wide; choose filters in {${scales}, ${2 * scales}, ...} or set 'stageFilters'`,
    );
  }
  return { filters, scales, kernelSize, stageFilters: filters / scales };
}

interface Stage {
  depthwise: LayerVariable | null;
  pointwise: LayerVariable;
  bias: LayerVariable | null;
}

/**
 * Scale-attentional 2-D convolution (channels last, stride 1, 'same' padding).
 *
 * F(1) = H1(x), a 1x1 convolution to `stageFilters` channels; F(n) = Hn(F(n-1)) for n = 2..N, a
 * depthwise kxk convolution followed by a pointwise 1x1 convolution. The stages are linear: no
 * normalisation or activation between them, so F(n) sees a ((k-1)(n-1)d + 1)-wide window.
 * z = concat(F(1), ..., F(N)); y = z * sigmoid(conv1d(GAP(z))) (ECA), or y = z without attention.
 *
 * By default the layer has no batch normalisation and no activation: a network adds them after
 * it (the SA-U-Net of `@sa-unet/unet-zoo` uses BN then ReLU). With `affine`, y * scale + shift per
 * channel follows (a batch norm in inference form), then the `activation`.
 *
 * Weights, in order (all created in build() with stable names): `stage1_kernel` [1,1,C_in,s],
 * `stage1_bias` [s]; for n = 2..N `stage{n}_depthwise_kernel` [k,k,s,1],
 * `stage{n}_pointwise_kernel` [1,1,s,s], `stage{n}_bias` [s]; `attention_kernel` [k_a,1,1];
 * `projection_kernel` [1,1,N·s,F] and `projection_bias` [F] when N·s != F; `affine_scale` [F]
 * and `affine_shift` [F] with `affine`.
 */
export class ScaleAttentionalConv2D extends layers.Layer {
  /** The name under which the class is registered for (de)serialization: 'ScaleAttentionalConv2D'. */
  static className = LAYER;

  /** Output channels. */
  readonly filters: number;
  /** Number N of cascaded stages. */
  readonly scales: number;
  /** Kernel size of the depthwise convolutions of stages 2..N. */
  readonly kernelSize: number;
  /** Width of each stage F(n) (the default `filters / scales` resolved). */
  readonly stageFilters: number;
  /** Whether the concatenated scales are weighted by efficient channel attention. */
  readonly useAttention: boolean;
  /** Kernel size of the attention's 1-D convolution as given ('auto' is resolved in build()). */
  readonly attentionKernelSize: 'auto' | number;
  /** Whether the 1x1 convolutions (and the projection) add a bias. */
  readonly useBias: boolean;
  /** Dilation of the depthwise convolutions. */
  readonly dilationRate: number;
  /** Whether a learned scale and shift per channel follow the attention (and projection). */
  readonly affine: boolean;
  /** Activation of the output: 'linear' or 'relu'. */
  readonly activation: 'linear' | 'relu';
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernelRegularizer: Regularizer | null;
  private readonly biasRegularizer: Regularizer | null;
  private readonly kernelConstraint: Constraint | null;
  private readonly biasConstraint: Constraint | null;

  private stages: Stage[] = [];
  private attentionKernel: LayerVariable | null = null;
  private projectionKernel: LayerVariable | null = null;
  private projectionBias: LayerVariable | null = null;
  private affineScale: LayerVariable | null = null;
  private affineShift: LayerVariable | null = null;

  constructor(args: ScaleAttentionalConv2DArgs) {
    if (args === null || typeof args !== 'object') {
      throw new Error(`${LAYER}: expected an arguments object with at least 'filters', got ${JSON.stringify(args)}`);
    }
    checkArgs(args, OWN_ARGS, LAYER, CONV2D_ARGS);
    super(args);
    ({ filters: this.filters, scales: this.scales, kernelSize: this.kernelSize, stageFilters: this.stageFilters } = resolveStages(args, LAYER));
    this.useAttention = args.useAttention ?? true;
    if (typeof this.useAttention !== 'boolean') {
      throw new Error(`${LAYER}: 'useAttention' must be true or false, got ${JSON.stringify(args.useAttention)}`);
    }
    this.attentionKernelSize = args.attentionKernelSize ?? 'auto';
    if (this.attentionKernelSize !== 'auto') {
      if (typeof this.attentionKernelSize !== 'number' || !Number.isInteger(this.attentionKernelSize)
        || this.attentionKernelSize < 1 || this.attentionKernelSize % 2 === 0) {
        throw new Error(
          `${LAYER}: 'attentionKernelSize' must be 'auto' or an odd integer >= 1 (1, 3, 5, ...), got ${JSON.stringify(args.attentionKernelSize)}`,
        );
      }
    }
    this.useBias = args.useBias ?? true;
    if (typeof this.useBias !== 'boolean') {
      throw new Error(`${LAYER}: 'useBias' must be true or false, got ${JSON.stringify(args.useBias)}`);
    }
    this.dilationRate = checkPositiveInteger(args.dilationRate ?? 1, 'dilationRate', LAYER);
    const padding = args.padding ?? 'same';
    if (padding !== 'same') {
      throw new Error(`${LAYER}: 'padding' must be 'same' (the stages are concatenated), got ${JSON.stringify(padding)}`);
    }
    this.affine = args.affine ?? false;
    if (typeof this.affine !== 'boolean') {
      throw new Error(`${LAYER}: 'affine' must be true or false, got ${JSON.stringify(args.affine)}`);
    }
    const activation = args.activation ?? 'linear';
    if (activation !== 'linear' && activation !== 'relu') {
      throw new Error(`${LAYER}: 'activation' must be 'linear' (or null) or 'relu', got ${JSON.stringify(args.activation)}; for another, add an activation layer after it`);
    }
    this.activation = activation;
    this.kernelInitializer = deserializeObject<Initializer>(args.kernelInitializer ?? 'glorotUniform', 'initializer', 'kernelInitializer');
    this.biasInitializer = deserializeObject<Initializer>(args.biasInitializer ?? 'zeros', 'initializer', 'biasInitializer');
    this.kernelRegularizer = deserializeOptional<Regularizer>(args.kernelRegularizer, 'regularizer', 'kernelRegularizer');
    this.biasRegularizer = deserializeOptional<Regularizer>(args.biasRegularizer, 'regularizer', 'biasRegularizer');
    this.kernelConstraint = deserializeOptional<Constraint>(args.kernelConstraint, 'constraint', 'kernelConstraint');
    this.biasConstraint = deserializeOptional<Constraint>(args.biasConstraint, 'constraint', 'biasConstraint');
  }

  /** Width of the concatenation z: scales * stageFilters. */
  get concatFilters(): number {
    return this.scales * this.stageFilters;
  }

  /** The attention kernel size in use (ECA's formula on the concatenated width when 'auto'). */
  get resolvedAttentionKernelSize(): number {
    return this.attentionKernelSize === 'auto' ? ecaKernelSize(this.concatFilters) : this.attentionKernelSize;
  }

  /** Side of the square window one output pixel sees: (k-1)(N-1)d + 1 (2N-1 for k=3, d=1). */
  get receptiveField(): number {
    return (this.kernelSize - 1) * (this.scales - 1) * this.dilationRate + 1;
  }

  override build(inputShape: Shape | Shape[]): void {
    const inChannels = checkImageShape(singleShape(inputShape, this.name), LAYER);
    const s = this.stageFilters;
    const k = this.kernelSize;
    const kernel = (name: string, shape: number[], initializer = this.kernelInitializer) =>
      this.addWeight(name, shape, 'float32', initializer, this.kernelRegularizer ?? undefined, true,
        this.kernelConstraint ?? undefined);
    const bias = (name: string, size: number) =>
      this.addWeight(name, [size], 'float32', this.biasInitializer, this.biasRegularizer ?? undefined, true,
        this.biasConstraint ?? undefined);

    // Each channel's kxk filter is its own fan; without this the cascade's later stages start near zero.
    const depthwiseInit = depthwiseInitializer(this.kernelInitializer, s);
    this.stages = [];
    for (let n = 1; n <= this.scales; n++) {
      const depthwise = n === 1 ? null : kernel(`stage${n}_depthwise_kernel`, [k, k, s, 1], depthwiseInit);
      const pointwise = n === 1 ? kernel('stage1_kernel', [1, 1, inChannels, s]) : kernel(`stage${n}_pointwise_kernel`, [1, 1, s, s]);
      this.stages.push({ depthwise, pointwise, bias: this.useBias ? bias(`stage${n}_bias`, s) : null });
    }
    this.attentionKernel = this.useAttention ? kernel('attention_kernel', [this.resolvedAttentionKernelSize, 1, 1]) : null;
    if (this.concatFilters !== this.filters) {
      this.projectionKernel = kernel('projection_kernel', [1, 1, this.concatFilters, this.filters]);
      this.projectionBias = this.useBias ? bias('projection_bias', this.filters) : null;
    }
    if (this.affine) {
      this.affineScale = this.addWeight('affine_scale', [this.filters], 'float32', initializers.ones());
      this.affineShift = this.addWeight('affine_shift', [this.filters], 'float32', initializers.zeros());
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape, this.name);
    checkImageShape(shape, LAYER);
    return [shape[0], shape[1], shape[2], this.filters];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = singleTensor(inputs, LAYER) as Tensor4D;
      checkFloatInput(x, LAYER);
      const inChannels = checkImageShape(x.shape, LAYER);
      const expected = this.stages[0].pointwise.shape[2];
      if (inChannels !== expected) {
        throw new Error(`${LAYER} '${this.name}': built for ${expected} input channels, got an input with ${inChannels}`);
      }
      const read = <T extends Tensor>(v: LayerVariable | null) => (v === null ? null : (v.read() as T));
      const weights: CascadeWeights = {
        stages: this.stages.map((stage) => ({
          depthwise: read<Tensor4D>(stage.depthwise),
          pointwise: stage.pointwise.read() as Tensor4D,
          bias: read<Tensor1D>(stage.bias),
        })),
        attention: read<Tensor3D>(this.attentionKernel),
        projection: read<Tensor4D>(this.projectionKernel),
        projectionBias: read<Tensor1D>(this.projectionBias),
      };
      const epilogue = { scale: read<Tensor1D>(this.affineScale), shift: read<Tensor1D>(this.affineShift), relu: this.activation === 'relu' };
      const [batch, height, width] = x.shape;
      return scaleAttentional(x, weights, this.dilationRate, recomputesIntermediates(undefined, batch * height * width * this.filters), epilogue);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      filters: this.filters,
      scales: this.scales,
      kernelSize: this.kernelSize,
      stageFilters: this.stageFilters,
      useAttention: this.useAttention,
      attentionKernelSize: this.attentionKernelSize,
      useBias: this.useBias,
      dilationRate: this.dilationRate,
      padding: 'same',
      affine: this.affine,
      activation: this.activation,
      kernelInitializer: serializeObject(this.kernelInitializer),
      biasInitializer: serializeObject(this.biasInitializer),
      kernelRegularizer: serializeObject(this.kernelRegularizer),
      biasRegularizer: serializeObject(this.biasRegularizer),
      kernelConstraint: serializeObject(this.kernelConstraint),
      biasConstraint: serializeObject(this.biasConstraint),
      ...super.getConfig(),
    } as unknown as serialization.ConfigDict;
  }
}
serialization.registerClass(ScaleAttentionalConv2D);

/** Creates a {@link ScaleAttentionalConv2D} layer. */
export function scaleAttentionalConv2d(args: ScaleAttentionalConv2DArgs): ScaleAttentionalConv2D {
  return new ScaleAttentionalConv2D(args);
}
