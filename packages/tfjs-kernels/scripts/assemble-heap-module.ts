/**
 * Assembles src/wasm/heap-module.wat with wabt and writes the bytes into src/wasm/heap-module.ts
 * (HEAP_MODULE, and the size its header states). Run after editing the .wat; a test checks that
 * the two agree.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels assemble-heap-module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { assembleHeapModule } from './heap-module-wat.js';

const ts = new URL('../src/wasm/heap-module.ts', import.meta.url);
const bytes = await assembleHeapModule();
const lines: string[] = [];
for (let i = 0; i < bytes.length; i += 24) {
  lines.push('  ' + Array.from(bytes.subarray(i, i + 24), (b) => `0x${b.toString(16).padStart(2, '0')},`).join(' '));
}
const source = readFileSync(ts, 'utf8');
const array = /(export const HEAP_MODULE = new Uint8Array\(\[\n)[^\]]*(\]\);)/;
const size = /a \d+-byte WebAssembly module/;
if (!array.test(source) || !size.test(source)) throw new Error(`${ts.pathname}: no HEAP_MODULE array or size to replace`);
writeFileSync(ts, source.replace(array, `$1${lines.join('\n')}\n$2`).replace(size, `a ${bytes.length}-byte WebAssembly module`));
console.log(`heap-module.ts: ${bytes.length} bytes`);
