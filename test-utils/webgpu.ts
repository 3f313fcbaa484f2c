/**
 * WebGPU in Node for tests: Dawn's `navigator.gpu` (through @sa-unet/tfjs-kernels'
 * setupNodeWebGPU) and tfjs-backend-webgpu where an adapter exists (in CI, Mesa's lavapipe), and
 * the skip-or-fail policy: without an adapter a file's webgpu tests skip with a message, unless
 * SA_UNET_REQUIRE_WEBGPU=1 (set by CI), where the file's adapter test fails instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { REDUCTION_LAYOUT, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';

export const webgpuRequired = process.env.SA_UNET_REQUIRE_WEBGPU === '1';

/**
 * Sets WebGPU up for a test file whose webgpu tests are `what`, and declares the test that an
 * adapter exists where one is required; returns whether one exists (for `describe.runIf`).
 */
export async function nodeWebGPU(what: string): Promise<boolean> {
  const adapter = await setupNodeWebGPU();
  if (adapter) await import('@tensorflow/tfjs-backend-webgpu');
  else if (!webgpuRequired) console.warn(`${what} skipped: no WebGPU adapter (run ../shared/gpu/lavapipe.sh for Vulkan on the CPU)`);
  describe(`a WebGPU adapter for ${what}`, () => {
    it.runIf(webgpuRequired)('exists where SA_UNET_REQUIRE_WEBGPU=1', () => {
      expect(adapter).toBe(true);
    });
  });
  return adapter;
}

/** `run()` on the active backend (webgpu), with the shader key of every program it runs, in order. */
export async function recordShaderKeys<T>(run: () => Promise<T>): Promise<{ result: T; keys: string[] }> {
  const backend = tf.backend() as unknown as { runWebGPUProgram: (program: { shaderKey: string }, ...rest: unknown[]) => unknown };
  const original = backend.runWebGPUProgram;
  const keys: string[] = [];
  backend.runWebGPUProgram = (program, ...rest) => {
    keys.push(program.shaderKey);
    return original.call(backend, program, ...rest);
  };
  try {
    return { result: await run(), keys };
  } finally {
    backend.runWebGPUProgram = original;
  }
}

export { countDispatches } from './dispatches.js';

/**
 * A float32 tensor sharing `t`'s int32 storage on webgpu, as the stock Cast makes one (for kernels
 * that must read such storage right; registerTrainingKernels' Cast writes float32 storage instead).
 */
export function intStoredFloat(t: tf.Tensor): tf.Tensor {
  (tf.backend() as unknown as { incRef(dataId: object): void }).incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo({ dataId: t.dataId, shape: [...t.shape], dtype: 'float32' });
}

/** The dtype of a tensor's storage on the webgpu backend (int32 for a float32 tensor cast by the stock Cast). */
export function storageDtype(t: tf.Tensor): string | undefined {
  return (tf.backend() as unknown as { tensorMap: { get(id: object): { dtype: string } | undefined } }).tensorMap.get(t.dataId)?.dtype;
}

/** Puts the tensors' values in GPU storage now (tfjs uploads CPU-side values only when a program first reads them). */
export function onGPU(...ts: tf.Tensor[]): void {
  const backend = tf.backend() as unknown as { uploadToGPU(dataId: object): void };
  for (const t of ts) backend.uploadToGPU(t.dataId);
}

/**
 * `fn` with @sa-unet/tfjs-kernels' REDUCTION_LAYOUT set to 'serial' (the layout the H200 measured
 * on 2026-12-04, kept for the GPU scripts' comparison), and 'parallel' again after, also when it fails.
 */
export async function inSerialLayout<T>(fn: () => T | Promise<T>): Promise<T> {
  REDUCTION_LAYOUT.current = 'serial';
  try {
    return await fn();
  } finally {
    REDUCTION_LAYOUT.current = 'parallel';
  }
}
