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

/** A depthwise filter input [kh, kw, channels, 1] with kh and kw odd, checked; its [kh, kw]. */
export function depthwiseFilterSize(kernel: string, label: string, filter: TensorInfo, channels: number): [number, number] {
  const [kh, kw] = filter.shape as [number, number];
  if (filter.shape.length !== 4 || filter.shape[2] !== channels || filter.shape[3] !== 1 || kh % 2 !== 1 || kw % 2 !== 1) {
    throw new Error(`${kernel}: ${label} must be [kh, kw, ${channels}, 1] with kh and kw odd, got shape [${filter.shape.join(', ')}]`);
  }
  return [kh, kw];
}

/** The `dilation` attribute (default 1), checked to be a positive integer. */
export function dilationAttr(kernel: string, attrs: { dilation?: unknown } | undefined): number {
  const dilation = Number(attrs?.dilation ?? 1);
  if (!Number.isInteger(dilation) || dilation < 1) throw new Error(`${kernel}: dilation must be a positive integer, got ${dilation}`);
  return dilation;
}
