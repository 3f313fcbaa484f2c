/**
 * SplitV (tf.split, and so the gradient of every concatenation) in one webgpu dispatch. The stock
 * kernel slices x once per part, a dispatch each: a U-Net's decoder concatenations cost 8 in a
 * training step, U-Net++'s 30. Here one shader copies every value of x into its part, bit for bit
 * (any 4-byte dtype), for 2 to 7 parts (x and the parts bound as storage buffers: at most 8, WebGPU's
 * default limit); other splits, empty parts, and small tensors still on the CPU go to the stock
 * kernel.
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { gridStrideWorkgroups, WORKGROUP } from './grid.js';
import type { KernelArgs } from '../kernel-ops.js';
import { requireStockKernel } from '../registry-state.js';
import { recordIntoNew, type RecordedShader, type RecordingBackend } from './recorded-dispatch.js';

/** The most parts one dispatch writes: x and the parts within 8 storage buffers. */
export const MAX_SPLIT_PARTS = 7;

/**
 * Copies x [outer, axisSize, inner] into `parts` outputs along the middle axis: part k takes rows
 * ends[k - 1] .. ends[k] - 1 (ends in the uniforms). Bound: x, part0, part1, ..., uniforms.
 */
function splitShader(parts: number): RecordedShader {
  const ends = Array.from({ length: parts }, (_, k) => `end${k} : i32,`).join(' ');
  const branches = Array.from({ length: parts }, (_, k) => {
    const begin = k === 0 ? '0' : `uniforms.end${k - 1}`;
    return `${k === 0 ? '' : 'else '}if (a < uniforms.end${k}) {
      let rows = uniforms.end${k} - ${begin};
      part${k}[(outer * rows + a - ${begin}) * uniforms.inner + r] = x[i];
    }`;
  }).join(' ');
  return {
    key: `saunet_split_${parts}`,
    code: () => `
struct Uniforms { size : i32, threads : i32, axisSize : i32, inner : i32, ${ends} };
@group(0) @binding(0) var<storage, read> x : array<u32>;
${Array.from({ length: parts }, (_, k) => `@group(0) @binding(${k + 1}) var<storage, read_write> part${k} : array<u32>;`).join('\n')}
@group(0) @binding(${parts + 1}) var<uniform> uniforms : Uniforms;

@compute @workgroup_size(${WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  for (var i = i32(id.x); i < uniforms.size; i += uniforms.threads) {
    let r = i % uniforms.inner;
    let a = (i / uniforms.inner) % uniforms.axisSize;
    let outer = i / (uniforms.inner * uniforms.axisSize);
    ${branches}
  }
}
`,
  };
}

export function webgpuSplitV(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'];
  const b = backend as RecordingBackend;
  const stock = () => requireStockKernel('SplitV', 'webgpu').kernelFunc(args as never) as TensorInfo[];
  if (x === undefined || x.dtype === 'complex64' || x.dtype === 'string' || b.tensorMap.get(x.dataId)?.dtype !== x.dtype) return stock();
  const { numOrSizeSplits, axis } = (attrs ?? {}) as { numOrSizeSplits: number[] | number; axis: number | number[] };
  let sizes: number[];
  let $axis: number;
  try {
    $axis = util.parseAxisParam(axis, x.shape)[0]!;
    sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
  } catch {
    return stock(); // the stock kernel's own error
  }
  const size = util.sizeFromShape(x.shape);
  if (sizes.length < 2 || sizes.length > MAX_SPLIT_PARTS || sizes.some((s) => s <= 0) || size === 0 || b.shouldExecuteOnCPU([x])) return stock();
  const inner = util.sizeFromShape(x.shape.slice($axis + 1));
  let end = 0;
  const ends = sizes.map((s) => (end += s));
  const workgroups = gridStrideWorkgroups(size);
  return recordIntoNew(b, splitShader(sizes.length), [x], sizes.map((s) => x.shape.map((d, i) => (i === $axis ? s : d))),
    [size, workgroups * WORKGROUP, x.shape[$axis]!, inner, ...ends].map((v) => ({ type: 'int32', data: [v] })), [workgroups, 1, 1], x.dtype);
}
