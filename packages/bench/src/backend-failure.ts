/**
 * What to tell a user when a backend fails under the size of the work: the wasm backend's heap is
 * 32-bit (4 GB), and running out of it surfaces deep inside tfjs as a bare wasm trap. After a trap
 * the WebAssembly module is unusable, so its disposal is made inert here, once, for every clean-up
 * that follows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { errorMessage } from './errors.js';

/** What was running when the backend failed, for the message. */
export interface BackendWork {
  /** 'training' (Adam steps) or 'inference' (predictions). */
  activity: 'training' | 'inference';
  /** The model's name. */
  model: string;
  /** Input side in pixels. */
  size: number;
  /** Images per batch. */
  batchSize: number;
  /** The batch size is the command's, not a flag (latency's Adam steps are at batch 4): not advised. */
  fixedBatch?: boolean;
}

/** The wasm heap's limit: 4 GB (a 32-bit address space). */
const WASM_HEAP_LIMIT = 2 ** 32;

/** The wasm backend's heap, in bytes (0 on other backends). */
function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  return (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length ?? 0;
}

/**
 * After a trap every call into the wasm module traps again ("memory access out of bounds"), freeing
 * tensors included, and in a `catch` or `finally` that second trap would replace the error that
 * says what happened. The module is dead: its tensors are let go without calling into it.
 */
function retireTrappedWasm(): void {
  if (tf.getBackend() !== 'wasm') return;
  (tf.backend() as unknown as { disposeData: () => boolean }).disposeData = () => true;
}

/**
 * A step that needs more than the wasm heap fails with "memory access out of bounds" or
 * "Aborted()", or with whatever trap a failed allocation leads to ("divide by zero" was seen) once
 * the heap has grown to its limit. Say what happened and what to change; pass other errors on.
 * `heapBytes`: the wasm heap's size at the failure (measured unless given).
 */
export function explainBackendFailure(err: unknown, work: BackendWork, heapBytes = wasmHeapBytes()): Error {
  const message = errorMessage(err);
  if (err instanceof WebAssembly.RuntimeError) retireTrappedWasm();
  const trapAtFullHeap = err instanceof WebAssembly.RuntimeError && heapBytes >= WASM_HEAP_LIMIT - 2 ** 26;
  if (trapAtFullHeap || /memory access out of bounds|Aborted\(|out of memory|Cannot enlarge memory/i.test(message)) {
    const { activity, model, size, batchSize } = work;
    const smaller = activity === 'inference' ? 'a smaller input size (--size)' : work.fixedBatch ? 'a smaller --size' : 'a smaller --size or --batch-size';
    return new Error(
      `${activity} of ${model} at ${size}x${size}, batch ${batchSize}, ran out of the backend's memory (${message}); ` +
        `the wasm backend is limited to 4 GB: use ${smaller}, or --backend webgpu or tensorflow`,
    );
  }
  return err instanceof Error ? err : new Error(message);
}
