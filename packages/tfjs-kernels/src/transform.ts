/**
 * tf.image.transform (projective warps: the shear, rotation and affine augmentation of image and
 * mask batches) where the stock kernels are wrong for batches of more than one image.
 *
 * tfjs-backend-cpu 4.22 returns from inside its loop over the batch, after the first image: every
 * later image of the batch came out as the fill value (zeros), image and mask alike, so a training
 * batch of 4 augmented on cpu was one sheared pair and three blank ones. Ours runs the stock
 * kernel on one image at a time and concatenates. The webgpu kernel reads transform row b for
 * image b even when one row is given for the whole batch (which tf.image.transform allows), so
 * images after the first were sampled with a zero transform; ours repeats the row for every image
 * first. wasm's is right.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel } from './kernel-ops.js';

/** Our Transform for cpu (image by image) or webgpu (one transform row per image). */
export function transformKernel(backendName: string): KernelFunc {
  return compositeKernel(backendName, (ops, inputs, attrs) => {
    const { image, transforms } = inputs as Record<string, TensorInfo>;
    const [batch, height, width, channels] = image!.shape as [number, number, number, number];
    const shared = transforms!.shape[0] === 1;
    if (batch <= 1 || (backendName === 'webgpu' && !shared)) return ops.runStock('Transform', { image: image!, transforms: transforms! }, attrs);
    if (backendName === 'webgpu') {
      return ops.runStock('Transform', { image: image!, transforms: ops.run('Tile', { x: transforms! }, { reps: [batch, 1] }) }, attrs);
    }
    const warped = Array.from({ length: batch }, (_, b) => ops.runStock('Transform', {
      image: ops.slice(image!, [b, 0, 0, 0], [1, height, width, channels]),
      transforms: ops.slice(transforms!, [shared ? 0 : b, 0], [1, 8]),
    }, attrs));
    return ops.concat(warped, 0);
  }) as KernelFunc;
}
