/**
 * The arithmetic of one forward pass, counted from a model's graph: what a GPU or a CPU must at
 * least do per image, next to the parameter count. Measured times divided by it give the rate a
 * backend reached, which tells arithmetic-bound passes (U-Net's) from those bound by something
 * else (SA-U-Net does a nineteenth of U-Net's arithmetic, but takes far more than a nineteenth of
 * its time).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { EfficientChannelAttention, ScaleAttentionalConv2D, scaleAttentionalMultiplyAdds } from '@sa-unet/scale-attn-conv';

type Shape = Array<number | null>;

/**
 * Layers with weights whose work is elementwise (a scale and shift per channel): no sums over
 * windows, so no multiply-adds, as for activations, pooling, resizing and merging.
 */
const ELEMENTWISE_WITH_WEIGHTS = new Set(['BatchNormalization', 'LayerNormalization', 'PReLU']);

/**
 * The multiply-adds of one forward pass of `model` on one image: for every convolution and dense
 * layer, each output value's sum over its window, padding included (a 3x3 convolution from C_in
 * to C_out channels: 9 * C_in * C_out per output pixel; a transposed one: per input pixel). Each
 * call of a layer in the graph counts (a shared layer once per call). Not counted: elementwise
 * work (biases, batch norm, activations, pooling, resizing, merging, the channel attention's
 * pooling and gating): about one percent of a U-Net's arithmetic, a larger share in SA-U-Net's
 * thin layers. Supported: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D,
 * Dense, ScaleAttentionalConv2D, EfficientChannelAttention, nested models, and layers without
 * weights; any other layer with weights is an error naming it.
 *
 * @param model a built tfjs-layers model (functional or sequential), e.g. from `createModel`
 * @returns multiply-adds per image, at the input size the model was built for
 */
export function multiplyAdds(model: tfl.LayersModel): number {
  let total = 0;
  for (const node of graphNodes(model)) total += callMultiplyAdds(node);
  return total;
}

/** One call of a layer: a node of the model's graph. */
interface GraphNode {
  outboundLayer: tfl.layers.Layer;
  inputShapes: Shape | Shape[];
  outputShapes: Shape | Shape[];
}

/** Every call of a layer in the model's graph (a Sequential model keeps its graph in a model of its own, made when it is built). */
function graphNodes(model: tfl.LayersModel): GraphNode[] {
  if (!isModel(model)) throw new Error(`multiplyAdds: expected a built tfjs-layers model (functional or sequential), got ${describe(model)}`);
  if (model.getClassName() === 'Sequential') {
    if (model.inputs.length === 0) throw new Error(`multiplyAdds: the sequential model '${model.name}' has no layers, or no input shape yet`);
    return graphNodes(tfl.model({ inputs: model.inputs, outputs: model.outputs }));
  }
  const byDepth = (model as unknown as { nodesByDepth: Record<string, GraphNode[]> }).nodesByDepth;
  return Object.values(byDepth).flat();
}

function callMultiplyAdds(node: GraphNode): number {
  const layer = node.outboundLayer;
  // Every layer counted takes one input and gives one output.
  const [input, output] = [firstShape(node.inputShapes), firstShape(node.outputShapes)];
  const className = layer.getClassName();
  if (isModel(layer)) return multiplyAdds(layer);
  if (layer instanceof ScaleAttentionalConv2D) {
    const [height, width, inputChannels] = known(input, layer, 4) as [number, number, number];
    const { filters, scales, kernelSize, stageFilters, useAttention, attentionKernelSize } = layer;
    return scaleAttentionalMultiplyAdds({ inputChannels, filters, scales, kernelSize, stageFilters, useAttention, attentionKernelSize, height, width });
  }
  if (layer instanceof EfficientChannelAttention) {
    const channels = known(input, layer, 4)[2]!;
    return channels * layer.weights[0]!.shape[0]!; // one 1-D convolution of k taps across the channels
  }
  const config = layer.getConfig() as Record<string, unknown>;
  const channelsFirst = config.dataFormat === 'channelsFirst';
  /** Channels and spatial sizes of a [batch, ...] shape, per the layer's data format. */
  const split = (shape: Shape, rank: number) => {
    const dims = known(shape, layer, rank);
    return channelsFirst ? { channels: dims[0]!, pixels: product(dims.slice(1)) } : { channels: dims[dims.length - 1]!, pixels: product(dims.slice(0, -1)) };
  };
  const window = () => product(config.kernelSize as number[]);
  switch (className) {
    case 'Conv1D':
    case 'Conv2D': {
      const rank = className === 'Conv1D' ? 3 : 4;
      const out = split(output, rank);
      return out.pixels * out.channels * window() * split(input, rank).channels;
    }
    case 'Conv2DTranspose': {
      const from = split(input, 4);
      return from.pixels * from.channels * window() * split(output, 4).channels;
    }
    case 'DepthwiseConv2D': {
      const out = split(output, 4);
      return out.pixels * out.channels * window();
    }
    case 'SeparableConv2D': {
      const out = split(output, 4);
      // tfjs-layers leaves depthMultiplier out of this layer's config: the depthwise kernel [kh, kw, in, multiplier] has it.
      const depthwiseChannels = split(input, 4).channels * layer.weights.find((w) => w.originalName.endsWith('depthwise_kernel'))!.shape[3]!;
      return out.pixels * depthwiseChannels * (window() + out.channels);
    }
    case 'Dense':
      return product(known(input, layer, input.length)) * (config.units as number);
    default:
      if (layer.weights.length === 0 || ELEMENTWISE_WITH_WEIGHTS.has(className)) return 0;
      throw new Error(
        `multiplyAdds: no rule for layer '${layer.name}' (${className}), which has weights; supported: Conv1D, Conv2D, Conv2DTranspose, ` +
          'DepthwiseConv2D, SeparableConv2D, Dense, ScaleAttentionalConv2D, EfficientChannelAttention, nested models and layers without weights',
      );
  }
}

/** A node's first shape (tfjs-layers keeps a single shape unwrapped, several in a list). */
function firstShape(shapes: Shape | Shape[]): Shape {
  return shapes.length > 0 && Array.isArray(shapes[0]) ? (shapes as Shape[])[0]! : (shapes as Shape);
}

/** The shape's dimensions after the batch, each known, at the expected rank. */
function known(shape: Shape, layer: tfl.layers.Layer, rank: number): number[] {
  const dims = shape.slice(1);
  if (shape.length !== rank || dims.some((d) => d === null)) {
    throw new Error(
      `multiplyAdds: layer '${layer.name}' (${layer.getClassName()}) was called on shape [${shape.map(String).join(', ')}]; ` +
        'the count needs every dimension but the batch known (build the model with a fixed input size)',
    );
  }
  return dims as number[];
}

function product(values: number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** A tfjs-layers model, by its graph (not instanceof: an app may hold a second copy of tfjs-layers). */
function isModel(value: unknown): value is tfl.LayersModel {
  const v = value as { getClassName?: unknown; nodesByDepth?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.getClassName === 'function' && typeof v.nodesByDepth === 'object' && v.nodesByDepth !== null;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return `an object without a graph (${(value as object).constructor?.name ?? 'Object'})`;
}
