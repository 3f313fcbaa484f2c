/**
 * Backend selection for tests: every test that computes says which backend it runs on.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** Backends that run forward passes in every test file. */
export const FORWARD_BACKENDS = ['cpu', 'wasm'] as const;
/** Backends that can compute gradients of conv nets. */
export const TRAINING_BACKENDS = ['cpu'] as const;

export type BackendName = (typeof FORWARD_BACKENDS)[number];

export async function useBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`test setup: backend '${name}' failed to initialise`);
  await tf.ready();
}
