/**
 * One gray image of any size through a segmentation model of square input: bilinear resize to
 * the model's input (half-pixel centres), the foreground probability, threshold 0.5; and the mask
 * back at the image's size. What `sa-unet-bench segment` and the in-browser demo both run, so they
 * give the same mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { averageDeepSupervision } from './unet-plus-plus.js';

/** A row-major gray image, levels in [0, 1]. */
export interface GrayImage {
  /** width x height levels, row by row. */
  data: Float32Array;
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
}

/** One image through a segmentation model: what the model saw, its probabilities and the thresholded mask. */
export interface ImageSegmentation {
  /** Side of the model's square input. */
  size: number;
  /** The image as the model saw it (size x size). */
  input: Float32Array;
  /** Foreground probability per pixel (size x size). */
  probabilities: Float32Array;
  /** 1 where the probability is > 0.5. */
  mask: Uint8Array;
  /** Foreground pixels of `mask` (times the area of one pixel: the segmented area). */
  maskPixels: number;
  /** Milliseconds of the forward pass, output read back. */
  inferenceMs: number;
}

/** The side n of a model that takes [null, n, n, 1] images; an Error naming its input shape otherwise. */
export function modelInputSize(model: tfl.LayersModel): number {
  const shape = (model as Partial<tfl.LayersModel> | null)?.inputs?.[0]?.shape;
  if (!Array.isArray(shape)) throw new Error(`model must be a tfjs-layers LayersModel with an input, got ${model === null || typeof model !== 'object' ? String(model) : 'an object without inputs'}`);
  const [, height, width, channels] = shape;
  if ((height === null || width === null) && channels === 1) {
    throw new Error(`the model takes inputs of any size ([null, ${height ?? 'null'}, ${width ?? 'null'}, 1]); images are resized to a ` +
      'fixed square input [n, n, 1]: build the model with one (inputShape [n, n, 1]), or run model.predict on images of your own size');
  }
  if (height === null || height !== width || channels !== 1) {
    throw new Error(`the model takes inputs of shape [${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]; square gray images [null, n, n, 1] are needed`);
  }
  return height;
}

/**
 * The image as a [1, size, size, 1] model input: bilinear, half-pixel centres. The bench resizes
 * its training and test images with this too, so a model sees the same pixels when it segments.
 */
export function resizeGrayImage(image: GrayImage, size: number): tf.Tensor4D {
  checkGrayImage(image);
  if (!Number.isInteger(size) || size < 1) throw new Error(`resizeGrayImage: size must be an integer >= 1, got ${JSON.stringify(size)}`);
  return tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(image.data, [1, image.height, image.width, 1]), [size, size], false, true));
}

/** An Error naming what is wrong with `image`, instead of tfjs' shape message deep inside. */
function checkGrayImage(image: GrayImage): void {
  const { width, height, data } = (image ?? {}) as { width: number; height: number; data: unknown };
  checkSides(width, height, 'image');
  if (!(data instanceof Float32Array) || data.length !== width * height) {
    const got = data instanceof Float32Array ? `${data.length} values` : ((data as object | null | undefined)?.constructor?.name ?? String(data));
    throw new Error(`image: data must be a Float32Array of width x height = ${width} x ${height} = ${width * height} gray levels, got ${got}`);
  }
}

/** An Error naming `who` unless width and height are integers >= 1. */
function checkSides(width: number, height: number, who: string): void {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`${who}: width and height must be integers >= 1, got ${JSON.stringify(width)} x ${JSON.stringify(height)}`);
  }
}

/** The mask of probabilities: 1 where a probability is > 0.5, else 0 (the one threshold of both masks here). */
function thresholdMask(probabilities: Float32Array): Uint8Array {
  return Uint8Array.from(probabilities, (p) => (p > 0.5 ? 1 : 0));
}

/** The foreground probability map of a model output: itself with one channel, class 1 with several. */
export function foregroundProbability(output: tf.Tensor4D): tf.Tensor4D {
  if (output.rank !== 4) throw new Error(`foregroundProbability: expected a model output [batch, height, width, classes], got shape [${output.shape.join(', ')}]`);
  return output.shape[3] === 1 ? output : tf.slice(output, [0, 0, 0, 1], [-1, -1, -1, 1]);
}

/** Options of {@link segmentGrayImage}. */
export interface SegmentGrayImageOptions {
  /**
   * Runs the model on the resized image, a [1, size, size, 1] tensor, and returns a new tensor of
   * its output. Default: the model's own predict, deep-supervision heads averaged. For repeated
   * calls on WebGPU, `replayPredict(averageDeepSupervision(model)).run` of @sa-unet/tfjs-kernels
   * gives the same output without tfjs's CPU work per layer.
   */
  predict?: (x: tf.Tensor4D) => tf.Tensor;
}

/** Segments a gray image with the model (deep-supervision heads averaged; with classes, class 1). */
export async function segmentGrayImage(model: tfl.LayersModel, image: GrayImage, options: SegmentGrayImageOptions = {}): Promise<ImageSegmentation> {
  const size = modelInputSize(model);
  const net = averageDeepSupervision(model);
  const predict = options.predict ?? ((input: tf.Tensor4D) => net.predict(input) as tf.Tensor);
  const x = resizeGrayImage(image, size);
  let input: Float32Array;
  let probabilities: Float32Array;
  let inferenceMs: number;
  try {
    input = (await x.data()) as Float32Array;
    const t0 = performance.now();
    const y = tf.tidy(() => foregroundProbability(predict(x) as tf.Tensor4D));
    probabilities = (await y.data().finally(() => y.dispose())) as Float32Array;
    inferenceMs = performance.now() - t0;
  } finally {
    x.dispose(); // also when the backend fails (the demo then lets the user try again)
  }
  const mask = thresholdMask(probabilities);
  return { size, input, probabilities, mask, maskPixels: mask.reduce((a, b) => a + b, 0), inferenceMs };
}

/**
 * The mask of a segmentation at the segmented image's own size, to lie over it: the model's
 * probabilities resized back to width x height (bilinear, half-pixel centres, as
 * {@link resizeGrayImage} resized the image to the model), then > 0.5; 1 foreground, 0 background,
 * row-major. Its pixel count times the image's pixel area is close to, not exactly, the area of
 * the mask at the model's size.
 */
export async function maskAtImageSize(segmentation: Pick<ImageSegmentation, 'probabilities' | 'size'>, width: number, height: number): Promise<Uint8Array> {
  const { probabilities, size }: Partial<ImageSegmentation> = segmentation ?? {};
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || !(probabilities instanceof Float32Array) || probabilities.length !== size * size) {
    const got = probabilities instanceof Float32Array ? `${probabilities.length} values` : String(probabilities);
    throw new Error(`maskAtImageSize: expected a segmentation's size and its size x size probabilities (a Float32Array), got size ${JSON.stringify(size)} and ${got}`);
  }
  checkSides(width, height, 'maskAtImageSize');
  const resized = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(probabilities, [size, size, 1]), [height, width], false, true));
  const values = await resized.data().finally(() => resized.dispose());
  return thresholdMask(values as Float32Array);
}
