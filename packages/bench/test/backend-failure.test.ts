/** How a failed training step is reported: the wasm heap's limit named, other errors passed on as they are. */
import { describe, expect, it } from 'vitest';
import { explainBackendFailure } from '../src/train/trainer.js';

const GB = 2 ** 30;

describe('explainBackendFailure', () => {
  it.each<[string, unknown, number]>([
    ['wasm\'s "memory access out of bounds"', new WebAssembly.RuntimeError('memory access out of bounds'), 1 * GB],
    ['emscripten\'s "Aborted()"', new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'), 4 * GB],
    ['another wasm trap once the heap has reached 4 GB (a failed allocation)', new WebAssembly.RuntimeError('divide by zero'), 4 * GB],
  ])('%s: ran out of the backend\'s memory, with what to change', (_, err, heapBytes) => {
    const explained = explainBackendFailure(err, 'sa-unet', 256, 4, heapBytes);
    expect(explained.message).toMatch(/^training sa-unet at 256x256, batch 4, ran out of the backend's memory \(/);
    expect(explained.message).toContain((err as Error).message);
    expect(explained.message).toMatch(/limited to 4 GB: use a smaller --size or --batch-size, or --backend webgpu or tensorflow$/);
  });

  it.each<[string, unknown, number]>([
    ['a wasm trap with room left in the heap (a bug, not memory)', new WebAssembly.RuntimeError('divide by zero'), 1 * GB],
    ['a JavaScript error at a full heap', new TypeError('x is undefined'), 4 * GB],
  ])('%s: passed on unchanged', (_, err, heapBytes) => {
    expect(explainBackendFailure(err, 'unet', 64, 4, heapBytes)).toBe(err);
  });

  it('a thrown non-Error becomes an Error with its text', () => {
    expect(explainBackendFailure('boom', 'unet', 64, 4, 0).message).toBe('boom');
  });
});
