/**
 * The webgpu bind group cache (src/webgpu/bind-group-cache.ts): on stand-ins of the backend's
 * device and buffer pool, which bind groups it reuses and which it makes anew, its capacity, the
 * order its free lists hand buffers out, and that turning it off puts tfjs's methods back; on Dawn
 * (in CI on Mesa's lavapipe; skipped with a message where no adapter exists, unless
 * SA_UNET_REQUIRE_WEBGPU=1), that a small conv net's repeated forward passes create no bind group
 * after the first, and that its predictions and training are the same bit for bit with the cache
 * on and off.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BIND_GROUP_CACHE_CAPACITY, BIND_GROUP_CACHE_FLAG, bindGroupCacheStats, cacheBindGroups, fusedAdam, registerTrainingKernels, uncacheBindGroups,
} from '@sa-unet/tfjs-kernels';
import { nodeWebGPU } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the bind group cache tests');

/** A stand-in for a GPU buffer: what the cache and the pool read of one. */
function buffer(size: number, usage = 128): GPUBuffer {
  return { size, usage } as GPUBuffer;
}

/** A stand-in for tfjs-backend-webgpu's backend: a device that counts bind groups made, and its buffer pool (tfjs 4.x's free lists, last in first out). */
function fakeBackend() {
  const made: GPUBindGroupDescriptor[] = [];
  const layoutsAsked: number[] = [];
  const pipeline = (_descriptor?: GPUComputePipelineDescriptor) => ({ getBindGroupLayout: (i: number) => (layoutsAsked.push(i), { index: i }) }) as unknown as GPUComputePipeline;
  const device = {
    createBindGroup(descriptor: GPUBindGroupDescriptor) {
      made.push(descriptor);
      return { made: made.length } as unknown as GPUBindGroup;
    },
    createComputePipeline: pipeline,
    createComputePipelineAsync: async (descriptor?: GPUComputePipelineDescriptor) => pipeline(descriptor),
  };
  const freeBuffers = new Map<string, GPUBuffer[]>();
  const bufferManager = {
    freeBuffers,
    releaseBuffer(b: GPUBuffer, reuse = true) {
      if (!reuse) return;
      const key = `${b.size}_${b.usage}`;
      if (!freeBuffers.has(key)) freeBuffers.set(key, []);
      freeBuffers.get(key)!.push(b);
    },
    acquire(size: number, usage = 128): GPUBuffer | undefined {
      return freeBuffers.get(`${size}_${usage}`)?.pop();
    },
  };
  const backend = { device, bufferManager, pipelineCache: { existing: pipeline() } as Record<string, GPUComputePipeline> };
  return { backend: backend as unknown as tf.KernelBackend & typeof backend, made, layoutsAsked };
}

/** A bind group descriptor of buffer ranges: [buffer, offset, size] per binding. */
function groupOf(layout: GPUBindGroupLayout, ...ranges: Array<[GPUBuffer, number, number]>): GPUBindGroupDescriptor {
  return { layout, entries: ranges.map(([b, offset, size], binding) => ({ binding, resource: { buffer: b, offset, size } })) };
}

describe('the bind group cache, on stand-ins of the backend', () => {
  afterEach(() => uncacheBindGroups());

  it('is for tfjs-backend-webgpu\'s backend only: elsewhere it changes nothing and reports null', async () => {
    await tf.setBackend('cpu');
    expect(cacheBindGroups(tf.backend())).toBe(false);
    expect(bindGroupCacheStats(tf.backend())).toBeNull();
    expect(cacheBindGroups({} as tf.KernelBackend)).toBe(false);
    for (const notABackend of [undefined, null, 3]) expect(cacheBindGroups(notABackend as never)).toBe(false);
  });

  it('binds the group made before for the same layout and buffer ranges, and makes a new one for any other range', () => {
    const { backend, made } = fakeBackend();
    expect(cacheBindGroups(backend)).toBe(true);
    expect(cacheBindGroups(backend)).toBe(true); // again: nothing more
    const layout = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor).getBindGroupLayout(0);
    const otherLayout = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor).getBindGroupLayout(0);
    const [a, b] = [buffer(64), buffer(64)];
    const first = backend.device.createBindGroup(groupOf(layout, [a, 0, 64], [b, 0, 64]));
    expect(backend.device.createBindGroup(groupOf(layout, [a, 0, 64], [b, 0, 64]))).toBe(first);
    expect(made).toHaveLength(1);
    const others = [
      groupOf(layout, [b, 0, 64], [a, 0, 64]), // buffers swapped
      groupOf(layout, [a, 16, 64], [b, 0, 64]), // another offset
      groupOf(layout, [a, 0, 32], [b, 0, 64]), // another size
      groupOf(layout, [a, 0, 64]), // fewer bindings
      groupOf(otherLayout, [a, 0, 64], [b, 0, 64]), // another pipeline's layout
      { ...groupOf(layout, [a, 0, 64], [b, 0, 64]), label: 'labelled' }, // (labelled groups are made anew)
      { layout, entries: [{ binding: 1, resource: { buffer: a, offset: 0, size: 64 } }, { binding: 0, resource: { buffer: b, offset: 0, size: 64 } }] }, // bindings listed the other way
    ];
    for (const descriptor of others) expect(backend.device.createBindGroup(descriptor)).not.toBe(first);
    expect(made).toHaveLength(1 + others.length);
    expect(bindGroupCacheStats(backend)).toEqual({ hits: 1, misses: others.length, entries: others.length });
    // A whole buffer given by its size, or by no size at all, is the same range.
    expect(backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b, offset: 0 } }] })).toBe(first);
  });

  it('makes every bind group with a resource other than a buffer range anew (textures, samplers)', () => {
    const { backend, made } = fakeBackend();
    cacheBindGroups(backend);
    const layout = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor).getBindGroupLayout(0);
    const view = { kind: 'texture view' } as unknown as GPUTextureView;
    const descriptor: GPUBindGroupDescriptor = { layout, entries: [{ binding: 0, resource: { buffer: buffer(4), offset: 0, size: 4 } }, { binding: 1, resource: view }] };
    expect(backend.device.createBindGroup(descriptor)).not.toBe(backend.device.createBindGroup(descriptor));
    expect(made).toHaveLength(2);
    expect(bindGroupCacheStats(backend)).toEqual({ hits: 0, misses: 0, entries: 0 });
  });

  it(`holds ${BIND_GROUP_CACHE_CAPACITY} bind groups, then starts over`, () => {
    const { backend, made } = fakeBackend();
    cacheBindGroups(backend);
    const layout = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor).getBindGroupLayout(0);
    const buffers = Array.from({ length: BIND_GROUP_CACHE_CAPACITY + 1 }, () => buffer(4));
    const bind = (b: GPUBuffer) => backend.device.createBindGroup(groupOf(layout, [b, 0, 4]));
    const groups = buffers.slice(0, -1).map(bind);
    expect(bindGroupCacheStats(backend)?.entries).toBe(BIND_GROUP_CACHE_CAPACITY);
    expect(bind(buffers[0]!)).toBe(groups[0]); // still held
    const extra = bind(buffers[BIND_GROUP_CACHE_CAPACITY]!); // one more than fits: the cache starts over with it
    expect(bindGroupCacheStats(backend)?.entries).toBe(1);
    expect(bind(buffers[BIND_GROUP_CACHE_CAPACITY]!)).toBe(extra);
    const before = made.length;
    expect(bind(buffers[0]!)).not.toBe(groups[0]);
    expect(made.length).toBe(before + 1);
  });

  it('asks each pipeline for its layout once, old pipelines and new ones, sync and async', async () => {
    const { backend, layoutsAsked } = fakeBackend();
    cacheBindGroups(backend);
    const existing = backend.pipelineCache['existing']!;
    const created = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor);
    const createdAsync = await backend.device.createComputePipelineAsync({} as GPUComputePipelineDescriptor);
    for (const p of [existing, created, createdAsync]) expect(p.getBindGroupLayout(0)).toBe(p.getBindGroupLayout(0));
    expect(layoutsAsked).toEqual([0, 0, 0]);
    uncacheBindGroups(backend);
    expect(existing.getBindGroupLayout(0)).not.toBe(existing.getBindGroupLayout(0)); // the pipeline's own method again
  });

  it('hands out, of the free buffers of a size, the one it has known longest, whatever the order they were released in', () => {
    const { backend } = fakeBackend();
    const pool = backend.bufferManager;
    const [a, b, c] = [buffer(256), buffer(256), buffer(256)];
    pool.releaseBuffer(c); // free before the cache: ordered when it starts
    cacheBindGroups(backend);
    for (const x of [a, b]) pool.releaseBuffer(x);
    const order = () => [pool.acquire(256), pool.acquire(256), pool.acquire(256)];
    expect(order()).toEqual([c, a, b]);
    for (const x of [b, c, a]) pool.releaseBuffer(x);
    expect(order()).toEqual([c, a, b]);
    for (const x of [a, b, c]) pool.releaseBuffer(x);
    pool.releaseBuffer(buffer(256, 64)); // another usage: another list
    expect(order()).toEqual([c, a, b]);
    pool.releaseBuffer(a, false); // destroyed, not pooled
    expect(pool.acquire(256)).toBeUndefined();
  });

  it('turned off, leaves tfjs\'s own methods and no cache behind', () => {
    const { backend, made } = fakeBackend();
    const originals = [backend.device.createBindGroup, backend.device.createComputePipeline, backend.device.createComputePipelineAsync, backend.bufferManager.releaseBuffer];
    cacheBindGroups(backend);
    expect(backend.device.createBindGroup).not.toBe(originals[0]);
    uncacheBindGroups();
    expect([backend.device.createBindGroup, backend.device.createComputePipeline, backend.device.createComputePipelineAsync, backend.bufferManager.releaseBuffer])
      .toEqual(originals);
    expect(bindGroupCacheStats(backend)).toBeNull();
    const layout = backend.device.createComputePipeline({} as GPUComputePipelineDescriptor).getBindGroupLayout(0);
    const descriptor = groupOf(layout, [buffer(4), 0, 4]);
    backend.device.createBindGroup(descriptor);
    backend.device.createBindGroup(descriptor);
    expect(made).toHaveLength(2);
  });
});

/** A small conv net with batch norms and a skip: what the zoo's networks are made of. */
function smallNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 1] });
  const conv = (filters: number, x: tfl.SymbolicTensor) => tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: filters }) }).apply(x) as tfl.SymbolicTensor;
  const a = tfl.layers.reLU().apply(tfl.layers.batchNormalization().apply(conv(8, input))) as tfl.SymbolicTensor;
  const down = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(a) as tfl.SymbolicTensor;
  const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(conv(8, down)) as tfl.SymbolicTensor;
  const merged = tfl.layers.concatenate().apply([a, up]) as tfl.SymbolicTensor;
  const output = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(merged) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output });
}

describe.runIf(adapter)('the bind group cache on webgpu', () => {
  afterAll(async () => {
    tf.env().set(BIND_GROUP_CACHE_FLAG, true);
    await tf.setBackend('cpu');
  });

  /** Predictions of a fresh net after `steps` Adam steps on a fixed batch, and its weights, with the cache on or off. */
  async function trainAndPredict(cached: boolean, steps: number, beforeStep?: (step: number) => void): Promise<{ prediction: number[]; weights: number[][]; leaked: number }> {
    tf.env().set(BIND_GROUP_CACHE_FLAG, cached);
    const model = smallNet();
    model.compile({ optimizer: fusedAdam(1e-2), loss: 'meanSquaredError' });
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 7);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.6), 'float32'));
    await model.trainOnBatch(x, y);
    const before = tf.memory().numTensors;
    for (let i = 1; i < steps; i++) {
      beforeStep?.(i);
      await model.trainOnBatch(x, y);
    }
    const leaked = tf.memory().numTensors - before;
    const p = model.predict(x) as tf.Tensor;
    const result = {
      prediction: Array.from(await p.data()),
      weights: await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data()))),
      leaked,
    };
    tf.dispose([p, x, y]);
    model.optimizer.dispose();
    model.dispose();
    return result;
  }

  it('trains and predicts as without it, bit for bit, without leaking tensors', async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
    const uncached = await trainAndPredict(false, 4);
    expect(bindGroupCacheStats(tf.backend())).toBeNull();
    const cached = await trainAndPredict(true, 4);
    expect(bindGroupCacheStats(tf.backend())?.hits).toBeGreaterThan(0);
    expect(cached.prediction).toEqual(uncached.prediction);
    expect(cached.weights).toEqual(uncached.weights);
    expect([cached.leaked, uncached.leaked]).toEqual([0, 0]);
  });

  it('turned on and off between training steps, trains as it does off throughout, bit for bit', async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
    const off = await trainAndPredict(false, 6);
    const flags: boolean[] = [];
    const toggling = await trainAndPredict(true, 6, (step) => {
      const on = step % 2 === 0;
      flags.push(bindGroupCacheStats(tf.backend()) !== null);
      tf.env().set(BIND_GROUP_CACHE_FLAG, on);
    });
    expect(flags).toContain(true);
    expect(flags).toContain(false);
    expect(toggling.prediction).toEqual(off.prediction);
    expect(toggling.weights).toEqual(off.weights);
  });

  it('creates no bind group for a repeated forward pass, and no more than a handful for a repeated training step', async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
    tf.env().set(BIND_GROUP_CACHE_FLAG, true);
    const model = smallNet();
    model.compile({ optimizer: fusedAdam(1e-2), loss: 'meanSquaredError' });
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 7);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.6), 'float32'));
    const created = async (run: () => Promise<unknown>) => {
      const before = bindGroupCacheStats(tf.backend())!.misses;
      await run();
      return bindGroupCacheStats(tf.backend())!.misses - before;
    };
    const predict = async () => {
      const p = model.predict(x) as tf.Tensor;
      await p.data();
      p.dispose();
    };
    const step = () => model.trainOnBatch(x, y);
    for (let i = 0; i < 3; i++) await predict();
    expect(await created(predict)).toBe(0);
    for (let i = 0; i < 4; i++) await step();
    // Adam's bias corrections are new constants every step (new small buffers): their dispatches only.
    expect(await created(step)).toBeLessThanOrEqual(4);
    await predict(); // buffers held since (the optimizer's constants) may move this pass's ranges once
    expect(await created(predict)).toBe(0);
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
  });
});
