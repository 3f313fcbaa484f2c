/** src/wasm/heap-module.wat assembled with wabt: the bytes HEAP_MODULE must hold (the assemble-heap-module script writes them, a test compares). */
import { readFileSync } from 'node:fs';
import wabtModule from 'wabt';

export const HEAP_MODULE_WAT = new URL('../src/wasm/heap-module.wat', import.meta.url);

export async function assembleHeapModule(): Promise<Uint8Array> {
  const wabt = await wabtModule();
  return wabt.parseWat('heap-module.wat', readFileSync(HEAP_MODULE_WAT, 'utf8'), { simd: true }).toBinary({}).buffer;
}
