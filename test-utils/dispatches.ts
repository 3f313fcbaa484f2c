/**
 * Counting WebGPU compute dispatches, in Node tests and in the browser test pages alike (no test
 * framework imported here, so that pages bundled for the browser can use it).
 */

/** `run()` on the active backend (webgpu), with the number of compute dispatches it recorded (tfjs's programs and ours alike). */
export function countDispatches<T>(run: () => T): { result: T; dispatches: number } {
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: unknown[]) => unknown } } })
    .GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let dispatches = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    dispatches++;
    return original.apply(this, a);
  };
  try {
    return { result: run(), dispatches };
  } finally {
    proto.dispatchWorkgroups = original;
  }
}
