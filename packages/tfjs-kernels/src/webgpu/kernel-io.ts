/** Inputs and outputs of this package's own webgpu kernels. */
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

/** The named inputs, in order; an Error naming the kernel and the first one missing. */
export function requireInputs(kernel: string, inputs: NamedTensorInfoMap, names: readonly string[]): TensorInfo[] {
  return names.map((name) => {
    const t = inputs[name];
    if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
    return t;
  });
}

/** A program's (flat) output seen with `shape`: the same buffer, as a reshape would give it. */
export function withShape(t: TensorInfo, shape: readonly number[]): TensorInfo {
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
}
