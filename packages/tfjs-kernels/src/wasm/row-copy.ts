/**
 * Rows of 4-byte values copied inside the wasm backend's heap by a 188-byte WebAssembly module of
 * ours (src/wasm/row-copy.wat) that imports tfjs-backend-wasm's memory: one call copies every row,
 * 16 bytes per SIMD load and store, where JavaScript loops over the values one by one or calls
 * `copyWithin` once per row. Concatenating the scale-attentional layer's four stages of 4 to 16
 * channels, and splitting them again in its gradient, is such a copy of many short rows (measured
 * on the 2-core development machine, four [1,128,128,8] along the channels: 0.36 ms of copying
 * here, 1.14 ms for the whole JavaScript Concat kernel).
 *
 * Where the module cannot run (no WebAssembly SIMD, the threaded build's shared memory, a page that
 * forbids compiling WebAssembly, a backend that keeps its memory elsewhere), {@link heapRowCopy}
 * gives null and the kernels copy in JavaScript as before: the same values either way.
 */
import type { KernelBackend } from '@tensorflow/tfjs-core';

/** The module's bytes, assembled from row-copy.wat by wabt 1.0.39 (`parseWat(..., { simd: true }).toBinary({})`). */
export const ROW_COPY_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x02, 0x10, 0x01, 0x04,
  0x74, 0x66, 0x6a, 0x73, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0c, 0x01, 0x08, 0x63, 0x6f,
  0x70, 0x79, 0x52, 0x6f, 0x77, 0x73, 0x00, 0x00, 0x0a, 0x81, 0x01, 0x01, 0x7f, 0x01, 0x02, 0x7f, 0x20, 0x03, 0x41, 0x70, 0x71, 0x21, 0x07, 0x02,
  0x40, 0x03, 0x40, 0x20, 0x02, 0x45, 0x0d, 0x01, 0x41, 0x00, 0x21, 0x06, 0x02, 0x40, 0x03, 0x40, 0x20, 0x06, 0x20, 0x07, 0x4f, 0x0d, 0x01, 0x20,
  0x01, 0x20, 0x06, 0x6a, 0x20, 0x00, 0x20, 0x06, 0x6a, 0xfd, 0x00, 0x00, 0x00, 0xfd, 0x0b, 0x00, 0x00, 0x20, 0x06, 0x41, 0x10, 0x6a, 0x21, 0x06,
  0x0c, 0x00, 0x0b, 0x0b, 0x02, 0x40, 0x03, 0x40, 0x20, 0x06, 0x20, 0x03, 0x4f, 0x0d, 0x01, 0x20, 0x01, 0x20, 0x06, 0x6a, 0x20, 0x00, 0x20, 0x06,
  0x6a, 0x28, 0x00, 0x00, 0x36, 0x00, 0x00, 0x20, 0x06, 0x41, 0x04, 0x6a, 0x21, 0x06, 0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x00, 0x20, 0x04, 0x6a, 0x21,
  0x00, 0x20, 0x01, 0x20, 0x05, 0x6a, 0x21, 0x01, 0x20, 0x02, 0x41, 0x01, 0x6b, 0x21, 0x02, 0x0c, 0x00, 0x0b, 0x0b, 0x0b,]);

/**
 * Copies `rows` rows of `length` 4-byte values: row r from heap index `from + r * fromStride` to
 * `to + r * toStride` (indices and strides in values, into the heap seen as 4-byte values).
 */
export type RowCopy = (from: number, to: number, rows: number, length: number, fromStride: number, toStride: number) => void;

/** What this file reads of tfjs-backend-wasm's emscripten module: its exports, the memory among them. */
interface WasmModuleExports {
  wasm?: { asm?: { memory?: unknown } };
}

/** One copier per heap: a backend registered again gets a module, and a memory, of its own. */
const copiers = new WeakMap<WebAssembly.Memory, RowCopy | null>();

let moduleAllowed = true;

/**
 * Whether the kernels may use the module (default true); false makes them copy in JavaScript, as
 * where it cannot run. For tests and benchmarks of both ways; not part of the package's API.
 */
export function useRowCopyModule(allowed: boolean): void {
  moduleAllowed = allowed;
}

/** The row copier of the wasm backend `backend`, or null where the module cannot (or may not) run there. */
export function heapRowCopy(backend: KernelBackend): RowCopy | null {
  if (!moduleAllowed) return null;
  const memory = (backend as unknown as WasmModuleExports).wasm?.asm?.memory;
  if (typeof WebAssembly === 'undefined' || !(memory instanceof WebAssembly.Memory)) return null;
  let copier = copiers.get(memory);
  if (copier === undefined) {
    copier = instantiate(memory);
    copiers.set(memory, copier);
  }
  return copier;
}

function instantiate(memory: WebAssembly.Memory): RowCopy | null {
  // The threaded build's memory is shared, which a module must import as shared: not this one.
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  if (!WebAssembly.validate(ROW_COPY_MODULE)) return null; // no SIMD
  try {
    // Synchronous: the module is far below the 4 KB browsers allow on their main thread.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(ROW_COPY_MODULE), { tfjs: { memory } });
    const copyRows = instance.exports['copyRows'] as (src: number, dst: number, rows: number, bytes: number, srcStride: number, dstStride: number) => void;
    return (from, to, rows, length, fromStride, toStride) => copyRows(from * 4, to * 4, rows, length * 4, fromStride * 4, toStride * 4);
  } catch {
    return null; // e.g. a Content-Security-Policy without 'wasm-unsafe-eval'
  }
}
