/**
 * The heap module's .wat sources assembled with wabt: the bytes that the arrays in src/wasm must
 * hold (the assemble-heap-module script writes them, a test compares).
 */
import { readFileSync } from 'node:fs';
import wabtModule from 'wabt';

/** Each WebAssembly module of the heap module: its source, and the TypeScript file and array that hold its bytes. */
export const HEAP_MODULE_SOURCES = [
  { array: 'HEAP_MODULE', wat: new URL('../src/wasm/heap-module.wat', import.meta.url), ts: new URL('../src/wasm/heap-module.ts', import.meta.url) },
  { array: 'CONV_GRAD_MODULE', wat: new URL('../src/wasm/conv-grad-module.wat', import.meta.url), ts: new URL('../src/wasm/conv-grad-module.ts', import.meta.url) },
] as const;

export async function assembleWat(wat: URL): Promise<Uint8Array> {
  const wabt = await wabtModule();
  return wabt.parseWat(wat.pathname.split('/').pop()!, readFileSync(wat, 'utf8'), { simd: true }).toBinary({}).buffer;
}
