/**
 * UnsortedSegmentSum for the wasm backend, which has none in tfjs 4.22. It is the gradient of
 * `tf.gather` (so of an embedding layer): without it a model that gathers cannot train on wasm
 * ("Kernel 'UnsortedSegmentSum' not registered"). out[s] is the sum of the slices x[i] whose
 * segment id is s, for segment ids shaped as x's leading axes; ids outside [0, numSegments) are
 * dropped, as in TensorFlow. Sums run in double precision, in index order, and are returned as
 * float32, as the cpu backend's kernel returns them: for finite inputs its values bit for bit.
 */
import { util, type KernelFunc, type TensorInfo, type backend_util } from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../kernel-ops.js';
import type { WasmBackendInternals } from './backend-internals.js';

export function wasmUnsortedSegmentSum(): KernelFunc {
  return ((args: KernelArgs) => {
    const { x, segmentIds } = args.inputs as Record<string, TensorInfo>;
    const { numSegments } = args.attrs as unknown as { numSegments: number };
    const backend = args.backend as WasmBackendInternals;
    const idsShape = segmentIds!.shape;
    util.assert(idsShape.length <= x!.shape.length && idsShape.every((d, i) => d === x!.shape[i]),
      () => `UnsortedSegmentSum: the shape of segmentIds, [${idsShape.join(', ')}], must be that of x's leading axes (x: [${x!.shape.join(', ')}])`);
    const sliceShape = x!.shape.slice(idsShape.length);
    const inner = util.sizeFromShape(sliceShape);
    const ids = backend.readSync(segmentIds!.dataId) as backend_util.TypedArray;
    const values = backend.readSync(x!.dataId) as backend_util.TypedArray;
    const sums = new Float64Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const segment = ids[i]!;
      if (segment < 0 || segment >= numSegments) continue;
      const from = i * inner;
      const to = segment * inner;
      for (let j = 0; j < inner; j++) sums[to + j]! += values[from + j]!;
    }
    const out = backend.makeOutput([numSegments, ...sliceShape], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).set(sums);
    return out;
  }) as KernelFunc;
}
