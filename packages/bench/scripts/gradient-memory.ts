/**
 * SA-U-Net's Adam step (batch 4, fusedAdam, dice loss) with the layer's gradient keeping its
 * intermediates, recomputing them, and 'auto' (on wasm: keeping for small layer calls), alternating in one run: median step time and the peak of
 * tensor bytes above the model's during a step. Runs on wasm, cpu and webgpu (lavapipe or a GPU).
 *   npx tsx scripts/gradient-memory.ts [--backend wasm] [--size 128] [--base-filters 32] [--rounds 3] [--steps 3]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { setGradientMemoryMode, type GradientMemoryMode } from '@sa-unet/scale-attn-conv';
import { diceLoss, percentile } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend, type BackendChoice } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';

const { values } = parseArgs({ options: {
  backend: { type: 'string', default: 'wasm' },
  size: { type: 'string', default: '128' },
  'base-filters': { type: 'string', default: '32' },
  rounds: { type: 'string', default: '3' },
  steps: { type: 'string', default: '3' },
} });
const size = Number(values.size);
await selectBackend(values.backend as BackendChoice);

const model = buildModel('sa-unet', { size, baseFilters: Number(values['base-filters']) }, 1);
model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
await model.trainOnBatch(x, y); // warm-up: optimizer state, pipelines

const modes: GradientMemoryMode[] = ['recompute', 'keep', 'auto'];
const times = new Map<GradientMemoryMode, number[]>(modes.map((m) => [m, []]));
const peaks = new Map<GradientMemoryMode, number>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of modes) {
    setGradientMemoryMode(mode);
    if (round === 0) {
      // One profiled step per mode for the peak (profiling slows the kernels: not timed).
      const before = tf.memory().numBytes;
      const info = await tf.profile(async () => { await model.trainOnBatch(x, y); });
      peaks.set(mode, info.peakBytes - before);
    }
    for (let s = 0; s < Number(values.steps); s++) {
      const t0 = performance.now();
      await model.trainOnBatch(x, y);
      times.get(mode)!.push(performance.now() - t0);
    }
  }
}
const median = (v: number[]) => percentile(Float64Array.from(v), 50);
const [recompute, keep, auto] = modes.map((m) => median(times.get(m)!));
console.log(`SA-U-Net ${size}x${size}, base ${values['base-filters']}, ${values.backend}, Adam step at batch 4 (median of ${times.get('keep')!.length}):`);
for (const mode of modes) console.log(`  ${mode}: ${median(times.get(mode)!).toFixed(0)} ms, peak ${(peaks.get(mode)! / 2 ** 20).toFixed(0)} MB above the model`);
console.log(`  keep is ${(recompute! / keep!).toFixed(2)}x as fast, with ${(peaks.get('keep')! / peaks.get('recompute')!).toFixed(2)}x the peak`);
console.log(`  auto is ${(recompute! / auto!).toFixed(2)}x as fast, with ${(peaks.get('auto')! / peaks.get('recompute')!).toFixed(2)}x the peak`);
tf.dispose([x, y]);
model.optimizer.dispose();
model.dispose();
