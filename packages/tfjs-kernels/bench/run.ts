/**
 * Adam step (batch 4) of two small nets, stock tfjs cpu kernels vs ours on cpu and on wasm,
 * measured in one run with tinybench. Stock wasm cannot train them (no Conv2DBackpropFilter).
 *
 *   pnpm --filter @sa-unet/tfjs-kernels bench [--size 128] [--skip-stock-cpu] [--out results.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Bench } from 'tinybench';
import { registerTrainingKernels, unregisterTrainingKernels } from '../src/index.js';
import { plainConvNet, scaleCascadeNet } from './models.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '128' },
    'skip-stock-cpu': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const size = Number(values.size);
if (!Number.isInteger(size) || size < 8) throw new Error(`--size must be an integer >= 8, got ${values.size}`);

interface Config {
  name: string;
  backend: 'cpu' | 'wasm';
  ours: boolean;
  iterations: number;
  warmup: number;
}
const configs: Config[] = [
  ...(values['skip-stock-cpu'] ? [] : [{ name: 'stock cpu', backend: 'cpu', ours: false, iterations: 1, warmup: 0 } as Config]),
  { name: 'ours cpu', backend: 'cpu', ours: true, iterations: 2, warmup: 1 },
  { name: 'ours wasm', backend: 'wasm', ours: true, iterations: 10, warmup: 2 },
];
const workloads: Record<string, (size: number) => tfl.LayersModel> = {
  'plain conv net (8 x conv3x3, 32 filters)': plainConvNet,
  'scale cascade net (4 x [1x1 + 3 separable 3x3], 32 wide)': scaleCascadeNet,
};

const results: Array<{ workload: string; config: string; medianMs: number; samples: number }> = [];
for (const [workload, build] of Object.entries(workloads)) {
  for (const config of configs) {
    await tf.setBackend(config.backend);
    if (config.ours) registerTrainingKernels();
    else unregisterTrainingKernels();
    const model = build(size);
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
    const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 1);
    const y = tf.cast(tf.greater(tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 2), 0.7), 'float32');
    const bench = new Bench({ name: `${workload} / ${config.name}`, iterations: config.iterations, time: 0,
      warmup: config.warmup > 0, warmupIterations: config.warmup, warmupTime: 0 });
    bench.add(config.name, async () => {
      await model.trainOnBatch(x, y);
    });
    process.stderr.write(`${workload} / ${config.name} at ${size}x${size} ...\n`);
    await bench.run();
    const result = bench.tasks[0].result as { latency?: { p50: number; samplesCount?: number } };
    const medianMs = result.latency?.p50 ?? NaN;
    results.push({ workload, config: config.name, medianMs, samples: config.iterations });
    process.stderr.write(`  median ${medianMs.toFixed(0)} ms\n`);
    tf.dispose([x, y]);
    model.dispose();
  }
}
registerTrainingKernels();

const lines = [
  `Adam step, batch 4, ${size}x${size}x1 (median ms; ratio = stock cpu / this)`,
  '',
  '| workload | ' + configs.map((c) => c.name).join(' | ') + ' |',
  '|---|' + configs.map(() => '---|').join(''),
];
for (const workload of Object.keys(workloads)) {
  const row = results.filter((r) => r.workload === workload);
  const stock = row.find((r) => r.config === 'stock cpu')?.medianMs;
  lines.push(`| ${workload} | ` + row.map((r) => {
    const ratio = stock !== undefined && r.config !== 'stock cpu' ? ` (${(stock / r.medianMs).toFixed(0)}x)` : '';
    return `${r.medianMs >= 100 ? r.medianMs.toFixed(0) : r.medianMs.toFixed(1)}${ratio}`;
  }).join(' | ') + ' |');
}
console.log(lines.join('\n'));
if (values.out) writeFileSync(values.out, JSON.stringify({ size, date: new Date().toISOString(), node: process.version, results }, null, 2));
