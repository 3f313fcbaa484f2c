/**
 * The computation of ScaleAttentionalConv2D as a function of its input and weights, and a
 * gradient for it that either recomputes the forward pass instead of keeping it or keeps only what
 * its backward pass reads (src/gradient-memory.ts chooses).
 *
 * Why: tfjs' tape keeps, for the backward pass, every stage output F(n), every depthwise output,
 * the concatenation z and the attended y of every layer: about five tensors of the layer's width
 * besides its input, where a plain convolution keeps its input and output, so SA-U-Net needed
 * more activation memory than the 18x larger U-Net. The recomputing gradient keeps only the
 * layer's input (and the weights); the backward pass of one layer rebuilds its intermediates,
 * uses them and frees them.
 * Same values, same gradients (tested against autodiff); the backward pass runs the backprop
 * kernels autodiff would, plus, when recomputing, one more forward pass of the layer.
 */
import {
  concat,
  conv2d,
  customGrad,
  depthwiseConv2d,
  engine,
  getBackend,
  getKernel,
  fused,
  mul,
  ones,
  relu,
  reshape,
  split,
  sub,
  sum,
  tidy,
  add,
  div,
  type GradSaveFunc,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { gateOfPooled, globalAveragePool } from './eca.js';

/** The weights of one stage: depthwise (stages 2..N), pointwise, bias (with useBias). */
export interface CascadeStage {
  depthwise: Tensor4D | null;
  pointwise: Tensor4D;
  bias: Tensor1D | null;
}

/** Every weight of the layer, as tensors. */
export interface CascadeWeights {
  stages: CascadeStage[];
  attention: Tensor3D | null;
  projection: Tensor4D | null;
  projectionBias: Tensor1D | null;
}

/**
 * What the layer applies to its output last: y * scale + shift per channel (`affine`; both null
 * without it), then a ReLU. Autodiff differentiates it (it is outside the custom gradient).
 */
export interface Epilogue {
  scale: Tensor1D | null;
  shift: Tensor1D | null;
  relu: boolean;
}

/** The identity epilogue. */
export const NO_EPILOGUE: Epilogue = { scale: null, shift: null, relu: false };

/** The intermediates of one forward pass up to the attention gate, which the backward pass needs. */
interface Trace {
  /** Input of each stage's 1x1 convolution: x for stage 1, the depthwise output D(n) after. */
  pointwiseInputs: Tensor4D[];
  /** F(1), ..., F(N). */
  features: Tensor4D[];
  /** concat(F(1), ..., F(N)); null where the fused attention read the F(n) themselves (never concatenated). */
  z: Tensor4D | null;
  /**
   * GAP(z) [batch, C] and the ECA gate [batch, 1, 1, C] (null without attention). With the fused
   * kernels the gate is never made (null) and the attended z comes from the forward kernel.
   */
  attention: { pooled: Tensor2D; gate: Tensor4D | null; attended: Tensor4D | null } | null;
}

/**
 * Kernels that @sa-unet/tfjs-kernels registers (for webgpu), by the names it exports as
 * CHANNEL_ATTENTION_KERNELS (a test checks they agree); z [batch, h, w, C], kernel [k, 1, 1]:
 * - forward: { z, kernel } -> [pooled [batch, C], z * gate];
 * - gradient: { dy, z, pooled, kernel } -> [logitGrad [batch, C], dKernel];
 * - inputGrad: { dy, pooled, kernel, logitGrad, addend? }, { channelBegin, channelCount } -> that
 *   channel block of dz (+ addend);
 * - inputGradDepthwise: { dy, pooled, kernel, logitGrad, depthwiseDy, depthwiseFilter },
 *   { channelBegin, channelCount } -> that block of dz plus the input gradient of the depthwise
 *   convolution the block feeds (stride 1, 'same'), from that convolution's output gradient.
 * Where the active backend has them all, the layer's own gradient path uses them (on webgpu 3
 * dispatches instead of about 5 forward; 3 plus one per stage instead of about 12, a split, an
 * add and a depthwise input gradient per stage backward); this package only looks them up by name.
 */
export const FUSED_ATTENTION_KERNELS = {
  forward: 'SaUnetChannelAttention',
  gradient: 'SaUnetChannelAttentionGrad',
  inputGrad: 'SaUnetChannelAttentionInputGrad',
  inputGradDepthwise: 'SaUnetChannelAttentionInputGradDepthwise',
} as const;

/** Whether the active backend has every kernel named. */
function backendHas(names: readonly string[]): boolean {
  const backend = getBackend();
  return names.every((name) => getKernel(name, backend) !== undefined);
}

/**
 * The kernel @sa-unet/tfjs-kernels registers (for webgpu) as SEPARABLE_CONV_KERNEL (a test checks
 * they agree): { x, depthwise, pointwise, bias? }, { dilation } -> the pointwise convolution of the
 * depthwise one, stride 1, 'same', in one dispatch and without the depthwise output in memory.
 * The layer uses it for forward passes that no gradient follows (its backward pass reads the
 * depthwise outputs).
 */
export const FUSED_SEPARABLE_KERNEL = 'SaUnetSeparableConv2D';

/**
 * Its training form (SEPARABLE_CONV_TRAINING_KERNEL there): the same inputs -> [the stage output,
 * the depthwise output], which the backward pass reads; 1 dispatch instead of 2 per stage.
 */
export const FUSED_SEPARABLE_TRAINING_KERNEL = 'SaUnetSeparableConv2DTraining';

/** How a trace runs each depthwise-separable stage: stock kernels, or one fused kernel (for inference, or keeping d for training). */
type SeparableMode = 'stock' | 'inference' | 'training';

/** Whether a gradient is being recorded (tf.grad, variableGrads, an optimizer's minimize). */
function recordingGradients(): boolean {
  return engine().state.gradientDepth > 0;
}

/** A 1x1 convolution with an optional bias (one fused op where the backend has it). */
function pointwiseConv(x: Tensor4D, kernel: Tensor4D, bias: Tensor1D | null): Tensor4D {
  return bias === null ? conv2d(x, kernel, 1, 'same') : fused.conv2d({ x, filter: kernel, strides: 1, pad: 'same', bias });
}

/**
 * A depthwise-separable stage (with its depthwise kernel) in one kernel: {@link FUSED_SEPARABLE_KERNEL},
 * or for training {@link FUSED_SEPARABLE_TRAINING_KERNEL}: [the stage output, the depthwise output].
 */
function separableStage(x: Tensor4D, stage: CascadeStage, dilation: number, training: boolean): Tensor4D[] {
  const inputs: NamedTensorMap = { x, depthwise: stage.depthwise!, pointwise: stage.pointwise };
  if (stage.bias !== null) inputs.bias = stage.bias;
  const out = engine().runKernel(training ? FUSED_SEPARABLE_TRAINING_KERNEL : FUSED_SEPARABLE_KERNEL, inputs, { dilation } as unknown as NamedAttrMap);
  return (Array.isArray(out) ? out : [out]) as Tensor4D[];
}

/** The separable mode of a training trace on the active backend: the training kernel where it has one. */
function trainingSeparableMode(): SeparableMode {
  return backendHas([FUSED_SEPARABLE_TRAINING_KERNEL]) ? 'training' : 'stock';
}

/**
 * The forward pass up to the attention; `fused`: the attention by the fused kernels (no autodiff
 * through it); `separable`: each depthwise-separable stage by a fused kernel, in 'inference' mode
 * without its depthwise output in the trace, in 'training' mode with it (for the backward pass;
 * no autodiff through either); `epilogue`: applied by the fused attention kernel to the attended z
 * (inference only: no autodiff, no backward pass).
 */
function trace(x: Tensor4D, w: CascadeWeights, dilation: number, fused = false, separable: SeparableMode = 'stock', epilogue = NO_EPILOGUE): Trace {
  const pointwiseInputs: Tensor4D[] = [];
  const features: Tensor4D[] = [];
  let f = x;
  for (const stage of w.stages) {
    if (stage.depthwise !== null && separable !== 'stock') {
      const [y, d] = separableStage(f, stage, dilation, separable === 'training');
      if (d !== undefined) pointwiseInputs.push(d);
      f = y!;
    } else {
      if (stage.depthwise !== null) f = depthwiseConv2d(f, stage.depthwise, 1, 'same', 'NHWC', dilation);
      pointwiseInputs.push(f);
      f = pointwiseConv(f, stage.pointwise, stage.bias);
    }
    features.push(f);
  }
  if (w.attention !== null && fused) {
    const affine: NamedTensorMap = epilogue.scale === null ? {} : { scale: epilogue.scale, shift: epilogue.shift! };
    const [pooled, attended] = engine().runKernel(FUSED_ATTENTION_KERNELS.forward, { ...zParts(features), kernel: w.attention, ...affine },
      { activation: epilogue.relu ? 'relu' : 'linear' } as unknown as NamedAttrMap) as Tensor[];
    return { pointwiseInputs, features, z: null, attention: { pooled: pooled as Tensor2D, gate: null, attended: attended as Tensor4D } };
  }
  const z = concatenated(features);
  if (w.attention === null) return { pointwiseInputs, features, z, attention: null };
  const pooled = globalAveragePool(z);
  return { pointwiseInputs, features, z, attention: { pooled, gate: gateOfPooled(pooled, w.attention), attended: null } };
}

/** The fused attention's inputs z0, z1, ...: z in its parts, the stage outputs. */
function zParts(features: Tensor4D[]): Record<string, Tensor4D> {
  return Object.fromEntries(features.map((f, j) => [`z${j}`, f]));
}

/** concat(F(1), ..., F(N)) along the channels. */
function concatenated(features: Tensor4D[]): Tensor4D {
  return features.length === 1 ? features[0] : concat(features, 3);
}

/** z of a trace, concatenated now if the forward pass did not. */
function zOf(t: Trace): Tensor4D {
  return t.z ?? concatenated(t.features);
}

/** z weighted by the gate: the layer's output, or the projection's input. */
function attended(t: Trace): Tensor4D {
  if (t.attention === null) return zOf(t);
  return t.attention.attended ?? mul(zOf(t), t.attention.gate!);
}

/** The layer's output for a traced forward pass. */
function output(t: Trace, w: CascadeWeights): Tensor4D {
  const y = attended(t);
  return w.projection === null ? y : pointwiseConv(y, w.projection, w.projectionBias);
}

/** The layer's output y for input x (plain tf ops: autodiff keeps every intermediate). */
export function cascadeForward(x: Tensor4D, w: CascadeWeights, dilation: number): Tensor4D {
  return output(trace(x, w, dilation), w);
}

/**
 * A trace as a flat tensor list for the backward pass (x, the first pointwise input, is left out:
 * it is saved anyway): the depthwise outputs, F(1..N), z unless the fused attention left it
 * unmade; with attention, the pooled channels, then the gate or, from the fused kernels, the
 * attended z (a projection's backward pass reads it).
 */
function traceTensors(t: Trace): Tensor[] {
  const list: Tensor[] = [...t.pointwiseInputs.slice(1), ...t.features];
  if (t.z !== null) list.push(t.z);
  if (t.attention !== null) list.push(t.attention.pooled, t.attention.gate ?? t.attention.attended!);
  return list;
}

/**
 * The way back from {@link traceTensors}, for a cascade of `stages` stages, with or without
 * attention, traced with `fused` attention or not.
 */
function traceOf(x: Tensor4D, list: Tensor[], stages: number, withAttention: boolean, fused: boolean): Trace {
  const n = stages;
  const rest = list.slice(2 * n - 1);
  const z = withAttention && fused ? null : rest.shift() as Tensor4D;
  const [pooled, gateOrAttended] = rest;
  return {
    pointwiseInputs: [x, ...list.slice(0, n - 1)] as Tensor4D[],
    features: list.slice(n - 1, 2 * n - 1) as Tensor4D[],
    z,
    attention: withAttention ? {
      pooled: pooled as Tensor2D,
      gate: fused ? null : gateOrAttended as Tensor4D,
      attended: fused ? gateOrAttended as Tensor4D : null,
    } : null,
  };
}

// Attributes of the backprop kernels for the layer's stride-1, 'same', undilated convolutions.
const UNIT_DEPTHWISE = { strides: [1, 1], pad: 'same', dilations: [1, 1] };
const UNIT_CONV = { ...UNIT_DEPTHWISE, dataFormat: 'NHWC' };

/**
 * Backward pass of a 1x1 convolution y = x * W (+ b) with the backend's convolution backprop
 * kernels, as autodiff would run them (on wasm: @sa-unet/tfjs-kernels'): records dW (and db) in
 * `grads`, returns dx.
 */
function pointwiseBackward(dy: Tensor4D, x: Tensor4D, kernel: Tensor4D, bias: Tensor1D | null, grads: Map<Tensor, Tensor>): Tensor4D {
  grads.set(kernel, engine().runKernel('Conv2DBackpropFilter', { x, dy },
    { ...UNIT_CONV, filterShape: kernel.shape } as unknown as NamedAttrMap) as Tensor);
  if (bias !== null) grads.set(bias, sum(dy, [0, 1, 2]));
  return engine().runKernel('Conv2DBackpropInput', { dy, filter: kernel },
    { ...UNIT_CONV, inputShape: x.shape } as unknown as NamedAttrMap) as Tensor4D;
}

/**
 * Gradients of ECA's attended = z * gate(z) with respect to z and the 1-D kernel.
 * logits = conv1d(pooled, kernel, 'same') is, as tfjs computes it, a conv2d of pooled seen as a
 * [batch, 1, C, 1] image with a [1, k, 1, 1] filter; its input and kernel gradients are that
 * conv2d's backprop kernels, one dispatch each (a per-tap slice, multiply and sum took 3k + 3).
 */
function attentionBackward(dAttended: Tensor4D, z: Tensor4D, pooled: Tensor2D, gate: Tensor4D, kernel: Tensor3D): [Tensor4D, Tensor3D] {
  const [batch, h, w, channels] = z.shape;
  const k = kernel.shape[0];
  const gate2 = reshape(gate, [batch, channels]) as Tensor2D;
  const dGate = sum(mul(dAttended, z), [1, 2]) as Tensor2D;
  const dLogits = reshape(mul(dGate, mul(gate2, sub(1, gate2))), [batch, 1, channels, 1]) as Tensor4D;
  const row = [batch, 1, channels, 1];
  const filter = reshape(kernel, [1, k, 1, 1]) as Tensor4D;
  const dKernel = engine().runKernel('Conv2DBackpropFilter', { x: reshape(pooled, row), dy: dLogits },
    { ...UNIT_CONV, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor4D;
  const dPooled = engine().runKernel('Conv2DBackpropInput', { dy: dLogits, filter },
    { ...UNIT_CONV, inputShape: row } as unknown as NamedAttrMap) as Tensor4D;
  const dz = add(mul(dAttended, gate), reshape(div(dPooled, h * w), [batch, 1, 1, channels])) as Tensor4D;
  return [dz, reshape(dKernel, kernel.shape) as Tensor3D];
}

/** A depthwise convolution's output gradient and filter, for its input gradient. */
interface DepthwiseGradient {
  dy: Tensor4D;
  filter: Tensor4D;
}

/** The flat list of weight tensors, in a fixed order, and the way back. */
export function flatten(w: CascadeWeights): Tensor[] {
  const list: Tensor[] = [];
  for (const s of w.stages) {
    if (s.depthwise !== null) list.push(s.depthwise);
    list.push(s.pointwise);
    if (s.bias !== null) list.push(s.bias);
  }
  for (const t of [w.attention, w.projection, w.projectionBias]) if (t !== null) list.push(t);
  return list;
}

export function unflatten(like: CascadeWeights, list: Tensor[]): CascadeWeights {
  let i = 0;
  const next = <T extends Tensor>(t: Tensor | null): T | null => (t === null ? null : (list[i++] as T));
  const stages = like.stages.map((s) => {
    const depthwise = next<Tensor4D>(s.depthwise);
    const pointwise = next<Tensor4D>(s.pointwise)!;
    return { depthwise, pointwise, bias: next<Tensor1D>(s.bias) };
  });
  return { stages, attention: next(like.attention), projection: next(like.projection), projectionBias: next(like.projectionBias) };
}

/**
 * d(output)/d(x, weights) given d(output) and the forward pass's trace (`fused`: whether the
 * attention ran on the fused kernels, as its gradient then does); in flatten's order after dx.
 */
function backward(dy: Tensor4D, x: Tensor4D, w: CascadeWeights, t: Trace, fused: boolean): Tensor[] {
  const grads = new Map<Tensor, Tensor>();
  let g = w.projection === null ? dy : pointwiseBackward(dy, attended(t), w.projection, w.projectionBias, grads);
  const n = w.stages.length;
  /**
   * The gradient of stage i's output F(i+1): its block of the concatenation's, plus, where F(i+1)
   * feeds the next stage's depthwise convolution, that convolution's input gradient (from its
   * output gradient `through.dy` and filter `through.filter`).
   */
  let stageGradient: (i: number, through: DepthwiseGradient | null) => Tensor4D;
  if (w.attention !== null && t.attention !== null && fused) {
    // The fused kernels write each stage's block of dz, the depthwise input gradient added: no
    // split, no add, no depthwise input gradient of its own.
    const { pooled } = t.attention;
    const kernel = w.attention;
    const dAttended = g;
    const [logitGrad, dKernel] = engine().runKernel(FUSED_ATTENTION_KERNELS.gradient,
      { dy: dAttended, ...zParts(t.features), pooled, kernel }) as Tensor[];
    grads.set(kernel, dKernel!);
    const width = t.features[0].shape[3];
    const common = { dy: dAttended, pooled, kernel, logitGrad: logitGrad! };
    stageGradient = (i, through) => {
      const block = { channelBegin: i * width, channelCount: width };
      return (through === null
        ? engine().runKernel(FUSED_ATTENTION_KERNELS.inputGrad, common, block)
        : engine().runKernel(FUSED_ATTENTION_KERNELS.inputGradDepthwise, { ...common, depthwiseDy: through.dy, depthwiseFilter: through.filter }, block)) as Tensor4D;
    };
  } else {
    if (w.attention !== null && t.attention !== null) {
      const { pooled, gate } = t.attention;
      const [dz, dKernel] = attentionBackward(g, zOf(t), pooled, gate ?? gateOfPooled(pooled, w.attention), w.attention);
      grads.set(w.attention, dKernel);
      g = dz;
    }
    const dFeatures = n === 1 ? [g] : (split(g, n, 3) as Tensor4D[]);
    stageGradient = (i, through) => {
      if (through === null) return dFeatures[i];
      const dInput = engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: through.dy, filter: through.filter },
        { ...UNIT_DEPTHWISE, inputShape: dFeatures[i].shape } as unknown as NamedAttrMap) as Tensor4D;
      return add(dFeatures[i], dInput) as Tensor4D;
    };
  }
  let dF = stageGradient(n - 1, null);
  // Stages N..2: pointwise, then depthwise (the backend's own backprop kernels, dilation 1; on
  // wasm @sa-unet/tfjs-kernels'); stage 1 has no depthwise convolution.
  for (let i = n - 1; i >= 1; i--) {
    const { depthwise, pointwise: kernel, bias } = w.stages[i];
    const dD = pointwiseBackward(dF, t.pointwiseInputs[i], kernel, bias, grads);
    grads.set(depthwise!, engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: t.features[i - 1], dy: dD },
      { ...UNIT_DEPTHWISE, filterShape: depthwise!.shape } as unknown as NamedAttrMap) as Tensor);
    dF = stageGradient(i - 1, { dy: dD, filter: depthwise! });
  }
  const dx = pointwiseBackward(dF, x, w.stages[0].pointwise, w.stages[0].bias, grads);
  return [dx, ...flatten(w).map((weight) => grads.get(weight)!)];
}

/** `y` through the epilogue, as tf ops. */
function applyEpilogue(y: Tensor4D, e: Epilogue): Tensor4D {
  let out = y;
  if (e.scale !== null) out = mul(out, e.scale);
  if (e.shift !== null) out = add(out, e.shift);
  return e.relu ? relu(out) : out;
}

/**
 * {@link applyEpilogue} for inference: y * scale + shift, then the ReLU, as one 1x1 depthwise
 * convolution with bias and activation, one pass over the image instead of up to three. Each value
 * is the same float32 product, then sum, then clamp as before, so the same bit for bit on cpu and
 * wasm, where it is 1.5-2.5x faster than the three kernels (a fresh scale per call, median of 15:
 * [1,256,256,32] 3.4 against 8.6 ms, [1,16,16,512] 0.19 against 0.35).
 */
function inferenceEpilogue(y: Tensor4D, e: Epilogue): Tensor4D {
  if (e.scale === null && e.shift === null) return e.relu ? relu(y) : y;
  const channels = y.shape[3];
  return fused.depthwiseConv2d({
    x: y,
    filter: reshape(e.scale ?? ones([channels]), [1, 1, channels, 1]) as Tensor4D,
    strides: 1,
    pad: 'valid',
    bias: e.shift ?? undefined,
    activation: e.relu ? 'relu' : 'linear',
  });
}

/**
 * The layer's output, epilogue included, where no gradient is recorded: on the backend's fused
 * attention and separable-convolution kernels where it has them, the fused attention applying the
 * epilogue where its output is the layer's (no projection after it), so that a batch norm and ReLU
 * folded into the layer cost no dispatch of their own (webgpu with @sa-unet/tfjs-kernels);
 * elsewhere the scale goes into the gate ([batch, C]) rather than over the image, and the
 * epilogue is one pass over it (two for a batch of several images, whose gates differ): fewer
 * than the batch norm and ReLU it replaces.
 */
function inference(x: Tensor4D, w: CascadeWeights, dilation: number, e: Epilogue): Tensor4D {
  const fused = backendHas(Object.values(FUSED_ATTENTION_KERNELS));
  const last = w.attention !== null && w.projection === null; // the attention's output is the layer's
  const inKernel = fused && last;
  const t = trace(x, w, dilation, fused, backendHas([FUSED_SEPARABLE_KERNEL]) ? 'inference' : 'stock', inKernel ? e : NO_EPILOGUE);
  if (inKernel) return t.attention!.attended!;
  if (last && e.scale !== null) {
    const gate = t.attention!.gate!;
    const channels = gate.shape[3];
    const gateTimesScale = mul(gate, reshape(e.scale, [1, 1, 1, channels]));
    // One image: its gate times the scale is the epilogue's scale, so one pass over z in all.
    if (gate.shape[0] === 1) return inferenceEpilogue(zOf(t), { ...e, scale: reshape(gateTimesScale, [channels]) });
    return inferenceEpilogue(mul(zOf(t), gateTimesScale), { ...e, scale: null });
  }
  return inferenceEpilogue(output(t, w), e);
}

/**
 * The layer's output for input x: the cascade, the attention (and projection), then the
 * epilogue `e`. Where no gradient is being recorded (inference), just the forward pass, on the
 * backend's fused kernels where it has them (webgpu with @sa-unet/tfjs-kernels: 1 dispatch per
 * stage instead of 2, the epilogue in the attention's dispatch), nothing kept.
 * Otherwise, with dilation 1, its gradient keeps x, the weights and, unless
 * `recompute`, the intermediates its backward pass reads; with `recompute` it rebuilds them from x
 * (each separable stage in one dispatch there too, with its depthwise output, where the backend has
 * the training kernel).
 * With dilation > 1, plain autodiff (the stock depthwise backprop kernels ignore dilation, so the
 * gradient must go through the registered gradients that check for it). The epilogue is plain tf
 * ops after either, for autodiff.
 */
export function scaleAttentional(x: Tensor4D, w: CascadeWeights, dilation: number, recompute: boolean, e: Epilogue = NO_EPILOGUE): Tensor4D {
  if (!recordingGradients()) return inference(x, w, dilation, e);
  if (dilation !== 1) return applyEpilogue(cascadeForward(x, w, dilation), e);
  const fused = backendHas(Object.values(FUSED_ATTENTION_KERNELS));
  const separable = trainingSeparableMode();
  const stages = w.stages.length;
  const op = customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const save = args.pop() as GradSaveFunc;
    const [input, ...weights] = args as Tensor[];
    const current = unflatten(w, weights);
    const t = trace(input as Tensor4D, current, 1, fused, separable);
    save([input, ...weights, ...(recompute ? [] : traceTensors(t))]);
    return {
      value: output(t, current),
      // tfjs calls a custom gradient outside any tidy of its own: without this one, every layer's
      // recomputed intermediates would live until the whole backward pass ends.
      gradFunc: (dy: Tensor, saved: Tensor[]) => tidy(() => {
        const savedInput = saved[0] as Tensor4D;
        const savedWeights = unflatten(w, saved.slice(1, 1 + weights.length));
        const savedTrace = recompute ? trace(savedInput, savedWeights, 1, fused, separable) : traceOf(savedInput, saved.slice(1 + weights.length), stages, w.attention !== null, fused);
        return backward(dy as Tensor4D, savedInput, savedWeights, savedTrace, fused);
      }),
    };
  });
  return applyEpilogue(op(x, ...flatten(w)) as Tensor4D, e);
}
