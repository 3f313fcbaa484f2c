/**
 * Where the wall time of a WebGPU training step goes outside the GPU kernels (a diagnostic for
 * the GPU machine, tested on lavapipe first). Wraps Dawn's API methods with call counters and
 * timers, and times the phases of one Adam step separately:
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-overhead --size 256 --out $OUT/overhead.json
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import { selectBackend } from '../src/backend.js';
import { buildModel } from '../src/commands/run-model.js';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: '256' },
  repeats: { type: 'string', default: '3' },
  models: { type: 'string', default: 'unet,sa-unet' },
  out: { type: 'string' },
} });
const size = Number(values.size);
const repeats = Number(values.repeats);

const { description: adapter } = await selectBackend('webgpu'); // Dawn, our kernels; a clear error without an adapter

// Dawn API accounting: calls and synchronous ms per method.
const calls = new Map<string, { calls: number; ms: number }>();
const wrapped: Record<string, string[]> = {
  GPUDevice: ['createBuffer', 'createBindGroup', 'createCommandEncoder'],
  GPUQueue: ['submit', 'writeBuffer'],
  GPUBuffer: ['destroy', 'mapAsync', 'getMappedRange', 'unmap'],
  GPUCommandEncoder: ['beginComputePass', 'copyBufferToBuffer', 'finish'],
  GPUComputePassEncoder: ['setPipeline', 'setBindGroup', 'dispatchWorkgroups', 'end'],
};
for (const [cls, methods] of Object.entries(wrapped)) {
  const proto = (globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>)[cls]?.prototype;
  if (proto === undefined) continue;
  for (const m of methods) {
    const original = proto[m] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    const key = `${cls}.${m}`;
    proto[m] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const e = calls.get(key) ?? { calls: 0, ms: 0 };
        e.calls++;
        e.ms += performance.now() - t0;
        calls.set(key, e);
      }
    };
  }
}

const backend = tf.backend() as unknown as { uploadToGPU(id: object): void; tensorMap: Map<object, { values: unknown; resource: unknown }> };
let uploads = 0;
const upload = backend.uploadToGPU.bind(backend);
backend.uploadToGPU = (id: object) => {
  const d = backend.tensorMap.get(id);
  if (d !== undefined && d.resource == null && d.values != null) uploads++;
  upload(id);
};

interface Phase { phase: string; wallMs: number; cpuMs: number; uploads: number; dawn: Record<string, { calls: number; ms: number }> }

async function measure(phase: string, fn: () => Promise<void>): Promise<Phase> {
  const results: Phase[] = [];
  for (let r = 0; r < repeats; r++) {
    calls.clear();
    uploads = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    results.push({ phase, wallMs, cpuMs: (c.user + c.system) / 1000, uploads, dawn: Object.fromEntries(calls) });
  }
  results.sort((a, b) => a.wallMs - b.wallMs);
  return results[Math.floor(results.length / 2)]!;
}

function show(model: string, p: Phase): void {
  const top = Object.entries(p.dawn).sort((a, b) => b[1].ms - a[1].ms).slice(0, 6)
    .map(([k, v]) => `${k} ${v.ms.toFixed(1)}ms/${v.calls}`).join(', ');
  console.log(`${model} ${p.phase}: wall ${p.wallMs.toFixed(1)} ms, process cpu ${p.cpuMs.toFixed(0)} ms, uploads ${p.uploads}; ${top}`);
}

const rows: Array<{ model: string; phases: Phase[] }> = [];
for (const name of values.models.split(',') as Array<'unet' | 'sa-unet'>) {
  const model = buildModel(name, { size, baseFilters: 32 }, 1);
  model.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const x = tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.8), 'float32'));
  for (let i = 0; i < 2; i++) await model.trainOnBatch(x, y); // compile every pipeline
  const optimizer = fusedAdam(5e-4);
  const phases: Phase[] = [];
  phases.push(await measure('trainOnBatch', async () => { await model.trainOnBatch(x, y); }));
  phases.push(await measure('forward batch 4 (inference)', async () => {
    const p = model.predict(x) as tf.Tensor;
    await p.data();
    p.dispose();
  }));
  phases.push(await measure('loss and gradients', async () => {
    const { value, grads } = tf.variableGrads(() => diceLoss(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    await value.data();
    const last = Object.values(grads).at(-1)!;
    await last.data();
    tf.dispose([value, ...Object.values(grads)]);
  }));
  const { value, grads } = tf.variableGrads(() => diceLoss(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  value.dispose();
  const firstVar = model.trainableWeights[0]!.read();
  phases.push(await measure('Adam applyGradients (fusedAdam)', async () => {
    optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
    await firstVar.data();
  }));
  tf.dispose(Object.values(grads));
  optimizer.dispose();
  model.optimizer?.dispose();
  model.dispose();
  tf.dispose([x, y]);
  for (const p of phases) show(name, p);
  rows.push({ model: name, phases });
}

// Per-op cost without any upload: 500 chained adds on GPU tensors, then per-upload cost: 500 scalars.
const a = tf.randomUniform([1024], 0, 1, 'float32', 1);
const b = tf.randomUniform([1024], 0, 1, 'float32', 2);
await a.data();
const micro: Phase[] = [];
micro.push(await measure('500 adds, no uploads', async () => {
  let t = a;
  for (let i = 0; i < 500; i++) { const n = tf.add(t, b); if (t !== a) t.dispose(); t = n; }
  await t.data();
  t.dispose();
}));
micro.push(await measure('500 adds, each with a fresh scalar', async () => {
  let t = a;
  for (let i = 0; i < 500; i++) { const s = tf.scalar(0.5); const n = tf.add(t, s); s.dispose(); if (t !== a) t.dispose(); t = n; }
  await t.data();
  t.dispose();
}));
for (const p of micro) show('micro', p);
tf.dispose([a, b]);
if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), size, adapter, rows, micro }, null, 2));
