/**
 * Activation gradients in one webgpu dispatch each, with tfjs-core's values bit for bit:
 * - ReLU's: tfjs-core's is dy * step(x), a Step kernel writing a full-size tensor that a Multiply
 *   then reads (two dispatches per ReLU of a training step); here one program computes the same
 *   product, NaN where x is NaN as Step gives.
 * - Sigmoid's: tfjs-core's is dy * (y * (1 - y)) for the output y, three dispatches (Sub, two
 *   Multiply); here one, the same operations in the same order.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { gridStride, gridStrideProgram } from './grid.js';
import { requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { checkActivationGradInputs, RELU_GRAD_KERNEL, SIGMOID_GRAD_KERNEL } from '../own-kernels.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

// step(x) as tfjs-webgpu's Step computes it (NaN stays NaN), then the product.
const RELU_PRODUCT = `let v = x[i];
          var s = select(0.0, 1.0, v > 0.0);
          if (isnan(v)) {
            s = v;
          }
          result[i] = dy[i] * s;`;

// tfjs-core's mul(dy, mul(y, sub(1, y))), rounded after each operation as the three kernels are.
const SIGMOID_PRODUCT = `let v = y[i];
          let s = v * (1.0 - v);
          result[i] = dy[i] * s;`;

/** The kernel function of the gradient `kernel`: inputs dy and `input`, checked, one program. */
function gradKernel(kernel: string, input: string, key: string, product: string) {
  return ({ inputs, backend }: KernelArgs): TensorInfo => {
    const [dy, x] = requireInputs(kernel, inputs, ['dy', input]) as [TensorInfo, TensorInfo];
    checkActivationGradInputs(kernel, dy, x, input);
    const size = util.sizeFromShape(x.shape);
    const grid = gridStride(size);
    const out = (backend as WebGPUBackendInternals).runWebGPUProgram(gridStrideProgram(key, ['dy', input], size, product), [dy, x], 'float32', grid.uniforms);
    return withShape(out, x.shape);
  };
}

export const webgpuReluGrad = gradKernel(RELU_GRAD_KERNEL, 'x', 'saunet_reluGrad', RELU_PRODUCT);
export const webgpuSigmoidGrad = gradKernel(SIGMOID_GRAD_KERNEL, 'y', 'saunet_sigmoidGrad', SIGMOID_PRODUCT);
