/** One entry point for the five networks of the paper's comparison. */
import type * as tfl from '@tensorflow/tfjs-layers';
import { attentionUnet, type AttentionUNetConfig } from './attention-unet.js';
import { multiResUnet, type MultiResUNetConfig } from './multires-unet.js';
import { saUnet, type SAUNetConfig } from './sa-unet.js';
import { unetPlusPlus, type UNetPlusPlusConfig } from './unet-plus-plus.js';
import { unet, type UNetConfig } from './unet.js';

/** The models of the zoo, in the order of the paper's Table 3. */
export const MODEL_NAMES = ['unet', 'unet-plus-plus', 'attention-unet', 'multires-unet', 'sa-unet'] as const;
/** The name of one model of the zoo: 'unet', 'unet-plus-plus', 'attention-unet', 'multires-unet' or 'sa-unet'. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** The config each model takes. */
export interface ModelConfigs {
  /** {@link unet}'s. */
  unet: UNetConfig;
  /** {@link unetPlusPlus}'s. */
  'unet-plus-plus': UNetPlusPlusConfig;
  /** {@link attentionUnet}'s. */
  'attention-unet': AttentionUNetConfig;
  /** {@link multiResUnet}'s. */
  'multires-unet': MultiResUNetConfig;
  /** {@link saUnet}'s. */
  'sa-unet': SAUNetConfig;
}

const BUILDERS: { [K in ModelName]: (config: ModelConfigs[K]) => tfl.LayersModel } = {
  unet,
  'unet-plus-plus': unetPlusPlus,
  'attention-unet': attentionUnet,
  'multires-unet': multiResUnet,
  'sa-unet': saUnet,
};

/** Whether `name` is one of {@link MODEL_NAMES} (a type guard for command-line and JSON input). */
export function isModelName(name: unknown): name is ModelName {
  return typeof name === 'string' && (MODEL_NAMES as readonly string[]).includes(name);
}

/** Builds model `name` with `config`; an unknown name throws an Error listing the known ones. */
export function createModel<K extends ModelName>(name: K, config: ModelConfigs[K]): tfl.LayersModel {
  if (!isModelName(name)) {
    throw new Error(`unknown model ${JSON.stringify(name)}; expected one of: ${MODEL_NAMES.join(', ')}`);
  }
  return (BUILDERS[name] as (c: ModelConfigs[K]) => tfl.LayersModel)(config);
}
