/**
 * What a {@link WebGPUReplay} cannot see in the GPU commands it records, told by the code that
 * records them: storage written in place, uniforms that change at every call, and CPU state that
 * each call advances (an optimizer's step count). Outside a recording, `replayNotes()` is null and
 * nothing is noted.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { RecordingBackend } from './recorded-dispatch.js';

/** Uniform values as tfjs-backend-webgpu's makeUniforms takes them. */
export type UniformValues = Array<{ type: string; data: number[] }>;

export interface ReplayNotes {
  /**
   * `t`'s storage is overwritten in place by commands recorded now (an optimizer's update, a batch
   * norm's moving averages): a replay writes it again, so it must be one of the replay's variables,
   * and a replay runs only while nothing else shares that storage (as the in-place code itself
   * required when recording).
   */
  writesInPlace(t: TensorInfo): void;
  /**
   * The uniform buffer `buffer` (one makeUniforms made for a dispatch recorded now) holds values
   * that each call computes anew: a replay writes `values()` into its copy, in the order of the
   * notes.
   */
  uniformsFrom(buffer: GPUBuffer, values: () => UniformValues): void;
  /** CPU work each call does besides its GPU commands (advancing a step count): a replay runs it, in the order of the notes. */
  eachReplay(redo: () => void): void;
}

let active: ReplayNotes | null = null;

/** The notes of the recording in progress, or null. */
export function replayNotes(): ReplayNotes | null {
  return active;
}

/** Runs `fn` with `notes` as the active notes (recordings do not nest). */
export function withReplayNotes<T>(notes: ReplayNotes, fn: () => T): T {
  const before = active;
  active = notes;
  try {
    return fn();
  } finally {
    active = before;
  }
}

/**
 * Whether the given tensor alone uses its storage, on the GPU as a buffer: safe to overwrite in
 * place. Its values cached on the CPU are dropped: tfjs-backend-webgpu keeps what a read (`data()`,
 * a model's save) returned and serves it to every later read, so after an update in place that copy
 * would be stale (a second save would write the weights of the first).
 */
export function ownsStorage(gpu: RecordingBackend, t: TensorInfo): boolean {
  if (gpu.refCount(t.dataId) !== 1) return false;
  gpu.uploadToGPU(t.dataId);
  const data = gpu.tensorMap.get(t.dataId);
  if (!(data?.resource instanceof GPUBuffer)) return false;
  data.values = null;
  return true;
}
