/**
 * `compare` on WebGPU (in CI: Mesa's lavapipe), the path of the paper preset on a GPU: it trains
 * with @sa-unet/tfjs-kernels' webgpu kernels, reads results back asynchronously, saves checkpoints
 * and writes the results folder, and its training follows the wasm run of the same seed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { runCompare } from '@sa-unet/bench';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the bench\'s compare on webgpu');
let root: string | undefined;
afterAll(() => (root ? rm(root, { recursive: true, force: true }) : undefined));

describe.runIf(adapter)('compare on webgpu', () => {
  it('writes the whole results folder, leaks nothing, and trains as wasm does from the same seed', async () => {
    root = await mkdtemp(join(tmpdir(), 'bench-webgpu-'));
    const options = { models: 'unet,sa-unet', size: 32, epochs: 1, baseFilters: 8, phantomCount: 8, quiet: true, workers: 1 };
    const wasm = await runCompare({ ...options, out: join(root, 'wasm'), backend: 'wasm' });
    const before = tf.memory().numTensors;
    const gpu = await runCompare({ ...options, out: join(root, 'webgpu'), backend: 'webgpu' });
    expect(tf.getBackend()).toBe('webgpu');
    expect(tf.memory().numTensors).toBe(before);
    expect((await readdir(join(root, 'webgpu'))).sort()).toEqual(['checkpoints', 'config.json', 'images.csv', 'loss.svg', 'overlays', 'results.json', 'roc.svg', 'runs', 'table.csv', 'table.md']);
    expect((await readdir(join(root, 'webgpu', 'checkpoints', 'sa-unet', 'repeat-1'))).sort()).toEqual(['model.json', 'weights.bin']);
    for (const [i, m] of gpu.results.models.entries()) {
      const [loss] = m.repeats[0]!.epochLosses;
      const [wasmLoss] = wasm.results.models[i]!.repeats[0]!.epochLosses;
      // The same seeded weights, batches and shears; float32 sums in another order.
      expect(Math.abs(loss! - wasmLoss!), `${m.model}: webgpu ${loss}, wasm ${wasmLoss}`).toBeLessThan(1e-4);
      expect(m.inference.medianMs).toBeGreaterThan(0);
      expect(Number.isFinite(m.repeats[0]!.metrics.hausdorff)).toBe(true);
    }
  }, 300_000);
});
