/** How a failed training step or prediction is reported: the wasm heap's limit named, other errors passed on as they are. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainBackendFailure } from '../src/backend-failure.js';
import { inferenceLatency, predictSamples } from '../src/eval/predict.js';
import type { Sample } from '../src/data/dataset.js';

const GB = 2 ** 30;
const training = { activity: 'training', model: 'sa-unet', size: 256, batchSize: 4 } as const;

describe('explainBackendFailure', () => {
  it.each<[string, unknown, number]>([
    ['wasm\'s "memory access out of bounds"', new WebAssembly.RuntimeError('memory access out of bounds'), 1 * GB],
    ['emscripten\'s "Aborted()"', new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'), 4 * GB],
    ['another wasm trap once the heap has reached 4 GB (a failed allocation)', new WebAssembly.RuntimeError('divide by zero'), 4 * GB],
  ])('%s: ran out of the backend\'s memory, with what to change', (_, err, heapBytes) => {
    const explained = explainBackendFailure(err, training, heapBytes);
    expect(explained.message).toMatch(/^training of sa-unet at 256x256, batch 4, ran out of the backend's memory \(/);
    expect(explained.message).toContain((err as Error).message);
    expect(explained.message).toMatch(/limited to 4 GB: use a smaller --size or --batch-size, or --backend webgpu or tensorflow$/);
  });

  it('inference names the activity and advises a smaller input size', () => {
    const err = new WebAssembly.RuntimeError('memory access out of bounds');
    expect(explainBackendFailure(err, { activity: 'inference', model: 'unet', size: 2048, batchSize: 1 }, 4 * GB).message).toBe(
      'inference of unet at 2048x2048, batch 1, ran out of the backend\'s memory (memory access out of bounds); ' +
        'the wasm backend is limited to 4 GB: use a smaller input size (--size), or --backend webgpu or tensorflow');
  });

  it.each<[string, unknown, number]>([
    ['a wasm trap with room left in the heap (a bug, not memory)', new WebAssembly.RuntimeError('divide by zero'), 1 * GB],
    ['a JavaScript error at a full heap', new TypeError('x is undefined'), 4 * GB],
  ])('%s: passed on unchanged', (_, err, heapBytes) => {
    expect(explainBackendFailure(err, training, heapBytes)).toBe(err);
  });

  it('a thrown non-Error becomes an Error with its text', () => {
    expect(explainBackendFailure('boom', training, 0).message).toBe('boom');
  });
});

describe('a prediction that runs out of memory', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  // A model whose predict fails as the wasm backend does when its heap is exhausted.
  const failing = {
    name: 'unet',
    outputs: [{}],
    predict: () => { throw new WebAssembly.RuntimeError('memory access out of bounds'); },
  } as unknown as tfl.LayersModel;
  const sample: Sample = { name: 'a', image: new Float32Array(16 * 16), mask: new Uint8Array(16 * 16), originalWidth: 16, originalHeight: 16 };

  it('predictSamples says which model, size and batch, and frees its input', async () => {
    const before = tf.memory().numTensors;
    await expect(predictSamples(failing, [sample, sample], 16, 2))
      .rejects.toThrow(/^inference of unet at 16x16, batch 2, ran out of the backend's memory \(memory access out of bounds\)/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('inferenceLatency says the same, and frees its input', async () => {
    const before = tf.memory().numTensors;
    await expect(inferenceLatency(failing, 16, 1, 1, 1)).rejects.toThrow(/^inference of unet at 16x16, batch 1, ran out/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
