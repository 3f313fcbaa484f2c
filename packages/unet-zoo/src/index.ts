/**
 * `@sa-unet/unet-zoo`: the five networks of the SA-U-Net paper's comparison (U-Net, U-Net++,
 * Attention U-Net, MultiRes U-Net, SA-U-Net) for TensorFlow.js, with one configuration vocabulary,
 * deterministic layer names, full models and headless bases.
 *
 * @packageDocumentation
 */
export { MODEL_NAMES, createModel, isModelName, type ModelName, type ModelConfigs } from './registry.js';
export { resolveCommonConfig, type CommonConfig, type ResolvedCommonConfig, type Upsampling } from './config.js';
export { unet, unetBase, type UNetConfig } from './unet.js';
export {
  unetPlusPlus,
  unetPlusPlusBase,
  unetPlusPlusNodes,
  averageDeepSupervision,
  type UNetPlusPlusConfig,
} from './unet-plus-plus.js';
export { attentionUnet, attentionUnetBase, attentionGate, type AttentionUNetConfig } from './attention-unet.js';
export {
  multiResUnet,
  multiResUnetBase,
  multiResBlock,
  multiResWidths,
  resPath,
  type MultiResUNetConfig,
} from './multires-unet.js';
export { saUnet, saUnetBase, type SAUNetConfig } from './sa-unet.js';
export { multiplyAdds } from './multiply-adds.js';
export { countParams, paramTable, trainableParamCount, REFERENCE_PARAMS, PARAMS_START, PARAMS_END, type ParamCount } from './params.js';
export { recalibrateBatchNorm, type RecalibrateOptions, type Recalibration } from './recalibrate.js';
export { foldBatchNorm, type FoldedModel } from './fold-batch-norm.js';
export { InputSizeCheck, type InputSizeCheckArgs } from './input-size.js';
export {
  segmentGrayImage, maskAtImageSize, modelInputSize, resizeGrayImage, foregroundProbability, type GrayImage, type ImageSegmentation, type SegmentGrayImageOptions,
} from './segment.js';
