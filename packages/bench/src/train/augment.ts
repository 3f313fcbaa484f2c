/**
 * The paper's augmentation: a random shear between -maxDegrees and +maxDegrees along x and along y,
 * about the image centre, applied identically to an image (bilinear) and its mask (nearest).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The 8 projective-transform parameters (tf.image.transform: output pixel (x, y) samples input
 * (a0 x + a1 y + a2, b0 x + b1 y + b2)) of a shear by `shearX` and `shearY` radians about the
 * centre of a size x size image.
 */
export function shearTransform(shearX: number, shearY: number, size: number): number[] {
  for (const [name, angle] of [['shearX', shearX], ['shearY', shearY]] as const) {
    if (!Number.isFinite(angle) || Math.abs(angle) >= Math.PI / 2) throw new Error(`shearTransform: ${name} must be an angle in radians strictly between -pi/2 and pi/2, got ${angle}`);
  }
  if (!Number.isInteger(size) || size < 1) throw new Error(`shearTransform: size must be an integer >= 1, got ${size}`);
  const kx = Math.tan(shearX);
  const ky = Math.tan(shearY);
  const c = (size - 1) / 2;
  // input = S (output - c) + c with S = [[1, kx], [ky, 1]]
  return [1, kx, 0 - kx * c, ky, 1, 0 - ky * c, 0, 0];
}

/** Draws one shear (x and y angles, radians) per image, uniform in [-maxDegrees, maxDegrees]. */
export function drawShears(count: number, maxDegrees: number, rand: () => number): Array<[number, number]> {
  const max = (maxDegrees * Math.PI) / 180;
  return Array.from({ length: count }, () => [(2 * rand() - 1) * max, (2 * rand() - 1) * max]);
}

/** Shears a batch of images [b, s, s, 1] (bilinear) and masks (nearest) with the same transforms. */
export function shearBatch(images: tf.Tensor4D, masks: tf.Tensor4D, shears: Array<[number, number]>): {
  /** The sheared images (bilinear). */
  images: tf.Tensor4D;
  /** The sheared masks (nearest neighbour, still 0 or 1). */
  masks: tf.Tensor4D;
} {
  const size = images.shape[1];
  if (shears.length !== images.shape[0]) throw new Error(`shearBatch: ${shears.length} shears for a batch of ${images.shape[0]}`);
  return tf.tidy(() => {
    const transforms = tf.tensor2d(shears.flatMap(([sx, sy]) => shearTransform(sx, sy, size)), [shears.length, 8]);
    return {
      images: tf.image.transform(images, transforms, 'bilinear', 'constant', 0),
      masks: tf.image.transform(masks, transforms, 'nearest', 'constant', 0),
    };
  });
}
