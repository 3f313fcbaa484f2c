/**
 * Dispatches as Dawn sees them (GPUComputePassEncoder.dispatchWorkgroups calls, whoever records
 * them), for the GPU scripts: tf.profile's kernel calls also count reshapes and kernels that
 * dispatch nothing, and miss the programs our kernels and fusedAdam record themselves.
 */
export interface DispatchCounter {
  /** Dispatches since the last reset (0 where Dawn's classes are not loaded). */
  readonly count: number;
  reset(): void;
}

/** Starts counting; call after the webgpu backend is set up (the `webgpu` package defines the class). */
export function countDispatches(): DispatchCounter {
  let count = 0;
  const proto = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => unknown } } })
    .GPUComputePassEncoder?.prototype;
  if (proto !== undefined) {
    const dispatch = proto.dispatchWorkgroups;
    proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
      count++;
      return dispatch.apply(this, a);
    };
  }
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
