/**
 * Assembles the heap module's .wat sources (src/wasm/heap-module.wat, conv-grad-module.wat) with
 * wabt and writes the bytes into their TypeScript files (HEAP_MODULE, CONV_GRAD_MODULE, and the size
 * each file's header states). Run after editing a .wat; a test checks that they agree.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels assemble-heap-module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { assembleWat, HEAP_MODULE_SOURCES } from './heap-module-wat.js';

for (const { array: name, wat, ts } of HEAP_MODULE_SOURCES) {
  const bytes = await assembleWat(wat);
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) {
    lines.push('  ' + Array.from(bytes.subarray(i, i + 24), (b) => `0x${b.toString(16).padStart(2, '0')},`).join(' '));
  }
  const source = readFileSync(ts, 'utf8');
  const array = new RegExp(`(export const ${name} = new Uint8Array\\(\\[\\n)[^\\]]*(\\]\\);)`);
  const size = /a \d+-byte WebAssembly module/;
  if (!array.test(source) || !size.test(source)) throw new Error(`${ts.pathname}: no ${name} array or size to replace`);
  writeFileSync(ts, source.replace(array, `$1${lines.join('\n')}\n$2`).replace(size, `a ${bytes.length}-byte WebAssembly module`));
  console.log(`${ts.pathname.split('/').pop()}: ${bytes.length} bytes`);
}
