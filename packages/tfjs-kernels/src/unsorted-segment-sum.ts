/**
 * UnsortedSegmentSum for the cpu and wasm backends: the gradient of `tf.gather`, so of an
 * embedding layer. out[s] is the sum of the slices x[i] whose segment id is s, for segment ids
 * shaped as x's leading axes; ids outside [0, numSegments) are dropped, as in TensorFlow. One pass
 * over x, summing in double precision in index order, returned as float32.
 *
 * tfjs-backend-wasm 4.22 has no such kernel, so a model that gathers could not train on wasm
 * ("Kernel 'UnsortedSegmentSum' not registered"). The cpu backend's runs four kernels per segment
 * (an equality mask, a cast, a product with the whole of x, a sum), O(numSegments · x.size): the
 * gradient of a 10,000-word embedding looked up 2,048 times took minutes. For finite inputs ours
 * gives its values bit for bit (it too sums in double precision and rounds once); a NaN or infinity
 * stays in its own segment, where the stock mask products spread NaN (0 · Infinity) to every one.
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo, type backend_util } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from './kernel-ops.js';

/** Our UnsortedSegmentSum kernel (cpu and wasm). */
export function unsortedSegmentSumKernel(): KernelFunc {
  return ((args: KernelArgs) => {
    const { x, segmentIds } = args.inputs as Record<string, TensorInfo>;
    const { numSegments } = args.attrs as unknown as { numSegments: number };
    const backend = args.backend as KernelBackend;
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
    return float32Output(backend, Float32Array.from(sums), [numSegments, ...sliceShape]);
  }) as KernelFunc;
}
