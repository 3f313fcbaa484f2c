/**
 * Cast of int32 and bool tensors to float32 on webgpu, into float32 storage. The stock kernel
 * shares the input's int32 storage under the float32 dtype (no copy: "no encoding loss"), and
 * tfjs's own programs then read that input as int32: Conv2D's matrix-product shader does not even
 * compile for it ("no matching constructor for vec3<f32>(i32, i32, i32)"), and the invalid dispatch
 * takes the rest of its submit batch down with it (zeros, or stale values of a pooled buffer, for
 * every program recorded with it). So `tf.conv2d(tf.cast(image, 'float32'), ...)` of an int32
 * image, as tf.browser.fromPixels gives one, gave wrong results. Here the cast writes float32
 * values (one dispatch; on the CPU for values not yet uploaded); every other cast goes to the stock
 * kernel.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { gridStride, gridStrideProgram } from './grid.js';
import { withShape } from './kernel-io.js';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

export function webgpuCast(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'];
  const b = backend as WebGPUBackendInternals;
  const size = x === undefined ? 0 : util.sizeFromShape(x.shape);
  if (x === undefined || (attrs as { dtype?: unknown } | undefined)?.dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool') || size === 0) {
    return requireStockKernel('Cast', 'webgpu').kernelFunc(args as never) as TensorInfo;
  }
  // Values only on the CPU (not yet uploaded): float32 values there, uploaded as float32 when used.
  const data = b.tensorMap.get(x.dataId);
  if (data?.resource == null && data?.values != null) return b.makeTensorInfo([...x.shape], 'float32', Float32Array.from(data.values));
  const grid = gridStride(size);
  const out = b.runWebGPUProgram(gridStrideProgram('saunet_toFloat', ['x'], size, 'result[i] = f32(x[i]);'), [x], 'float32', grid.uniforms);
  return withShape(out, x.shape);
}
