/**
 * Bind groups made once and used again: the largest share of the CPU's work per dispatch.
 *
 * tfjs-backend-webgpu creates a bind group for every dispatch, about 27 µs of CPU in Dawn, and
 * asks the pipeline for its layout each time (5 µs, a new object per call). Measured on Dawn's
 * null backend, which runs no shaders, so that all of a step's time is the CPU's: a U-Net training
 * step at 64x64 made 317 dispatches in 42 ms, 8.6 ms of it creating bind groups. A GPU waits for
 * that work, where kernels are short (inference at batch 1) or many (SA-U-Net's steps).
 *
 * A bind group names a layout and buffer ranges only, so one made for the same layout and ranges
 * serves again. Two things make the ranges repeat from one step to the next: each pipeline's
 * layout asked for once (the same object every time), and buffer reuse that is repeatable. tfjs's
 * pool hands out the buffer of a size that was released last, so which buffer a tensor gets
 * drifts from step to step (after six steps, 0.3-5% of a step's bind groups had been seen before);
 * here each free list hands out the buffer it has known longest, which makes the pairing of
 * tensors and buffers a function of the sequence of operations: the second of two identical steps
 * creates no bind group at all.
 */
import { env, type KernelBackend } from '@tensorflow/tfjs-core';
import { replaceMethod, type Restorable } from './own-method.js';

/** tfjs env flag (default true): {@link registerTrainingKernels}' webgpu kernels turn on {@link cacheBindGroups} for their backend; false turns it off again. */
export const BIND_GROUP_CACHE_FLAG = 'SA_UNET_WEBGPU_CACHE_BIND_GROUPS';

/** Bind groups kept per backend; when full it starts over (an SA-U-Net training step uses about 950, a forward pass 190). */
export const BIND_GROUP_CACHE_CAPACITY = 4096;

/** What a backend's bind group cache has done since it was turned on. */
export interface BindGroupCacheStats {
  /** Bind groups served from the cache. */
  hits: number;
  /** Bind groups created (and kept). */
  misses: number;
  /** Bind groups held now. */
  entries: number;
}

/** The parts of tfjs-backend-webgpu 4.x's backend that the cache changes. */
interface PoolingBackend {
  device: GPUDevice;
  bufferManager: {
    freeBuffers: Map<string, GPUBuffer[]>;
    releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
  };
  pipelineCache: Record<string, GPUComputePipeline | Promise<GPUComputePipeline>>;
}

interface Installed {
  stats: BindGroupCacheStats;
  restore(): void;
}

const installed = new Map<object, Installed>();

/** Registers {@link BIND_GROUP_CACHE_FLAG} (once), so that apps can set it. */
export function registerBindGroupCacheFlag(): void {
  if (flagValue() === undefined) env().registerFlag(BIND_GROUP_CACHE_FLAG, () => true);
}

/** The flag's value, or undefined where it is not registered (tfjs throws for an unknown flag). */
function flagValue(): boolean | undefined {
  try {
    return env().getBool(BIND_GROUP_CACHE_FLAG);
  } catch {
    return undefined;
  }
}

const unsupported = new WeakSet<object>();

/**
 * Turns the cache on or off for `backend` as {@link BIND_GROUP_CACHE_FLAG} says (on where it is not
 * registered): what {@link registerTrainingKernels}' webgpu kernels call before they run.
 */
export function followBindGroupCacheFlag(kernelBackend: object): void {
  const backend = kernelBackend as KernelBackend; // a kernel's args.backend, typed {} by tfjs
  if (flagValue() === false) {
    if (installed.has(backend)) uncacheBindGroups(backend);
  } else if (!installed.has(backend) && !unsupported.has(backend) && !cacheBindGroups(backend)) {
    unsupported.add(backend);
  }
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** A number per buffer, in the order first seen (the free lists' order). */
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

function isPoolingBackend(b: unknown): b is PoolingBackend {
  if (b === null || typeof b !== 'object') return false;
  const { device, bufferManager, pipelineCache } = b as Partial<PoolingBackend>;
  return typeof device?.createBindGroup === 'function' && typeof device.createComputePipeline === 'function'
    && bufferManager?.freeBuffers instanceof Map && typeof bufferManager.releaseBuffer === 'function'
    && typeof pipelineCache === 'object' && pipelineCache !== null;
}

/**
 * Makes `backend` (tfjs-backend-webgpu's) reuse bind groups: for the same pipeline and the same
 * buffer ranges it binds the group made the first time, and its buffer pool hands out buffers in
 * a repeatable order so that repeated steps meet the same ranges (see the module's notes).
 * Results are unchanged: a bind group only says which buffers a dispatch reads and writes.
 * {@link registerTrainingKernels} turns it on by itself on the backend its webgpu kernels run
 * on (unless {@link BIND_GROUP_CACHE_FLAG} is false); call this for a backend that runs none of them.
 * Returns false, changing nothing, for a backend that is not tfjs-backend-webgpu 4.x's.
 */
export function cacheBindGroups(backend: KernelBackend): boolean {
  if (installed.has(backend)) return true;
  if (!isPoolingBackend(backend)) return false;
  const pool = orderFreeLists(backend.bufferManager);
  const layouts = layoutsAskedOnce(backend);
  const groups = reuseBindGroups(backend.device);
  installed.set(backend, { stats: groups.stats, restore: () => [groups, layouts, pool].forEach((r) => r.restore()) });
  return true;
}

/** Turns {@link cacheBindGroups} off for `backend`, or for every backend it is on: tfjs's own methods again, the cache dropped. */
export function uncacheBindGroups(backend?: KernelBackend): void {
  for (const [b, cache] of [...installed]) {
    if (backend !== undefined && b !== backend) continue;
    cache.restore();
    installed.delete(b);
  }
}

/** The cache's counts for `backend`, or null where {@link cacheBindGroups} is off. */
export function bindGroupCacheStats(backend: KernelBackend): BindGroupCacheStats | null {
  const cache = installed.get(backend);
  return cache === undefined ? null : { ...cache.stats };
}

/**
 * Keeps each free list ordered by first sight, the buffer seen first at the end where tfjs's
 * pool pops: whichever buffers are free, the same one is handed out.
 */
function orderFreeLists(manager: PoolingBackend['bufferManager']): Restorable {
  const descending = (a: GPUBuffer, b: GPUBuffer): number => idOf(b) - idOf(a);
  for (const list of manager.freeBuffers.values()) list.sort(descending);
  const release = manager.releaseBuffer;
  return replaceMethod(manager, 'releaseBuffer', function (this: unknown, buffer: GPUBuffer, reuse = true) {
    release.call(manager, buffer, reuse);
    // tfjs 4.x keys its free lists by size and usage, and has just pushed the buffer on its list.
    const list = reuse ? manager.freeBuffers.get(`${buffer.size}_${buffer.usage}`) : undefined;
    if (list === undefined || list[list.length - 1] !== buffer) return;
    list.pop();
    const id = idOf(buffer);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idOf(list[mid]!) > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buffer);
  });
}

/**
 * Each pipeline answers getBindGroupLayout with the same object every time (Dawn makes a new one
 * per call, so a cache keyed by layout would never hit): the backend's pipelines and those its
 * device creates from now on.
 */
function layoutsAskedOnce(backend: PoolingBackend): Restorable {
  const memoized: Restorable[] = [];
  const seen = new WeakSet<GPUComputePipeline>();
  const memoize = (pipeline: GPUComputePipeline): GPUComputePipeline => {
    if (seen.has(pipeline)) return pipeline;
    seen.add(pipeline);
    const ask = pipeline.getBindGroupLayout;
    const layouts = new Map<number, GPUBindGroupLayout>();
    memoized.push(replaceMethod(pipeline, 'getBindGroupLayout', (index: number) => {
      let layout = layouts.get(index);
      if (layout === undefined) layouts.set(index, (layout = ask.call(pipeline, index)));
      return layout;
    }));
    return pipeline;
  };
  const { device } = backend;
  const create = device.createComputePipeline;
  const createAsync = device.createComputePipelineAsync;
  const replaced = [
    replaceMethod(device, 'createComputePipeline', (descriptor: GPUComputePipelineDescriptor) => memoize(create.call(device, descriptor))),
    replaceMethod(device, 'createComputePipelineAsync', async (descriptor: GPUComputePipelineDescriptor) =>
      memoize(await createAsync.call(device, descriptor))),
  ];
  for (const pipeline of Object.values(backend.pipelineCache)) {
    if (pipeline instanceof Promise) void pipeline.then(memoize, () => undefined);
    else memoize(pipeline);
  }
  return { restore: () => [...replaced, ...memoized].forEach((r) => r.restore()) };
}

/** A node of the cache's trie: one level per bind group entry, keyed by its buffer (and its range or binding where not the usual). */
interface TrieNode {
  group?: GPUBindGroup;
  next?: Map<unknown, TrieNode>;
}

function child(node: TrieNode, key: unknown): TrieNode {
  node.next ??= new Map();
  let next = node.next.get(key);
  if (next === undefined) node.next.set(key, (next = {}));
  return next;
}

/**
 * The trie node of a bind group of buffer ranges, else null (textures and samplers, and labelled
 * groups: not cached). Keyed by objects, not by a string built per call: this runs for every
 * dispatch.
 */
function nodeOf(root: TrieNode, descriptor: GPUBindGroupDescriptor): TrieNode | null {
  if (descriptor.label) return null;
  let node = root;
  const entries = descriptor.entries as GPUBindGroupEntry[];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const resource = entry.resource as Partial<GPUBufferBinding> | null;
    if (resource === null || typeof resource !== 'object' || !('buffer' in resource) || resource.buffer === undefined) return null;
    const { buffer } = resource;
    if (entry.binding !== i) node = child(node, `binding ${entry.binding}`);
    node = child(node, buffer);
    const offset = resource.offset ?? 0;
    // tfjs binds whole buffers: {buffer} or the same with offset 0 and the buffer's size.
    if (offset !== 0 || (resource.size !== undefined && resource.size !== buffer.size)) node = child(node, `range ${offset}:${resource.size ?? '-'}`);
  }
  return node;
}

function reuseBindGroups(device: GPUDevice): Restorable & { stats: BindGroupCacheStats } {
  const create = device.createBindGroup;
  let roots = new WeakMap<GPUBindGroupLayout, TrieNode>();
  const stats = { hits: 0, misses: 0, entries: 0 };
  const bind = (descriptor: GPUBindGroupDescriptor): GPUBindGroup => {
    let root = roots.get(descriptor.layout);
    if (root === undefined) roots.set(descriptor.layout, (root = {}));
    const node = nodeOf(root, descriptor);
    if (node === null) return create.call(device, descriptor);
    if (node.group !== undefined) {
      stats.hits++;
      return node.group;
    }
    if (stats.entries >= BIND_GROUP_CACHE_CAPACITY) { // full: start over (a working set this large would not fit anyway)
      roots = new WeakMap();
      stats.entries = 0;
      return bind(descriptor);
    }
    const group = create.call(device, descriptor);
    stats.misses++;
    stats.entries++;
    node.group = group;
    return group;
  };
  const replaced = replaceMethod(device, 'createBindGroup', bind);
  return { stats, restore: () => { replaced.restore(); roots = new WeakMap(); } };
}
