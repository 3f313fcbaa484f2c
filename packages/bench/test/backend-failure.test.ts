/** How a failed training step or prediction is reported: the wasm heap's limit named, other errors passed on as they are. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tflayers from '@tensorflow/tfjs-layers';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrain } from '@sa-unet/bench';
import { explainBackendFailure } from '../src/backend-failure.js';
import { inferenceLatency, predictSamples } from '../src/eval/predict.js';
import type { Sample } from '../src/data/dataset.js';
import { useBackend } from '../../../test-utils/backends.js';

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

/**
 * A wasm module that has trapped is dead: every later call into it traps again, disposing tensors
 * included. Simulated on wasm: once the step fails, the backend's disposeData traps too.
 */
describe('after the backend traps, its cleanup does not hide why', () => {
  const trap = () => new WebAssembly.RuntimeError('memory access out of bounds');
  let restore: Array<() => void> = [];
  afterEach(() => {
    for (const undo of restore.reverse()) undo();
    restore = [];
  });
  /** From `kill()` on, the wasm backend's disposeData traps as a dead module's does. */
  function trappingDisposal(): { kill: () => void } {
    const backend = tf.backend() as unknown as { disposeData: (...args: unknown[]) => boolean };
    const disposeData = backend.disposeData;
    let dead = false;
    backend.disposeData = function (this: unknown, ...args: unknown[]) {
      if (dead) throw trap();
      return disposeData.apply(this, args);
    };
    restore.push(() => { backend.disposeData = disposeData; });
    return { kill: () => { dead = true; } };
  }

  it('predictSamples reports the out-of-memory failure, not the trap of disposing its input', async () => {
    await useBackend('wasm');
    const { kill } = trappingDisposal();
    const dying = { name: 'unet', outputs: [{}], predict: () => { kill(); throw trap(); } } as unknown as tfl.LayersModel;
    const sample: Sample = { name: 'a', image: new Float32Array(16 * 16), mask: new Uint8Array(16 * 16), originalWidth: 16, originalHeight: 16 };
    await expect(predictSamples(dying, [sample], 16, 1)).rejects.toThrow(/^inference of unet at 16x16, batch 1, ran out of the backend's memory/);
  });

  it('the train command reports it too (its step, its batch, its model and its --init model are disposed after it), and writes nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bench-trap-'));
    try {
      const init = join(root, 'init');
      const small = { model: 'sa-unet', size: 16, epochs: 1, baseFilters: 4, phantomCount: 4, batchSize: 2, quiet: true, backend: 'wasm' } as const;
      await runTrain({ ...small, out: init });
      const { kill } = trappingDisposal();
      const trainOnBatch = tflayers.LayersModel.prototype.trainOnBatch;
      tflayers.LayersModel.prototype.trainOnBatch = () => { kill(); throw trap(); };
      restore.push(() => { tflayers.LayersModel.prototype.trainOnBatch = trainOnBatch; });
      const out = join(root, 'model');
      await expect(runTrain({ ...small, init, out }))
        .rejects.toThrow(/^training of \w+ at 16x16, batch 2, ran out of the backend's memory \(memory access out of bounds\); the wasm backend is limited to 4 GB/);
      expect(existsSync(out)).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
