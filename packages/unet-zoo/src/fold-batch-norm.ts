/**
 * Batch normalization folded into the convolution before it, for inference. With its moving
 * statistics, batch normalization is a fixed scale and shift per channel, which the convolution's
 * kernel and bias can absorb; a ReLU right after it becomes the convolution's activation, which
 * tfjs runs in the same kernel (FusedConv2D). A U-Net's conv -> BN -> ReLU unit is then one kernel
 * instead of three: its forward pass 61 kernels instead of 127, which matters where every kernel
 * costs a dispatch (WebGPU, WebGL); on the CPU backends the saving is the two elementwise passes.
 * A scale-attentional convolution's kernels cannot absorb the scale (its channel attention weights
 * each channel by a gate computed from the image); it takes the batch norm as its `affine` scale
 * and shift instead, and the ReLU as its activation, which on webgpu run in its attention's
 * dispatch (SA-U-Net's forward pass: 169 dispatches instead of 213).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ScaleAttentionalConv2D } from '@sa-unet/scale-attn-conv';

/** What {@link foldBatchNorm} made. */
export interface FoldedModel {
  /** The inference model: the same inputs, outputs (up to float rounding) and layer names, less the folded layers. */
  model: tfl.LayersModel;
  /** Batch-normalization layers folded into the convolution before them. */
  batchNorms: number;
  /** ReLU layers that became their convolution's activation. */
  activations: number;
}

/** A layer of a functional model's config (tfjs-layers' getConfig). */
interface LayerConfig {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Per call of the layer: its inputs as [layer name, node index, tensor index, kwargs]. */
  inboundNodes: Array<Array<[string, number, number, unknown]>>;
}

interface ModelConfig {
  name: string;
  layers: LayerConfig[];
  inputLayers: Array<[string, number, number]>;
  outputLayers: Array<[string, number, number]>;
}

/** A conv -> BN (-> ReLU) chain to fold: the layers' names, and what in the convolution absorbs the batch norm. */
interface Fold {
  conv: string;
  batchNorm: string;
  relu: string | null;
  /** A Conv2D's kernel and bias, or a ScaleAttentionalConv2D's affine scale and shift. */
  into: 'kernel' | 'affine';
  /** Whether the scale-attentional convolution has an affine scale and shift already (composed with the batch norm's). */
  ownAffine: boolean;
}

/** The fold of batch norm `batchNorm` (and ReLU `relu`) into `conv`, from the convolution's config. */
function foldOf(conv: Pick<LayerConfig, 'className' | 'config'>, batchNorm: string, relu: string | null): Fold {
  // By class name, as in the config: a second copy of the layer's package would have its own class.
  const scaleAttentional = conv.className === ScaleAttentionalConv2D.className;
  return { conv: conv.config['name'] as string, batchNorm, relu, into: scaleAttentional ? 'affine' : 'kernel', ownAffine: scaleAttentional && conv.config['affine'] === true };
}

/** Who uses each layer's output: the layers that take it as an input (once per use), and null per model output. */
function usersOf(config: ModelConfig): Map<string, Array<LayerConfig | null>> {
  const users = new Map<string, Array<LayerConfig | null>>();
  const use = (name: string, user: LayerConfig | null) => users.set(name, [...(users.get(name) ?? []), user]);
  for (const layer of config.layers) for (const node of layer.inboundNodes) for (const [name] of node) use(name, layer);
  for (const [name] of config.outputLayers) use(name, null);
  return users;
}

/** The only input layer of `layer`'s only call, or null if it has more calls or inputs. */
function soleInput(layer: LayerConfig): string | null {
  return layer.inboundNodes.length === 1 && layer.inboundNodes[0]!.length === 1 ? layer.inboundNodes[0]![0]![0] : null;
}

/** A Conv2D (channels last) or ScaleAttentionalConv2D with no activation. */
function isLinearConv(layer: Pick<LayerConfig, 'className' | 'config'>): boolean {
  const c = layer.config;
  if ((c['activation'] ?? 'linear') !== 'linear') return false;
  if (layer.className === ScaleAttentionalConv2D.className) return true;
  return layer.className === 'Conv2D' && (c['dataFormat'] ?? 'channelsLast') === 'channelsLast';
}

/** A linear convolution ({@link isLinearConv}) applied once in the model (one inbound node). */
function isFoldableConv(layer: LayerConfig): boolean {
  return layer.inboundNodes.length === 1 && isLinearConv(layer);
}

function isChannelLastBatchNorm(layer: Pick<LayerConfig, 'className' | 'config'>): boolean {
  const axis = layer.config['axis'] ?? -1;
  return layer.className === 'BatchNormalization' && (axis === -1 || axis === 3);
}

/** A ReLU layer (or relu Activation) that is exactly max(x, 0). */
function isPlainRelu(layer: Pick<LayerConfig, 'className' | 'config'>): boolean {
  const c = layer.config;
  if (layer.className === 'Activation') return c['activation'] === 'relu';
  return layer.className === 'ReLU' && (c['maxValue'] ?? null) === null;
}

/** The chains of `config` to fold, by convolution: a Conv2D used only by a batch norm (used only by a ReLU, if one follows). */
function findFolds(config: ModelConfig): Map<string, Fold> {
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const users = usersOf(config);
  const folds = new Map<string, Fold>();
  for (const bn of config.layers) {
    if (!isChannelLastBatchNorm(bn)) continue;
    const conv = byName.get(soleInput(bn) ?? '');
    if (conv === undefined || !isFoldableConv(conv) || users.get(conv.name)?.length !== 1) continue;
    const bnUsers = users.get(bn.name) ?? [];
    const next = bnUsers.length === 1 ? bnUsers[0] : null;
    const relu = next != null && soleInput(next) === bn.name && isPlainRelu(next) ? next.name : null;
    folds.set(conv.name, foldOf(conv, bn.name, relu));
  }
  return folds;
}

/** Each folded batch norm and ReLU, by name, and the convolution that replaces it. */
function replacements(folds: Map<string, Fold>): Map<string, string> {
  const replaced = new Map<string, string>();
  for (const f of folds.values()) {
    replaced.set(f.batchNorm, f.conv);
    if (f.relu !== null) replaced.set(f.relu, f.conv);
  }
  return replaced;
}

/** `layers` less the folded ones, each convolution that absorbs a fold with a bias (Conv2D) or an affine scale and shift, and the ReLU. */
function keptLayers<L extends Pick<LayerConfig, 'className' | 'config'>>(layers: L[], folds: Map<string, Fold>, replaced: Map<string, string>): L[] {
  return layers.filter((l) => !replaced.has(l.config['name'] as string)).map((l) => {
    const fold = folds.get(l.config['name'] as string);
    if (fold === undefined) return l;
    const absorbing = fold.into === 'affine' ? { affine: true } : { useBias: true };
    return { ...l, config: { ...l.config, ...absorbing, activation: fold.relu === null ? 'linear' : 'relu' } };
  });
}

/** A Sequential model's config (tfjs-layers' getConfig): its layers in order, each used by the next. */
interface SequentialConfig {
  name: string;
  layers: Array<Pick<LayerConfig, 'className' | 'config'>>;
}

/** The chains of a Sequential model to fold: a convolution, the batch norm after it (and a ReLU after that). */
function findSequentialFolds(config: SequentialConfig): Map<string, Fold> {
  const name = (i: number) => config.layers[i]!.config['name'] as string;
  const folds = new Map<string, Fold>();
  for (let i = 0; i + 1 < config.layers.length; i++) {
    if (!isLinearConv(config.layers[i]!) || !isChannelLastBatchNorm(config.layers[i + 1]!)) continue;
    const next = config.layers[i + 2];
    const relu = next !== undefined && isPlainRelu(next) ? name(i + 2) : null;
    folds.set(name(i), foldOf(config.layers[i]!, name(i + 1), relu));
  }
  return folds;
}

/** A Sequential config without the folded layers. */
function foldedSequentialConfig(config: SequentialConfig, folds: Map<string, Fold>): SequentialConfig {
  return { ...config, layers: keptLayers(config.layers, folds, replacements(folds)) };
}

/** `config` without the folded layers: their users read the convolution instead, which has a bias (and the ReLU). */
function foldedConfig(config: ModelConfig, folds: Map<string, Fold>): ModelConfig {
  const replaced = replacements(folds);
  const rename = (name: string) => replaced.get(name) ?? name;
  return {
    ...config,
    layers: keptLayers(config.layers, folds, replaced).map((l) => ({
      ...l,
      inboundNodes: l.inboundNodes.map((node) => node.map(([name, nodeIndex, tensorIndex, kwargs]) => [rename(name), nodeIndex, tensorIndex, kwargs])),
    })),
    outputLayers: config.outputLayers.map(([name, nodeIndex, tensorIndex]) => [rename(name), nodeIndex, tensorIndex]),
  };
}

/**
 * The weights of `conv` with batch norm `bn` folded in. The convolution's output is m * y + b per
 * channel, m and b: a Conv2D's kernel and bias, a scale-attentional convolution's affine scale and
 * shift (1 and 0 without them); the batch norm makes that (m * y + b - mean) * s + beta,
 * s = gamma / sqrt(variance + epsilon): m * s and (b - mean) * s + beta.
 */
function foldedWeights(fold: Fold, conv: tfl.layers.Layer, bn: tfl.layers.Layer): tf.Tensor[] {
  return tf.tidy(() => {
    const c = bn.getConfig();
    const weights = bn.getWeights();
    let i = 0;
    const gamma = c['scale'] === false ? null : weights[i++]!;
    const beta = c['center'] === false ? null : weights[i++]!;
    const [mean, variance] = [weights[i++]!, weights[i]!];
    let s = tf.rsqrt(tf.add(variance, c['epsilon'] as number));
    if (gamma !== null) s = tf.mul(s, gamma);
    const w = conv.getWeights();
    // The weights that stay as they are, then m and b.
    const [kept, m, b]: [tf.Tensor[], tf.Tensor, tf.Tensor | undefined] = fold.into === 'kernel' ? [[], w[0]!, w[1]]
      : fold.ownAffine ? [w.slice(0, -2), w.at(-2)!, w.at(-1)!] : [w, tf.onesLike(mean), undefined];
    let shift = tf.mul(tf.sub(b ?? tf.zerosLike(mean), mean), s);
    if (beta !== null) shift = tf.add(shift, beta);
    return [...kept.map((w) => tf.clone(w)), tf.mul(m, s), shift];
  });
}

/**
 * An inference copy of `model` in which every batch-normalization layer that directly follows a
 * Conv2D (channels last, no activation, its output used by nothing else) is folded into that
 * convolution's kernel and bias, or, after a ScaleAttentionalConv2D (no activation), into that
 * layer's affine scale and shift (its `affine` option), and a ReLU that is the batch norm's only
 * user becomes the convolution's activation. Functional models (tf.model) and Sequential ones
 * (tf.sequential: a convolution, then a batch norm, then maybe a ReLU) alike. Everything else,
 * the layer names included, stays as it was; `model` is not changed. The copy computes what
 * `model.predict` does up to float rounding (batch norm in inference mode, with its moving
 * statistics), so it is for inference only: trained, it would have no batch normalization. Batch
 * norms after anything else stay. Call it after training, or after {@link recalibrateBatchNorm}.
 */
export function foldBatchNorm(model: tfl.LayersModel): FoldedModel {
  if (!(model instanceof tfl.LayersModel)) throw new Error('foldBatchNorm: model must be a tfjs-layers LayersModel');
  let folds: Map<string, Fold>;
  let folded: tfl.LayersModel;
  if (model instanceof tfl.Sequential) {
    const config = model.getConfig() as unknown as SequentialConfig;
    folds = findSequentialFolds(config);
    folded = tfl.Sequential.fromConfig(tfl.Sequential, foldedSequentialConfig(config, folds) as unknown as tf.serialization.ConfigDict, undefined, true) as tfl.Sequential;
  } else {
    const config = model.getConfig() as unknown as ModelConfig;
    if (!Array.isArray(config.layers) || !Array.isArray(config.outputLayers)) {
      throw new Error(`foldBatchNorm: model '${model.name}' is neither a functional model (tf.model) nor a Sequential one`);
    }
    folds = findFolds(config);
    folded = tfl.LayersModel.fromConfig(tfl.LayersModel, foldedConfig(config, folds) as unknown as tf.serialization.ConfigDict, undefined, true) as tfl.LayersModel;
  }
  for (const layer of folded.layers) {
    const fold = folds.get(layer.name);
    const weights = fold === undefined ? model.getLayer(layer.name).getWeights() : foldedWeights(fold, model.getLayer(fold.conv), model.getLayer(fold.batchNorm));
    layer.setWeights(weights);
    if (fold !== undefined) tf.dispose(weights);
  }
  return { model: folded, batchNorms: folds.size, activations: [...folds.values()].filter((f) => f.relu !== null).length };
}
