/**
 * The filter of a Conv2D input gradient's convolution on webgpu in one dispatch: the forward filter
 * [fh, fw, c, o] rotated 180 degrees with its channel axes swapped, [fh, fw, o, c]. Composed, a
 * gather of the taps in reverse and a transpose take two dispatches, and a dispatch costs tfjs and
 * Dawn about 0.05 ms of CPU time on a GPU machine whatever its size (22 3x3 filters in a U-Net step).
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { gridStride, WORKGROUP } from './grid.js';
import { withShape } from './kernel-io.js';
import type { WebGPUBackendInternals, WebGPUProgramSpec } from './backend-internals.js';

function flippedFilterProgram(size: number, workgroups: number): WebGPUProgramSpec {
  return {
    outputShape: [size],
    shaderKey: 'saunet_flippedFilter',
    dispatchLayout: { x: [0] },
    dispatch: [workgroups, 1, 1],
    variableNames: ['weights'], // 'filter' is a reserved word in WGSL
    uniforms: 'size : i32, threads : i32, taps : i32, inChannels : i32, outChannels : i32,',
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      // A flat dispatch layout: tfjs passes the global index, the start of this thread's grid stride.
      fn main(index : i32) {
        let perTap = uniforms.inChannels * uniforms.outChannels;
        for (var k = index; k < uniforms.size; k += uniforms.threads) {
          // result[t, j, i] = weights[taps - 1 - t, i, j] (t a tap, i an input channel, j an output one)
          let t = k / perTap;
          let r = k - t * perTap;
          let j = r / uniforms.inChannels;
          let i = r - j * uniforms.inChannels;
          result[k] = weights[(uniforms.taps - 1 - t) * perTap + i * uniforms.outChannels + j];
        }
      }
    `,
  };
}

/** filter [fh, fw, c, o] (float32) -> [fh, fw, o, c], rotated 180 degrees, channel axes swapped. */
export function webgpuFlippedFilter(backend: KernelBackend, filter: TensorInfo): TensorInfo {
  const [fh, fw, c, o] = filter.shape as [number, number, number, number];
  const size = fh * fw * c * o;
  const grid = gridStride(size);
  const out = (backend as WebGPUBackendInternals).runWebGPUProgram(flippedFilterProgram(size, grid.workgroups), [filter], 'float32', [
    ...grid.uniforms,
    { type: 'int32', data: [fh * fw] },
    { type: 'int32', data: [c] },
    { type: 'int32', data: [o] },
  ]);
  return withShape(out, [fh, fw, o, c]);
}
