/** Argument checks whose messages name the argument and the values it accepts. */
import type { LayerArgs } from './layer-utils.js';

export function checkPositiveInteger(value: unknown, argName: string, layerName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${layerName}: '${argName}' must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkOddInteger(value: unknown, argName: string, layerName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value % 2 === 0) {
    throw new Error(`${layerName}: '${argName}' must be an odd integer >= 1 (1, 3, 5, ...), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks the [batch, height, width, channels] shape a 2-D image layer receives. */
export function checkImageShape(shape: ReadonlyArray<number | null>, layerName: string): number {
  if (shape.length !== 4) {
    throw new Error(
      `${layerName}: expected a 4-D input [batch, height, width, channels] (channels last), got shape ${formatShape(shape)}`,
    );
  }
  const channels = shape[3];
  if (channels === null || channels === undefined || channels < 1) {
    throw new Error(`${layerName}: the channel dimension of the input must be known, got shape ${formatShape(shape)}`);
  }
  return channels;
}

/** A float32 input: the convolutions take no other dtype, and tfjs' own message would not name the layer. */
export function checkFloatInput(x: { dtype: string }, layerName: string): void {
  if (x.dtype !== 'float32') {
    throw new Error(`${layerName}: expected a float32 input, got ${x.dtype}; cast it first (tf.cast(x, 'float32'))`);
  }
}

export function formatShape(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
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
