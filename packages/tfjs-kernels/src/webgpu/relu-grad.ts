/**
 * ReLU's gradient in one webgpu dispatch. tfjs-core's is dy * step(x): a Step kernel writes a
 * full-size tensor that a Multiply then reads, two dispatches per ReLU of a training step (22 of
 * each in a U-Net step). Here one program computes the same product, NaN where x is NaN as Step
 * gives, so the values are tfjs-core's bit for bit.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { gridStride, WORKGROUP } from './grid.js';
import { requireInputs, withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import type { WebGPUBackendInternals, WebGPUProgramSpec } from './backend-internals.js';

/**
 * Name of the ReLU-gradient kernel this package registers for webgpu: inputs { dy, x } (float32,
 * one shape) -> dy * step(x), x's shape (1 dispatch instead of 2). tfjs has no such kernel; the
 * gradient of Relu that {@link registerTrainingKernels} registers uses it where the backend has it.
 */
export const RELU_GRAD_KERNEL = 'SaUnetReluGrad';

function reluGradProgram(size: number, workgroups: number): WebGPUProgramSpec {
  return {
    outputShape: [size],
    shaderKey: 'saunet_reluGrad',
    dispatchLayout: { x: [0] },
    dispatch: [workgroups, 1, 1],
    variableNames: ['dy', 'x'],
    uniforms: 'size : i32, threads : i32,',
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        for (var i = index; i < uniforms.size; i += uniforms.threads) {
          let v = x[i];
          // step(x) as tfjs-webgpu's Step computes it (NaN stays NaN), then the product.
          var s = select(0.0, 1.0, v > 0.0);
          if (isnan(v)) {
            s = v;
          }
          result[i] = dy[i] * s;
        }
      }
    `,
  };
}

export function webgpuReluGrad({ inputs, backend }: KernelArgs): TensorInfo {
  const [dy, x] = requireInputs(RELU_GRAD_KERNEL, inputs, ['dy', 'x']) as [TensorInfo, TensorInfo];
  for (const [label, t] of [['dy', dy], ['x', x]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${RELU_GRAD_KERNEL}: ${label} must be float32, got ${t.dtype}`);
  }
  if (dy.shape.join() !== x.shape.join()) {
    throw new Error(`${RELU_GRAD_KERNEL}: dy must have x's shape [${x.shape.join(', ')}], got [${dy.shape.join(', ')}]`);
  }
  const size = x.shape.reduce((a, b) => a * b, 1);
  const grid = gridStride(size);
  const out = (backend as WebGPUBackendInternals).runWebGPUProgram(reluGradProgram(size, grid.workgroups), [dy, x], 'float32', grid.uniforms);
  return withShape(out, x.shape);
}
