/**
 * The filter of a Conv2D input gradient's convolution on webgpu in one dispatch: the forward filter
 * [fh, fw, c, o] rotated 180 degrees with its channel axes swapped, [fh, fw, o, c]. Composed, a
 * gather of the taps in reverse and a transpose take two dispatches, and a dispatch costs tfjs and
 * Dawn about 0.05 ms of CPU time on a GPU machine whatever its size (22 3x3 filters in a U-Net step).
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { gridStride, gridStrideProgram } from './grid.js';
import { withShape } from './kernel-io.js';
import type { WebGPUBackendInternals } from './backend-internals.js';

// result[t, j, c] = weights[taps - 1 - t, c, j] (t a tap, c an input channel, j an output one);
// 'filter' is a reserved word in WGSL.
const FLIP = `let perTap = uniforms.inChannels * uniforms.outChannels;
          let t = i / perTap;
          let r = i - t * perTap;
          let j = r / uniforms.inChannels;
          let c = r - j * uniforms.inChannels;
          result[i] = weights[(uniforms.taps - 1 - t) * perTap + c * uniforms.outChannels + j];`;

/** filter [fh, fw, c, o] (float32) -> [fh, fw, o, c], rotated 180 degrees, channel axes swapped. */
export function webgpuFlippedFilter(backend: KernelBackend, filter: TensorInfo): TensorInfo {
  const [fh, fw, c, o] = filter.shape as [number, number, number, number];
  const size = fh * fw * c * o;
  const grid = gridStride(size);
  const program = gridStrideProgram('saunet_flippedFilter', ['weights'], size, FLIP, 'taps : i32, inChannels : i32, outChannels : i32,');
  const out = (backend as WebGPUBackendInternals).runWebGPUProgram(program, [filter], 'float32', [
    ...grid.uniforms,
    { type: 'int32', data: [fh * fw] },
    { type: 'int32', data: [c] },
    { type: 'int32', data: [o] },
  ]);
  return withShape(out, [fh, fw, o, c]);
}
