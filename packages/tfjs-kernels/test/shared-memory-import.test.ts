/**
 * The heap modules for tfjs-backend-wasm's threaded build, whose memory is shared: their memory
 * import rewritten as shared (withSharedMemoryImport), they link to a shared memory, which the
 * modules as built cannot, and compute there what they compute in an unshared one, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { CONV_GRAD_MODULE } from '../src/wasm/conv-grad-module.js';
import { HEAP_MODULE } from '../src/wasm/heap-module.js';
import { withSharedMemoryImport } from '../src/wasm/shared-memory-import.js';
import { seededRandom } from '../../../test-utils/numeric.js';

const shared = () => new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
const unshared = () => new WebAssembly.Memory({ initial: 1 });

type Exports = Record<string, (...args: number[]) => void>;
const instance = (bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory) =>
  new WebAssembly.Instance(new WebAssembly.Module(bytes), { tfjs: { memory } }).exports as Exports;

describe('withSharedMemoryImport', () => {
  it.each([['HEAP_MODULE', HEAP_MODULE], ['CONV_GRAD_MODULE', CONV_GRAD_MODULE]] as const)('%s: links to a shared memory, which the module as built cannot; an unshared module and a rewritten one are left as they are', (_, bytes) => {
    expect(() => instance(bytes, shared())).toThrow(WebAssembly.LinkError);
    const rewritten = withSharedMemoryImport(bytes);
    expect(WebAssembly.validate(rewritten)).toBe(true);
    expect(rewritten.length).toBe(bytes.length + 3); // the flags say shared, and a maximum of 65536 pages (3 bytes) follows the minimum
    expect(() => instance(rewritten, shared())).not.toThrow();
    expect(withSharedMemoryImport(rewritten)).toBe(rewritten);
    expect(WebAssembly.Module.exports(new WebAssembly.Module(rewritten))).toEqual(WebAssembly.Module.exports(new WebAssembly.Module(bytes)));
  });

  it('the rewritten modules compute in shared memory what the modules as built compute in unshared memory, bit for bit (a transpose and a 1x1 filter gradient)', () => {
    const results = [[HEAP_MODULE, CONV_GRAD_MODULE, unshared()], [withSharedMemoryImport(HEAP_MODULE), withSharedMemoryImport(CONV_GRAD_MODULE), shared()]].map(([heap, conv, memory]) => {
      const m = memory as WebAssembly.Memory;
      const [h, c] = [instance(heap as Uint8Array<ArrayBuffer>, m), instance(conv as Uint8Array<ArrayBuffer>, m)];
      const f32 = new Float32Array(m.buffer);
      const random = seededRandom(5);
      // x: 70 rows of 6 channels at 0, dy: 70 rows of 8 at 1024, results from 4096 on (byte addresses 4x)
      for (let i = 0; i < 70 * 6; i++) f32[i] = random() * 2 - 1;
      for (let i = 0; i < 70 * 8; i++) f32[1024 + i] = random() * 2 - 1;
      h['transpose']!(0, 4096 * 4, 70, 6);
      c['pointwiseFilterGrad']!(0, 1024 * 4, 8192 * 4, 70, 6, 8);
      return [Array.from(new Int32Array(m.buffer, 4096 * 4, 420)), Array.from(new Int32Array(m.buffer, 8192 * 4, 48))];
    });
    expect(results[1]![0]).toEqual(results[0]![0]);
    expect(results[1]![1]).toEqual(results[0]![1]);
    expect(new Set(results[0]![1]).size).toBeGreaterThan(40); // sums, not zeros
  });
});
