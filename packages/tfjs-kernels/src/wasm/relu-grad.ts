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
import { RELU_GRAD_KERNEL } from '../webgpu/activation-grads.js';
import { requireInputs } from '../webgpu/kernel-io.js';
import type { WasmBackendInternals } from './backend-internals.js';
import { heapModule } from './heap-module.js';

export function wasmReluGrad({ inputs, backend }: KernelArgs): TensorInfo {
  const [dy, x] = requireInputs(RELU_GRAD_KERNEL, inputs, ['dy', 'x']) as [TensorInfo, TensorInfo];
  for (const [label, t] of [['dy', dy], ['x', x]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${RELU_GRAD_KERNEL}: ${label} must be float32, got ${t.dtype}`);
  }
  if (dy.shape.join() !== x.shape.join()) {
    throw new Error(`${RELU_GRAD_KERNEL}: dy must have x's shape [${x.shape.join(', ')}], got [${dy.shape.join(', ')}]`);
  }
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
  const at = (t: TensorInfo) => b.typedArrayFromHeap(t).byteOffset / 4;
  heap.reluGrad(at(dy), at(x), at(out), util.sizeFromShape(x.shape));
  return out;
}
