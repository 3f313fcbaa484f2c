/**
 * Speed of the distance-based and ROC metrics (tinybench, medians).
 *   pnpm --filter @sa-unet/seg-metrics bench
 */
import { Bench } from 'tinybench';
import { evaluate, hausdorffDistance, rocAuc, type ImageArray } from '../src/index.js';

function disc(size: number, cy: number, cx: number, r: number): ImageArray {
  const data = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) data[y * size + x] = 1;
  return { data, width: size, height: size };
}

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);

const size = 512;
const nerveTruth = disc(size, 250, 260, 40);
const nervePred = disc(size, 255, 250, 44);
const bigTruth = disc(size, 256, 256, 200);
const bigPred = disc(size, 240, 270, 190);
const noisyTruth = { data: Uint8Array.from({ length: size * size }, () => (rand() < 0.3 ? 1 : 0)), width: size, height: size };
const noisyPred = { data: Uint8Array.from({ length: size * size }, () => (rand() < 0.3 ? 1 : 0)), width: size, height: size };
const million = 1000 * 1000;
const scores = { data: Float32Array.from({ length: million }, () => rand()), width: 1000, height: 1000 };
const labels = { data: Uint8Array.from(scores.data, (s) => (rand() < 0.2 + 0.6 * s ? 1 : 0)), width: 1000, height: 1000 };
const tiedScores = { ...scores, data: Float32Array.from(scores.data, (s) => Math.round(s * 255) / 255) };
const probability = { data: Float32Array.from(nerveTruth.data, (v) => 0.7 * v + 0.3 * rand()), width: size, height: size };

const bench = new Bench({ time: 2000, warmupTime: 300 });
bench
  .add('hausdorff 512x512, nerve-sized discs (r 40)', () => hausdorffDistance(nervePred, nerveTruth))
  .add('hausdorff 512x512, large discs (r 200)', () => hausdorffDistance(bigPred, bigTruth))
  .add('hausdorff 512x512, 30% random pixels (worst case)', () => hausdorffDistance(noisyPred, noisyTruth))
  .add('HD95 512x512, large discs', () => hausdorffDistance(bigPred, bigTruth, { percentile: 95 }))
  .add('rocAuc 1M pixels, distinct scores', () => rocAuc(scores, labels))
  .add('rocAuc 1M pixels, 256 score levels (ties)', () => rocAuc(tiedScores, labels))
  .add('evaluate one 512x512 image (all metrics)', () => evaluate([probability], [nerveTruth]));
await bench.run();
console.log(`Node ${process.version}; median ms (samples)\n`);
console.log('| task | median ms | samples |\n|---|---|---|');
for (const task of bench.tasks) {
  const r = task.result as { latency?: { p50: number; samplesCount?: number }; samples?: number[] };
  console.log(`| ${task.name} | ${r.latency?.p50.toFixed(2)} | ${r.latency?.samplesCount ?? ''} |`);
}
