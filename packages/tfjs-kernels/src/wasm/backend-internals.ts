/**
 * The parts of tfjs-backend-wasm 4.x's BackendWasm that this package's wasm code calls: outputs
 * in the wasm heap, views of a tensor's values there, shared storage and the heap's memory.
 * Declared once here, since the backend's class is not part of its typed public API.
 */
import type { KernelBackend, TensorInfo, backend_util } from '@tensorflow/tfjs-core';

export interface WasmBackendInternals extends KernelBackend {
  /** A new tensor's storage in the heap (allocating may grow, and so detach, the heap). */
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  /** A view of t's values in the heap: take it after the last allocation. */
  typedArrayFromHeap(t: TensorInfo): backend_util.TypedArray;
  incRef(dataId: object): void;
  /**
   * The emscripten module: its exports hold the heap's WebAssembly.Memory, except in the threaded
   * build, which imports a shared one (the module's `wasmMemory`).
   */
  wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown };
}

/** Where t's values start in the wasm heap, counted in values of their width (take it after the last allocation). */
export function heapStart(backend: WasmBackendInternals, t: TensorInfo): number {
  const values = backend.typedArrayFromHeap(t);
  return values.byteOffset / values.BYTES_PER_ELEMENT;
}
