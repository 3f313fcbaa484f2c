/**
 * ReLU's gradient on wasm in one pass of the heap module (src/wasm/heap-module.wat), under the
 * name {@link RELU_GRAD_KERNEL}, which the gradient of Relu that registerTrainingKernels()
 * registers uses where a backend has it: tfjs-core's dy * step(x) takes a Step, a Cast (a copy, on
 * wasm) and a Multiply, three passes over a full-size tensor per ReLU and training step. The
 * values are theirs: step is 1 where x > 0, NaN where x is NaN (the stock Step keeps it), else 0,
 * and the product is one float32 multiplication. Where the module cannot run, the stock Step and
 * Multiply are composed here.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelOps, type KernelArgs } from '../kernel-ops.js';
import { checkActivationGradInputs, RELU_GRAD_KERNEL } from '../own-kernels.js';
import { requireInputs } from '../webgpu/kernel-io.js';
import { heapStart, type WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

export function wasmReluGrad({ inputs, backend }: KernelArgs): TensorInfo {
  const [dy, x] = requireInputs(RELU_GRAD_KERNEL, inputs, ['dy', 'x']) as [TensorInfo, TensorInfo];
  checkActivationGradInputs(RELU_GRAD_KERNEL, dy, x, 'x');
  const b = backend as WasmBackendInternals;
  const heap = heapModule(b);
  if (heap === null) {
    const ops = new KernelOps(b, 'wasm');
    try {
      return ops.finish(ops.run('Multiply', { a: dy, b: ops.run('Step', { x }, { alpha: 0 }) }));
    } catch (err) {
      ops.dispose();
      throw err;
    }
  }
  const out = b.makeOutput([...x.shape], 'float32');
  heap.reluGrad(heapStart(b, dy), heapStart(b, x), heapStart(b, out), util.sizeFromShape(x.shape));
  return out;
}
