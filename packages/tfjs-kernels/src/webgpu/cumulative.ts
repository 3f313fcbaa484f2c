/**
 * Reverse running sums and products on webgpu. tfjs-backend-webgpu 4.22 compiles the reverse
 * scan with the length of the scanned axis written into the shader, but caches the shader by
 * operation and flags alone: after one reverse Cumsum, every later one along an axis of another
 * length ran with the first length, so `tf.cumsum(x, 0, false, true)` of a [4, 3] tensor after one
 * of a [3, 3] tensor gave wrong sums. That is also the gradient of every forward Cumsum. The forward
 * scan's shader does not depend on the length: ours runs that one between two Reverse kernels.
 */
import { util, type KernelFunc } from '@tensorflow/tfjs-core';
import { compositeKernel } from '../kernel-ops.js';

/** The kernels that `registerTrainingKernels()` wraps on webgpu for reverse scans. */
export const WEBGPU_CUMULATIVE_KERNELS = ['Cumsum', 'Cumprod'] as const;

/** Our webgpu `name`: the stock kernel, its reverse scans run forward on the reversed axis. */
export function webgpuCumulativeKernel(name: (typeof WEBGPU_CUMULATIVE_KERNELS)[number]): KernelFunc {
  return compositeKernel('webgpu', (ops, inputs, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
    const x = inputs['x']!;
    if (!reverse || util.sizeFromShape(x.shape) === 0 || x.shape.length === 0) return ops.runStock(name, { x }, attrs);
    const dims = [axis < 0 ? axis + x.shape.length : axis];
    const forward = ops.runStock(name, { x: ops.run('Reverse', { x }, { dims }) }, { axis, exclusive, reverse: false });
    return ops.run('Reverse', { x: forward }, { dims });
  }) as KernelFunc;
}

