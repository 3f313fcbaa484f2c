/**
 * CropAndResize on webgpu (tf.image.cropAndResize: crops of a batch, resized, e.g. regions of
 * interest). The stock shader drops a box whose image index is not below the number of boxes (it
 * compares the index with the output's first dimension instead of the image batch), leaving its
 * crop unwritten (zeros in a fresh buffer): one box into image 1 of a batch, or two into image 3. Ours adds
 * boxes until there are as many as images (copies of a crop of image 0) and drops their crops.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel } from '../kernel-ops.js';

export function webgpuCropAndResize(): KernelFunc {
  return compositeKernel('webgpu', (ops, inputs, attrs) => {
    const { image, boxes, boxInd } = inputs as Record<string, TensorInfo>;
    const numBoxes = boxes!.shape[0]!;
    const extra = image!.shape[0]! - numBoxes;
    if (extra <= 0 || numBoxes === 0) return ops.runStock('CropAndResize', { image: image!, boxes: boxes!, boxInd: boxInd! }, attrs);
    const paddedBoxes = ops.concat([boxes!, ops.zeros([extra, 4])], 0);
    const paddedInd = ops.concat([boxInd!, ops.run('Fill', [], { shape: [extra], value: 0, dtype: boxInd!.dtype })], 0);
    const crops = ops.runStock('CropAndResize', { image: image!, boxes: paddedBoxes, boxInd: paddedInd }, attrs);
    return ops.slice(crops, [0, 0, 0, 0], [numBoxes, ...crops.shape.slice(1)]);
  }) as KernelFunc;
}
