/**
 * MaxPoolWithArgmax for the wasm backend (tf.maxPoolWithArgmax: the pooling indices that SegNet's
 * decoder unpools with). The stock kernel (tfjs-backend-wasm 4.22) starts each window's maximum at
 * the smallest positive float, so a window of negative values gave 1.2e-38 and index 0. Ours finds
 * the maxima as the cpu backend does ({@link windowMaxima}: the first in row-major window order,
 * from -Infinity; -1 for a window without a value) and numbers them as it does:
 * ((b * height + y) * width + x) * channels + c, without the b term unless includeBatchInIndex.
 */
import { backend_util, util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { float32Output, type KernelArgs } from '../kernel-ops.js';
import { planeGeometry, windowMaxima } from '../windows.js';

type Shape4D = [number, number, number, number];

export function wasmMaxPoolWithArgmax(): KernelFunc {
  return (({ inputs, backend, attrs }: KernelArgs) => {
    const { x } = inputs as Record<string, TensorInfo>;
    if (x === undefined) throw new Error('MaxPoolWithArgmax: expected input x');
    const a = attrs ?? {};
    util.assert(x.shape.length === 4, () => `Error in maxPoolWithArgmax: input must be rank 4 but got rank ${x.shape.length}.`);
    const info = backend_util.computePool2DInfo(x.shape as Shape4D, a['filterSize'] as [number, number] | number,
      a['strides'] as [number, number] | number, [1, 1], a['pad'] as 'valid' | 'same' | number);
    const b = backend as KernelBackend;
    const { at, max } = windowMaxima(planeGeometry(info), b.readSync(x.dataId) as Float32Array, 'first');
    const imageSize = info.inHeight * info.inWidth * info.inChannels;
    const indexes = a['includeBatchInIndex'] ? at : at.map((i) => (i < 0 ? i : i % imageSize));
    const values = x.dtype === 'int32' ? { dataId: b.write(Int32Array.from(max), info.outShape, 'int32'), shape: [...info.outShape], dtype: 'int32' as const } : float32Output(b, max, info.outShape);
    return [
      values,
      { dataId: b.write(indexes, info.outShape, 'int32'), shape: [...info.outShape], dtype: 'int32' },
    ];
  }) as unknown as KernelFunc;
}
