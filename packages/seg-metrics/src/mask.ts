/** Masks and score maps: plain row-major arrays or tfjs tensors, validated once, then typed arrays. */
import { Tensor } from '@tensorflow/tfjs-core';

/** A row-major image: `data[y * width + x]`. */
export interface ImageArray {
  /** width x height values, row by row (any array-like: number[], Float32Array, Uint8Array, ...). */
  data: ArrayLike<number>;
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
}

/** A mask or score map: an {@link ImageArray}, or a tf.Tensor of shape [h, w] or [h, w, 1]. */
export type MaskInput = ImageArray | Tensor;

/** A binary mask after thresholding: 1 = foreground. */
export interface BinaryMask {
  /** width x height values, 0 or 1, row by row. */
  data: Uint8Array;
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
}

/** Reads a mask or score map into `{ data, width, height }`, checking its shape. */
export function readImage(input: MaskInput, argName: string): ImageArray {
  if (input instanceof Tensor) {
    const shape = input.shape;
    if (!(shape.length === 2 || (shape.length === 3 && shape[2] === 1))) {
      throw new Error(`${argName}: expected a tensor of shape [h, w] or [h, w, 1], got [${shape.join(', ')}]`);
    }
    let data: ArrayLike<number>;
    try {
      data = input.dataSync() as ArrayLike<number>;
    } catch (err) {
      throw new Error(
        `${argName}: cannot read the tensor synchronously (${(err as Error).message}); on the webgpu backend pass ` +
          `{ data: await tensor.data(), width, height } instead`,
      );
    }
    return { data, width: shape[1], height: shape[0] };
  }
  if (input === null || typeof input !== 'object' || !('data' in input)) {
    throw new Error(`${argName}: expected { data, width, height } or a tf.Tensor, got ${describe(input)}`);
  }
  const { data, width, height } = input;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`${argName}: width and height must be integers >= 1, got width ${width} and height ${height}`);
  }
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new Error(`${argName}: 'data' must be an array or typed array, got ${describe(data)}`);
  }
  if (data.length !== width * height) {
    throw new Error(`${argName}: data has ${data.length} values but width x height = ${width} x ${height} = ${width * height}`);
  }
  return input;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  // A bare typed array is the likeliest slip: say what it was, the caller knows its shape.
  if (ArrayBuffer.isView(value)) return `a bare ${value.constructor.name}${'length' in value ? ` of length ${String(value.length)}` : ''} (give its shape: { data, width, height })`;
  return typeof value;
}

/** The threshold, or an Error naming the bad value (not a number, or NaN). */
export function checkThreshold(threshold: unknown): number {
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new Error(`threshold: expected a number, got ${JSON.stringify(threshold)}`);
  }
  return threshold;
}

/** Thresholds a prediction: value > threshold is foreground. NaN is an error. */
export function binarizePrediction(input: MaskInput, threshold: number, argName = 'pred'): BinaryMask {
  checkThreshold(threshold);
  const { data, width, height } = readImage(input, argName);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) throw new Error(`${argName}: NaN at index ${i} (x ${i % width}, y ${Math.floor(i / width)})`);
    out[i] = v > threshold ? 1 : 0;
  }
  return { data: out, width, height };
}

/** Reads a ground-truth mask, which must be binary: every value 0 or 1. */
export function binarizeTruth(input: MaskInput, argName = 'truth'): BinaryMask {
  const { data, width, height } = readImage(input, argName);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== 1) {
      throw new Error(
        `${argName}: must be binary (every value 0 or 1), found ${v} at index ${i} (x ${i % width}, y ${Math.floor(i / width)})`,
      );
    }
    out[i] = v;
  }
  return { data: out, width, height };
}

/** Reads a score map for ROC analysis: every value finite. */
export function readScores(input: MaskInput, argName = 'scores'): ImageArray {
  const image = readImage(input, argName);
  const { data, width } = image;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(`${argName}: scores must be finite numbers, found ${data[i]} at index ${i} (x ${i % width}, y ${Math.floor(i / width)})`);
    }
  }
  return image;
}

/** Throws unless both images have the same size, naming both arguments. */
export function checkSameSize(a: { width: number; height: number }, b: { width: number; height: number }, aName: string, bName: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${aName} is ${a.width}x${a.height} (width x height) but ${bName} is ${b.width}x${b.height}: sizes must match`);
  }
}

export function countForeground(mask: BinaryMask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n;
}
