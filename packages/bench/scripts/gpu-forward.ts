/**
 * Forward latency at batch 1 with this package's kernels, with them but the scale-attentional
 * stages' depthwise and 1x1 convolutions as two stock kernels instead of SaUnetSeparableConv2D
 * ('ours, two-kernel stages'), and with stock tfjs-webgpu, measured in alternating rounds so that
 * the order of measurement cannot pass for a difference of kernels; plus the GPU time of one
 * forward pass by kernel, and the round trip of reading one value back. For the GPU machine,
 * tested on lavapipe first:
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-forward --size 256 --out $OUT/forward.json
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { SEPARABLE_CONV_KERNEL, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';
import { inferenceLatency } from '../src/eval/predict.js';
import { timeCalls } from '../src/eval/timing.js';
import { profileForward } from './kernel-totals.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '256' },
  runs: { type: 'string', default: '50' },
  rounds: { type: 'string', default: '2' },
  out: { type: 'string' },
} });
const size = Number(values.size);
const runs = Number(values.runs);

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

const models = { unet: buildModel('unet', { size, baseFilters: 32 }, 1), 'sa-unet': buildModel('sa-unet', { size, baseFilters: 32 }, 1) };
const latency: Array<Record<string, unknown>> = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const kernels of ['ours', 'ours, two-kernel stages', 'stock'] as const) {
    if (kernels === 'stock') unregisterTrainingKernels();
    else registerTrainingKernels();
    if (kernels === 'ours, two-kernel stages') tf.unregisterKernel(SEPARABLE_CONV_KERNEL, 'webgpu');
    for (const [name, model] of Object.entries(models)) {
      const inference = await inferenceLatency(model, size, 1, 5, runs);
      latency.push({ round, kernels, model: name, ...inference });
      console.log(`round ${round} ${kernels} ${name}: forward ${inference.medianMs.toFixed(2)} ms (p90 ${inference.p90Ms.toFixed(2)})`);
    }
  }
}

// The GPU time by kernel, with this package's kernels (the rounds end on stock ones).
registerTrainingKernels();
const profiles: Record<string, unknown> = {};
for (const [name, model] of Object.entries(models)) {
  const { kernels, gpuMs, totals: top } = await profileForward(model, size);
  profiles[name] = { kernels, gpuMs, top: top.slice(0, 8) };
  console.log(`${name} forward: ${kernels} kernels, ${gpuMs.toFixed(2)} ms of GPU time; ` +
    top.slice(0, 5).map((k) => `${k.kernel} ${k.ms.toFixed(2)} ms x${k.calls}`).join(', '));
}

const one = tf.tidy(() => tf.relu(tf.ones([1024])));
const readback = await timeCalls(async () => {
  const t0 = performance.now();
  const y = tf.add(one, one);
  await y.data();
  y.dispose();
  return performance.now() - t0;
}, 5, 50);
one.dispose();
console.log(`one op and its read-back: median ${readback.medianMs.toFixed(3)} ms (p90 ${readback.p90Ms.toFixed(3)})`);
if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), size, runs, adapter, latency, profiles, readback }, null, 2));
