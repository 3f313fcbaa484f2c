/**
 * ResizeBilinearGrad for the cpu backend: the stock kernel with its result's shape corrected.
 *
 * tfjs-backend-cpu 4.22 computes the gradient of a bilinear resize in the images' layout
 * [batch, height, width, channels] but labels it [batch, width, height, channels], so the gradient
 * of any non-square resize fails tfjs-core's shape check ("The gradient of input 'images' has
 * shape '2,4,2,1', which does not match the shape of the input '2,2,4,1'"): an Attention U-Net
 * (whose gates upsample bilinearly) could not train on non-square images on cpu. The values are
 * right, so the shape is all that changes.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel } from '../registry-state.js';
import type { KernelArgs } from '../kernel-ops.js';

/** Our cpu ResizeBilinearGrad: the stock kernel's values, in the shape of the images. */
export function cpuResizeBilinearGrad(): KernelFunc {
  return ((args: KernelArgs) => {
    const stock = stockKernel('ResizeBilinearGrad', 'cpu');
    if (stock === undefined) throw new Error('@sa-unet/tfjs-kernels: no stock cpu kernel ResizeBilinearGrad to wrap');
    const out = stock.kernelFunc(args as never) as TensorInfo;
    const images = (args.inputs as Record<string, TensorInfo>)['images'];
    return images === undefined ? out : { ...out, shape: [...images.shape] };
  }) as KernelFunc;
}
