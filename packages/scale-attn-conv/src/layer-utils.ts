import type { Tensor } from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';

/** The constructor arguments every tfjs layer accepts (name, trainable, inputShape, dtype, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** The one shape of a single-input layer. */
export function singleShape(inputShape: Shape | Shape[], layerName: string): Shape {
  if (Array.isArray(inputShape[0])) {
    const shapes = inputShape as Shape[];
    if (shapes.length !== 1) throw new Error(`${layerName}: expected one input, got ${shapes.length}`);
    return shapes[0];
  }
  return inputShape as Shape;
}

/** The one tensor of a single-input layer. */
export function singleTensor(inputs: Tensor | Tensor[], layerName: string): Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`${layerName}: expected one input tensor, got ${inputs.length}`);
    return inputs[0];
  }
  return inputs;
}

/** Every argument of tfjs-layers' base Layer (the compiler checks that none is missing). */
const LAYER_ARG_NAMES = Object.keys({
  inputShape: true, batchInputShape: true, batchSize: true, dtype: true, name: true, trainable: true, weights: true, inputDType: true,
} satisfies Record<keyof LayerArgs, true>);

/** An argument of conv2d that a layer does not take: the values it behaves as, and what to do for another. */
export interface FixedArg {
  /** Values that mean what the layer does anyway (compared as JSON). */
  accepts: readonly unknown[];
  hint: string;
}

/**
 * Refuses arguments that would be ignored to the user's surprise. tfjs layers ignore what they do
 * not take, so `strides: 2` or `activation: 'relu'` carried over from a conv2d would change nothing
 * without a word, and a misspelt `kernelInitialiser` would leave the default in place. Other
 * unknown keys pass, as in tfjs: deserialization adds its own (`customObjects`), and a newer
 * version's config should still load.
 */
export function checkArgs(args: object, own: readonly string[], layerName: string, fixed: Readonly<Record<string, FixedArg>> = {}): void {
  const known = [...own, ...LAYER_ARG_NAMES];
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || known.includes(key)) continue;
    const rule = fixed[key];
    if (rule !== undefined) {
      if (rule.accepts.some((v) => JSON.stringify(v) === JSON.stringify(value))) continue;
      throw new Error(`${layerName}: '${key}' ${JSON.stringify(value)} is not supported: ${rule.hint}`);
    }
    // A near miss: at most two edits, and fewer for short names (every short key is two edits from 'b').
    const near = known.find((name) => editDistance(name.toLowerCase(), key.toLowerCase()) <= Math.min(2, Math.floor(Math.min(name.length, key.length) / 4)));
    if (near !== undefined) throw new Error(`${layerName}: unknown argument '${key}'; did you mean '${near}'?`);
  }
}

/** Levenshtein distance: how many one-character edits turn a into b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
