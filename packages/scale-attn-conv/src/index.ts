/**
 * `@sa-unet/scale-attn-conv`: the scale-attentional convolution as a tfjs-layers layer.
 *
 * Importing this module registers {@link ScaleAttentionalConv2D} and
 * {@link EfficientChannelAttention} with tfjs's class registry, so models that contain them load
 * with `tf.loadLayersModel` (in Node and in browsers).
 *
 * @packageDocumentation
 */
export {
  ScaleAttentionalConv2D,
  scaleAttentionalConv2d,
  scaleAttentionalParamCount,
  scaleAttentionalMultiplyAdds,
  type ScaleAttentionalConv2DArgs,
  type ScaleAttentionalCostArgs,
  type ScaleAttentionalShapeArgs,
} from './scale-attentional-conv2d.js';
export {
  EfficientChannelAttention,
  efficientChannelAttention,
  ecaKernelSize,
  applyChannelAttention,
  type EfficientChannelAttentionArgs,
} from './eca.js';
export {
  setGradientMemoryMode,
  getGradientMemoryMode,
  recomputesIntermediates,
  AUTO_KEEP_MAX_VALUES,
  type GradientMemoryMode,
} from './gradient-memory.js';
export type {
  Initializer,
  Regularizer,
  Constraint,
  InitializerIdentifier,
  RegularizerIdentifier,
  ConstraintIdentifier,
  SerializedObject,
} from './keras-objects.js';
export type { LayerArgs } from './layer-utils.js';
