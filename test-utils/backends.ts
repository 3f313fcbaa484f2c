/**
 * Backend selection for tests: every test that computes says which backend it runs on.
 * Importing this module registers the training kernels of @sa-unet/tfjs-kernels, so gradient and
 * training tests run on wasm as well as on cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';

registerTrainingKernels();

/** Backends that run forward passes in every test file. */
export const FORWARD_BACKENDS = ['cpu', 'wasm'] as const;
/** Backends that can compute gradients of conv nets (wasm thanks to the training kernels). */
export const TRAINING_BACKENDS = ['cpu', 'wasm'] as const;

export type BackendName = (typeof FORWARD_BACKENDS)[number];

export async function useBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`test setup: backend '${name}' failed to initialise`);
  await tf.ready();
}
