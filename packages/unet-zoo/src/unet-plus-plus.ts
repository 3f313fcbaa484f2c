/**
 * U-Net++ (Zhou et al., DLMIA 2018): nested, dense skip pathways. Node X(i,j) (level i, column j)
 * receives every earlier node of its level, X(i,0..j-1), and the upsampled X(i+1,j-1); with deep
 * supervision, each top node X(0,1..depth) has its own head.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { concat, convBlock, levelFilters, maxPool, modelInput, segmentationHead, sizeChecked, upsample, type S } from './blocks.js';
import { resolveCommonConfig, type CommonConfig, type ResolvedCommonConfig } from './config.js';

export interface UNetPlusPlusConfig extends CommonConfig {
  /**
   * One head per top node X(0,1..depth): the model then has `depth` outputs for training (apply
   * the loss to each); {@link averageDeepSupervision} makes the inference model that averages
   * them. Default false: one head on X(0,depth).
   */
  deepSupervision?: boolean;
}

/** The grid of nodes: nodes[i][j] = X(i,j). */
export function unetPlusPlusNodes(input: S, config: UNetPlusPlusConfig): S[][] {
  return buildNodes(input, resolveCommonConfig(config, 'unet-plus-plus'));
}

function buildNodes(input: S, config: ResolvedCommonConfig): S[][] {
  const p = config.name;
  const nodes: S[][] = Array.from({ length: config.depth + 1 }, () => []);
  let x = sizeChecked(input, config);
  for (let i = 0; i <= config.depth; i++) {
    if (i > 0) x = maxPool(nodes[i - 1][0], `${p}_pool${i - 1}`);
    nodes[i][0] = convBlock(x, levelFilters(config, i), `${p}_x${i}_0`, config);
  }
  for (let j = 1; j <= config.depth; j++) {
    for (let i = 0; i + j <= config.depth; i++) {
      const filters = levelFilters(config, i);
      const up = upsample(nodes[i + 1][j - 1], filters, `${p}_up${i + 1}_${j - 1}`, config);
      const inputs = [...nodes[i].slice(0, j), up];
      nodes[i][j] = convBlock(concat(inputs, `${p}_concat${i}_${j}`), filters, `${p}_x${i}_${j}`, config);
    }
  }
  return nodes;
}

/** Headless U-Net++: the decoder output X(0,depth) (baseFilters channels at full resolution). */
export function unetPlusPlusBase(input: S, config: UNetPlusPlusConfig): S {
  const nodes = unetPlusPlusNodes(input, config);
  return nodes[0][nodes.length - 1];
}

/** U-Net++ with one head, or with deep supervision one head per top node (see {@link UNetPlusPlusConfig}). */
export function unetPlusPlus(config: UNetPlusPlusConfig): tfl.LayersModel {
  const resolved = resolveCommonConfig(config, 'unet-plus-plus');
  const input = modelInput(resolved);
  const nodes = buildNodes(input, resolved);
  if (!config.deepSupervision) {
    return tfl.model({ inputs: input, outputs: segmentationHead(nodes[0][resolved.depth], resolved), name: resolved.name });
  }
  const heads = nodes[0].slice(1).map((node, k) => segmentationHead(node, resolved, `${resolved.name}_head${k + 1}`));
  return tfl.model({ inputs: input, outputs: heads, name: resolved.name });
}

/** Inference models already built, so that predicting image after image builds one. */
const inferenceModels = new WeakMap<tfl.LayersModel, tfl.LayersModel>();

/**
 * The inference model of a deeply supervised U-Net++: the same layers, one output that is the
 * mean of all heads (built once per model). A single-output model is returned unchanged.
 */
export function averageDeepSupervision(model: tfl.LayersModel): tfl.LayersModel {
  if (!Array.isArray((model as { outputs?: unknown } | null)?.outputs)) {
    throw new Error(`averageDeepSupervision: model must be a tfjs-layers LayersModel, got ${model === null || typeof model !== 'object' ? String(model) : 'an object without outputs'}`);
  }
  if (model.outputs.length === 1) return model;
  let inference = inferenceModels.get(model);
  if (inference === undefined) {
    const mean = tfl.layers.average({ name: `${model.name}_heads_mean` }).apply(model.outputs) as S;
    inference = tfl.model({ inputs: model.inputs, outputs: mean, name: `${model.name}_inference` });
    inferenceModels.set(model, inference);
  }
  return inference;
}
