/**
 * How much a short run's test DSC depends on batch normalization's statistics. For every
 * checkpoint of a `compare` results folder, the mean test DSC (threshold 0.5, the run's own test
 * split, batches of 4) with
 * - the moving statistics the checkpoint saved (what `compare` reports),
 * - each test batch's own statistics (training-mode BN; weights untouched),
 * - moving statistics re-estimated with the final weights: three passes over the training images
 *   in training mode (no shear, no weight update) before predicting as usual.
 * Run from the repository root, on the results of a phantom or --data run:
 *   pnpm exec tsx --tsconfig tsconfig.json packages/bench/scripts/bn-statistics.ts bench-results/<run>
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { dice } from '@sa-unet/seg-metrics';
import { averageDeepSupervision } from '@sa-unet/unet-zoo';
import { selectBackend } from '../src/backend.js';
import { loadRunData } from '../src/commands/data.js';
import { readFinishedComparison } from '../src/commands/finished.js';
import { completedConfig, runDataOptions } from '../src/commands/resume.js';
import type { RunConfig } from '../src/report/results.js';
import type { Sample } from '../src/data/dataset.js';
import { stackImages } from '../src/train/batches.js';

const run = process.argv[2];
if (run === undefined) throw new Error('usage: bn-statistics.ts <compare results folder>');
const config = completedConfig((await readFinishedComparison(run, 'bn-statistics.ts')).config, 'quick') as RunConfig;
const { size } = config;
await selectBackend('wasm');
const { split } = await loadRunData({ ...runDataOptions(config), quiet: true });

async function meanTestDice(net: tfl.LayersModel, training: boolean): Promise<number> {
  let total = 0;
  for (let i = 0; i < split.test.length; i += 4) {
    const batch = split.test.slice(i, i + 4);
    const x = stackImages(batch, size);
    const y = net.apply(x, { training }) as tf.Tensor;
    const maps = await y.data();
    tf.dispose([x, y]);
    batch.forEach((s: Sample, k) => {
      total += dice({ data: maps.subarray(k * size * size, (k + 1) * size * size), width: size, height: size }, { data: s.mask, width: size, height: size });
    });
  }
  return total / split.test.length;
}

console.log(`test DSC of ${run} (${split.test.length} test images, ${size}x${size})\n`);
console.log('| model, repeat | moving statistics (reported) | each batch\'s statistics | re-estimated moving statistics |');
console.log('|---|---:|---:|---:|');
for (const model of await readdir(join(run, 'checkpoints'))) {
  for (const repeat of (await readdir(join(run, 'checkpoints', model))).sort()) {
    // Training-mode calls update the moving statistics: a fresh copy for each measurement.
    const load = async () => averageDeepSupervision(await tfl.loadLayersModel(fileSystem(join(run, 'checkpoints', model, repeat))));
    const moving = await meanTestDice(await load(), false);
    const ownBatch = await meanTestDice(await load(), true);
    const net = await load();
    for (let pass = 0; pass < 3; pass++) {
      for (let i = 0; i + 4 <= split.train.length; i += 4) {
        const x = stackImages(split.train.slice(i, i + 4), size);
        tf.dispose([x, net.apply(x, { training: true }) as tf.Tensor]);
      }
    }
    const reestimated = await meanTestDice(net, false);
    console.log(`| ${model}, ${repeat} | ${moving.toFixed(3)} | ${ownBatch.toFixed(3)} | ${reestimated.toFixed(3)} |`);
  }
}
