/**
 * What a {@link WebGPUReplay} cannot see in the GPU commands it records, told by the code that
 * records them: storage written in place, uniforms that change at every call, and CPU state that
 * each call advances (an optimizer's step count). Outside a recording, `replayNotes()` is null and
 * nothing is noted.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';

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
