/**
 * A function of one tensor recorded once as the WebGPU commands it runs, then replayed without
 * running tfjs again: inference without the CPU's work per dispatch.
 *
 * On webgpu a forward pass at batch 1 is CPU-bound: tfjs-layers, tfjs-core's engine and
 * tfjs-backend-webgpu spend about 80 µs of CPU per dispatch even with bind groups reused (Dawn's
 * null backend, 2 cores: U-Net 4.6 ms for 59 dispatches), while an H200 ran U-Net's in 3.9 ms of
 * GPU time. A replay encodes the recorded dispatches straight into tfjs's command stream: a
 * pipeline, a bind group and a dispatch each.
 *
 * Recording runs the function once under watch (after a first call, so that every pipeline exists)
 * and notes, in order, each dispatch (pipeline, bind groups, workgroups, and the bytes of its
 * uniforms at that moment) and each buffer copy. Then every buffer the commands touch is given a
 * stand-in that the replay owns, one for one, so that tfjs's reuse of buffers within the function
 * is reproduced and none of tfjs's buffers is ever written by a replay:
 * - the input's buffer: a buffer the input is copied into at each replay;
 * - the variables' buffers (a model's weights): bound as they are, so in-place updates show; a
 *   variable that has since got another buffer (assigned, set) makes the next call record again;
 * - buffers that existed before the call (constants a layer holds, cached scalars): copied once;
 * - buffers tfjs acquired during the call (intermediates, outputs): fresh buffers of the same size;
 * - CPU data uploaded during the call: snapshots copied in at the same point of each replay;
 * - uniforms: each dispatch's bytes in one uniform buffer, at aligned offsets.
 * The replay's outputs are copied into new tfjs tensors at the end. Anything else a function might
 * do on the GPU (textures, timestamp queries, indirect dispatches, buffer writes other than
 * uniforms) is refused when recording, and such a function simply runs as itself.
 */
import { engine, env, type DataType, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import { followBindGroupCacheFlag } from './bind-group-cache.js';
import { replaceMethod, type Restorable } from './own-method.js';
import type { RecordingBackend } from './recorded-dispatch.js';

/** What the replay needs of tfjs-backend-webgpu 4.x beyond command recording: its buffer pool and tensor storage. */
interface ReplayBackend extends RecordingBackend {
  bufferManager: { acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer };
  queue: GPUQueue;
  submitQueue(): void;
}

/** One recorded command, its buffers already the replay's own (or the variables'). */
type Command =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; groups: GPUBindGroup[]; workgroups: [number, number, number] }
  | { kind: 'copy'; source: GPUBuffer; sourceOffset: number; destination: GPUBuffer; destinationOffset: number; size: number };

/** A recording, ready to replay for inputs of one shape and dtype. */
interface Plan {
  commands: Command[];
  input: GPUBuffer;
  outputs: Array<{ buffer: GPUBuffer; shape: number[]; dtype: DataType }>;
  /** Whether the function returned an array (so the replay does too). */
  returnsArray: boolean;
  /** The variables' buffers when recorded: a replay needs the same. */
  variableBuffers: GPUBuffer[];
  owned: GPUBuffer[];
}

/** Options of {@link WebGPUReplay}. */
export interface WebGPUReplayOptions {
  /**
   * The tensors the function reads that may change between calls (a model's weights): their
   * storage is bound as it is, so updates in place (fusedAdam's) show in later replays, and one
   * that has been given new storage (`assign`, `setWeights`, tfjs-core's Adam) makes the next call
   * record again. Asked for at every call. Every other tensor the function reads from outside is
   * copied when recording: a later change to it is not seen. Default: none.
   */
  variables?: () => Tensor[];
}

/** What {@link WebGPUReplay.counts} reports. */
export interface WebGPUReplayCounts {
  /** Recordings made (one per input shape, and again after a variable got new storage). */
  recordings: number;
  /** Calls replayed. */
  replays: number;
  /** Bytes of the GPU buffers the replay holds now (its stand-ins, snapshots and uniforms; 0 once disposed). */
  bytes: number;
}

/** Why a recording was refused (the function then runs as itself for that shape). */
class Unreplayable extends Error {}

/**
 * `fn` recorded on webgpu at its first calls for each input shape and replayed after (see the
 * module's notes); on other backends, and where recording is refused, `fn` itself. Same results:
 * a replay runs the same shaders on the same data. `fn` must be a pure function of its input and
 * the variables (no randomness, no reading values back) returning new tensors.
 */
export class WebGPUReplay {
  private readonly plans = new Map<string, Plan | Unreplayable>();
  private readonly calls = new Map<string, number>();
  private recordings = 0;
  private replays = 0;
  private disposed = false;

  constructor(private readonly fn: (x: Tensor) => Tensor | Tensor[], private readonly options: WebGPUReplayOptions = {}) {}

  /** `fn(x)`, replayed where it can be. The result is a new tensor (or tensors) for the caller to dispose. */
  run(x: Tensor): Tensor | Tensor[] {
    if (this.disposed) throw new Error('WebGPUReplay.run: this replay has been disposed');
    const backend = engine().backend as ReplayBackend;
    if (engine().backendName !== 'webgpu' || profiling()) return this.fn(x); // under tf.profile or in debug mode: the kernels, each seen
    const key = `${x.dtype}|${x.shape.join(',')}`;
    let plan = this.plans.get(key);
    if (plan instanceof Unreplayable) return this.fn(x);
    const variables = this.options.variables?.() ?? [];
    if (plan !== undefined && !sameBuffers(backend, variables, plan.variableBuffers)) {
      release(plan);
      this.plans.delete(key);
      plan = undefined;
    }
    if (plan === undefined) {
      const calls = (this.calls.get(key) ?? 0) + 1;
      this.calls.set(key, calls);
      if (calls === 1) return this.fn(x); // first call: pipelines compiled, constants made, outside the recording
      const recorded = record(backend, this.fn, x, variables);
      this.plans.set(key, recorded.plan);
      if (!(recorded.plan instanceof Unreplayable)) this.recordings++;
      return recorded.result;
    }
    this.replays++;
    return replay(backend, plan, x);
  }

  /** Recordings made and replays run so far (for tests and diagnostics). */
  get counts(): WebGPUReplayCounts {
    let bytes = 0;
    for (const plan of this.plans.values()) if (!(plan instanceof Unreplayable)) for (const b of plan.owned) bytes += b.size;
    return { recordings: this.recordings, replays: this.replays, bytes };
  }

  /** Why the function runs as itself for inputs of `shape` and `dtype`, or null where it is replayed or not yet recorded. */
  refusal(shape: number[], dtype: DataType = 'float32'): string | null {
    const plan = this.plans.get(`${dtype}|${shape.join(',')}`);
    return plan instanceof Unreplayable ? plan.message : null;
  }

  /** Frees the replay's GPU buffers; later calls throw. */
  dispose(): void {
    for (const plan of this.plans.values()) if (!(plan instanceof Unreplayable)) release(plan);
    this.plans.clear();
    this.disposed = true;
  }
}

/**
 * A {@link WebGPUReplay} of a model's `predict`, its weights as the variables: the same
 * predictions, on webgpu without tfjs's CPU work per layer after the first two calls per input
 * shape. Retraining in place (fusedAdam) shows at once; weights set anew make it record again.
 */
export function replayPredict(model: { predict(x: Tensor): Tensor | Tensor[]; weights: Array<{ read(): Tensor }> }): WebGPUReplay {
  return new WebGPUReplay((x) => model.predict(x), { variables: () => model.weights.map((w) => w.read()) });
}

/** Whether tfjs is profiling kernels (tf.profile, tf.time's kernels, debug mode): they must run to be seen. */
function profiling(): boolean {
  const e = engine() as unknown as { state: { profiling?: boolean }; backend: { activeTimers?: unknown } };
  return e.state.profiling === true || env().getBool('DEBUG') || e.backend.activeTimers != null;
}

function bufferOf(backend: ReplayBackend, t: TensorInfo): GPUBuffer | null {
  const resource = backend.tensorMap.get(t.dataId)?.resource;
  return resource instanceof GPUBuffer ? resource : null;
}

function sameBuffers(backend: ReplayBackend, variables: Tensor[], recorded: GPUBuffer[]): boolean {
  return variables.length === recorded.length && variables.every((v, i) => !v.isDisposed && bufferOf(backend, v) === recorded[i]);
}

function release(plan: Plan): void {
  for (const b of plan.owned) b.destroy();
}

const STORAGE_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

interface Prototypes {
  pass: GPUComputePassEncoder;
  encoder: GPUCommandEncoder;
  buffer: GPUBuffer;
}

function prototypes(): Prototypes {
  const g = globalThis as unknown as Record<string, { prototype: object } | undefined>;
  const [pass, encoder, buffer] = ['GPUComputePassEncoder', 'GPUCommandEncoder', 'GPUBuffer'].map((name) => g[name]?.prototype);
  if (pass === undefined || encoder === undefined || buffer === undefined) throw new Unreplayable('WebGPU\'s classes are not global here');
  return { pass, encoder, buffer } as Prototypes;
}

/** Methods replaced for the duration of a recording; restore() puts them back. */
class Hooks {
  private readonly replaced: Restorable[] = [];

  /** Replaces `target[name]` by what `make` builds around the method in place. */
  set<T extends object>(target: T, name: string, make: (original: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): void {
    const original = (target as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
    this.replaced.push(replaceMethod(target as Record<string, unknown>, name, make(original)));
  }

  restore(): void {
    for (const r of this.replaced.reverse()) r.restore();
  }
}

/** Runs `fn(x)` under watch and makes the plan that replays it (or the reason it cannot). */
function record(backend: ReplayBackend, fn: (x: Tensor) => Tensor | Tensor[], x: Tensor, variables: Tensor[]): { result: Tensor | Tensor[]; plan: Plan | Unreplayable } {
  const { device } = backend;
  followBindGroupCacheFlag(backend); // settled first: turned on inside the recording, it would wrap the recording's own hooks
  backend.uploadToGPU(x.dataId);
  for (const v of variables) backend.uploadToGPU(v.dataId);
  // What came before is submitted: buffers that exist now hold their values by the time a copy
  // submitted during the recording reads them.
  if (backend.commandEncoder != null) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  const input = bufferOf(backend, x);
  const variableBuffers = variables.map((v) => bufferOf(backend, v));
  const isVariable = new Set<GPUBuffer | null>(variableBuffers); // looked up for every buffer of every recorded dispatch
  const owned: GPUBuffer[] = [];
  const ownedSet = new Set<GPUBuffer>();
  const own = (size: number, usage = STORAGE_USAGE()): GPUBuffer => {
    const b = device.createBuffer({ size, usage });
    owned.push(b);
    ownedSet.add(b);
    return b;
  };
  // Copies into snapshots are submitted at once, on an encoder of their own, ahead of the
  // recorded commands that tfjs has not submitted yet (and with the copy method itself: they are
  // not part of the recording).
  let proto: Prototypes;
  try {
    proto = prototypes();
  } catch (err) {
    return { result: fn(x), plan: err as Unreplayable };
  }
  const copyBuffer = proto.encoder.copyBufferToBuffer;
  const snapshot = (source: GPUBuffer): GPUBuffer => {
    const copy = own(source.size);
    const encoder = device.createCommandEncoder();
    copyBuffer.call(encoder, source, 0, copy, 0, source.size);
    device.queue.submit([encoder.finish()]);
    return copy;
  };

  const acquired = new Set<GPUBuffer>();
  const stand = new Map<GPUBuffer, GPUBuffer>(); // tfjs's buffer -> the replay's
  const uniformBytes = new Map<GPUBuffer, Uint8Array>();
  const descriptors = new Map<GPUBindGroup, GPUBindGroupDescriptor>();
  /** A bind group as recorded: its descriptor, and per entry the bytes of its uniforms at the dispatch (undefined for storage). */
  type RecordedGroup = { descriptor: GPUBindGroupDescriptor; uniforms: Array<Uint8Array | undefined> };
  type Raw = { kind: 'dispatch'; pipeline: GPUComputePipeline; groups: RecordedGroup[]; workgroups: [number, number, number] }
    | { kind: 'copy'; source: GPUBuffer; sourceOffset: number; destination: GPUBuffer; destinationOffset: number; size: number };
  const raw: Raw[] = [];
  let refusal: string | null = null;
  const refuse = (why: string) => {
    refusal ??= why;
  };
  let pipeline: GPUComputePipeline | null = null;
  const groups: Array<GPUBindGroup | undefined> = [];

  /**
   * A buffer a recorded command touches, at that moment: one that existed before the call and
   * that tfjs has not handed out during it (a constant a layer or a cache holds) is copied now,
   * before anything recorded could overwrite it (its tensor may be disposed and its buffer reused
   * later in the call).
   */
  const seen = new Set<GPUBuffer>();
  const see = (b: GPUBuffer): void => {
    if (seen.has(b)) return;
    seen.add(b);
    if (b !== input && !isVariable.has(b) && !ownedSet.has(b) && !acquired.has(b)) stand.set(b, snapshot(b));
  };
  /** The replay's stand-in for a buffer the commands touch: its own, one for one, but for the variables'. */
  const standIn = (b: GPUBuffer): GPUBuffer => {
    let s = stand.get(b);
    if (s !== undefined) return s;
    s = isVariable.has(b) || ownedSet.has(b) ? b : own(b.size);
    stand.set(b, s);
    return s;
  };

  const hooks = new Hooks();
  let result: Tensor | Tensor[];
  try {
    hooks.set(backend.bufferManager, 'acquireBuffer', (original) => (...a) => {
      const b = original.apply(backend.bufferManager, a) as GPUBuffer;
      acquired.add(b);
      return b;
    });
    hooks.set(device, 'createBindGroup', (original) => (...a) => {
      const group = original.apply(device, a) as GPUBindGroup;
      descriptors.set(group, a[0] as GPUBindGroupDescriptor);
      return group;
    });
    hooks.set(backend.queue, 'writeBuffer', (original) => (...a) => {
      const [b, offset, data, dataOffset = 0, size] = a as [GPUBuffer, number, ArrayBuffer | ArrayBufferView, number?, number?];
      if ((b.usage & GPUBufferUsage.UNIFORM) === 0 || offset !== 0) refuse('a buffer write other than uniforms');
      else uniformBytes.set(b, bytesOf(data, dataOffset, size));
      return original.apply(backend.queue, a);
    });
    hooks.set(proto.encoder, 'beginComputePass', (original) => function (this: GPUCommandEncoder, ...a) {
      if ((a[0] as GPUComputePassDescriptor | undefined)?.timestampWrites !== undefined) refuse('timestamp queries');
      return original.apply(this, a);
    });
    hooks.set(proto.encoder, 'copyBufferToBuffer', (original) => function (this: GPUCommandEncoder, ...a) {
      const out = original.apply(this, a);
      const [source, sourceOffset, destination, destinationOffset, size] = a as [GPUBuffer, number, GPUBuffer, number, number];
      if ((destination.usage & GPUBufferUsage.MAP_READ) !== 0) refuse('reading values back');
      // An upload through a staging buffer: its bytes kept, to copy in at the same point of each replay.
      const fromCpu = (source.usage & GPUBufferUsage.MAP_WRITE) !== 0;
      see(destination);
      if (fromCpu) {
        const copy = own(Math.ceil(size / 4) * 4);
        original.call(this, source, sourceOffset, copy, 0, size);
        raw.push({ kind: 'copy', source: copy, sourceOffset: 0, destination, destinationOffset, size });
      } else {
        see(source);
        raw.push({ kind: 'copy', source, sourceOffset, destination, destinationOffset, size });
      }
      return out;
    });
    for (const name of ['clearBuffer', 'writeTimestamp', 'resolveQuerySet', 'copyBufferToTexture', 'copyTextureToBuffer', 'copyTextureToTexture', 'beginRenderPass']) {
      hooks.set(proto.encoder, name, (original) => function (this: GPUCommandEncoder, ...a) {
        refuse(`GPUCommandEncoder.${name}`);
        return original.apply(this, a);
      });
    }
    // An upload into a buffer created mapped: its bytes, as they are when unmapped, copied in at that point of each replay.
    hooks.set(proto.buffer, 'unmap', (original) => function (this: GPUBuffer, ...a) {
      const out = original.apply(this, a);
      if ((this.usage & GPUBufferUsage.STORAGE) !== 0) {
        see(this);
        raw.push({ kind: 'copy', source: snapshot(this), sourceOffset: 0, destination: this, destinationOffset: 0, size: this.size });
      }
      return out;
    });
    hooks.set(proto.pass, 'setPipeline', (original) => function (this: GPUComputePassEncoder, ...a) {
      pipeline = a[0] as GPUComputePipeline;
      return original.apply(this, a);
    });
    hooks.set(proto.pass, 'setBindGroup', (original) => function (this: GPUComputePassEncoder, ...a) {
      if (a.length > 2 && (a[2] as ArrayLike<number> | undefined)?.length) refuse('dynamic offsets');
      groups[a[0] as number] = a[1] as GPUBindGroup;
      return original.apply(this, a);
    });
    hooks.set(proto.pass, 'dispatchWorkgroupsIndirect', (original) => function (this: GPUComputePassEncoder, ...a) {
      refuse('indirect dispatches');
      return original.apply(this, a);
    });
    hooks.set(proto.pass, 'dispatchWorkgroups', (original) => function (this: GPUComputePassEncoder, ...a) {
      const bound = groups.map((g) => {
        const descriptor = g === undefined ? undefined : descriptors.get(g);
        if (descriptor === undefined) {
          refuse('a bind group made before the recording');
          return { descriptor: { layout: null as unknown as GPUBindGroupLayout, entries: [] }, uniforms: [] };
        }
        const uniforms = [...descriptor.entries].map((entry) => {
          const binding = entry.resource as Partial<GPUBufferBinding>;
          const b = binding.buffer;
          if (b === undefined) refuse('a texture or sampler');
          else if ((b.usage & GPUBufferUsage.UNIFORM) !== 0) {
            const bytes = uniformBytes.get(b);
            if (bytes === undefined) refuse('uniforms written before the recording');
            if ((binding.offset ?? 0) !== 0) refuse('uniforms bound at an offset');
            return bytes;
          } else see(b);
          return undefined;
        });
        return { descriptor, uniforms };
      });
      const [wx, wy = 1, wz = 1] = a as number[];
      raw.push({ kind: 'dispatch', pipeline: pipeline!, groups: bound, workgroups: [wx!, wy, wz] });
      return original.apply(this, a);
    });
    result = fn(x);
  } finally {
    hooks.restore();
  }
  const outputs = (Array.isArray(result) ? result : [result]).map((t) => ({ buffer: bufferOf(backend, t), shape: [...t.shape], dtype: t.dtype }));
  if (input === null || variableBuffers.some((b) => b === null) || outputs.some((o) => o.buffer === null)) refuse('a tensor outside GPU buffers');
  if (outputs.some((o) => o.buffer === input || isVariable.has(o.buffer))) refuse('an output that is the input or a variable');
  if (raw.length === 0) refuse('no GPU commands');
  if (refusal !== null) {
    for (const b of owned) b.destroy();
    return { result, plan: new Unreplayable(refusal) };
  }

  // The plan's bind groups are its own: made by the device itself, past any cache (bind-group-cache.ts).
  const createBindGroup = (Object.getPrototypeOf(device) as GPUDevice).createBindGroup;
  // Uniforms: each dispatch's bytes at its own aligned offset of one buffer.
  const align = device.limits.minUniformBufferOffsetAlignment;
  let uniformSize = 0;
  const offsets = new Map<RecordedGroup, number[]>(); // per recorded group, each uniform entry's offset
  for (const c of raw) {
    if (c.kind !== 'dispatch') continue;
    for (const g of c.groups) {
      offsets.set(g, g.uniforms.map((bytes) => {
        if (bytes === undefined) return -1;
        const offset = uniformSize;
        uniformSize += Math.ceil(bytes.length / align) * align;
        return offset;
      }));
    }
  }
  const uniformBuffer = uniformSize > 0 ? own(uniformSize, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST) : null;
  if (uniformBuffer !== null) {
    const all = new Uint8Array(uniformSize);
    for (const [g, at] of offsets) g.uniforms.forEach((bytes, i) => bytes !== undefined && all.set(bytes, at[i]!));
    device.queue.writeBuffer(uniformBuffer, 0, all);
  }
  const commands: Command[] = raw.map((c) => {
    if (c.kind === 'copy') return { ...c, source: standIn(c.source), destination: standIn(c.destination) };
    return {
      kind: 'dispatch',
      pipeline: c.pipeline,
      workgroups: c.workgroups,
      groups: c.groups.map((g) => createBindGroup.call(device, {
        layout: g.descriptor.layout,
        entries: [...g.descriptor.entries].map((entry, i) => {
          const binding = entry.resource as GPUBufferBinding;
          const bytes = g.uniforms[i];
          if (bytes !== undefined) {
            return { binding: entry.binding, resource: { buffer: uniformBuffer!, offset: offsets.get(g)![i]!, size: bytes.length } };
          }
          return { binding: entry.binding, resource: { buffer: standIn(binding.buffer), offset: binding.offset ?? 0, ...(binding.size !== undefined && { size: binding.size }) } };
        }),
      })),
    };
  });
  const plan: Plan = {
    commands,
    input: standIn(input!),
    outputs: outputs.map((o) => ({ buffer: standIn(o.buffer!), shape: o.shape, dtype: o.dtype })),
    returnsArray: Array.isArray(result),
    variableBuffers: variableBuffers as GPUBuffer[],
    owned,
  };
  return { result, plan };
}

function bytesOf(data: ArrayBuffer | ArrayBufferView, offset: number, size: number | undefined): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(offset, size === undefined ? undefined : offset + size));
  const bytesPerElement = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  const start = data.byteOffset + offset * bytesPerElement;
  const end = size === undefined ? data.byteOffset + data.byteLength : start + size * bytesPerElement;
  return new Uint8Array(data.buffer.slice(start, end));
}

/** Encodes the plan into tfjs's command stream for input `x`; new tensors for its outputs. */
function replay(backend: ReplayBackend, plan: Plan, x: Tensor): Tensor | Tensor[] {
  backend.uploadToGPU(x.dataId);
  const source = bufferOf(backend, x);
  if (source === null || source.size !== plan.input.size) throw new Error('WebGPUReplay.run: the input is not in a GPU buffer of the recorded size');
  const outputs = plan.outputs.map((o) => {
    const info = backend.makeTensorInfo(o.shape, o.dtype);
    backend.uploadToGPU(info.dataId);
    return info;
  });
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  const encoder = backend.commandEncoder!;
  encoder.copyBufferToBuffer(source, 0, plan.input, 0, plan.input.size);
  let pass: GPUComputePassEncoder | null = null;
  for (const c of plan.commands) {
    if (c.kind === 'copy') {
      pass?.end();
      pass = null;
      encoder.copyBufferToBuffer(c.source, c.sourceOffset, c.destination, c.destinationOffset, c.size);
      continue;
    }
    pass ??= encoder.beginComputePass();
    pass.setPipeline(c.pipeline);
    c.groups.forEach((g, i) => pass!.setBindGroup(i, g));
    pass.dispatchWorkgroups(...c.workgroups);
  }
  pass?.end();
  outputs.forEach((info, i) => {
    const out = plan.outputs[i]!;
    encoder.copyBufferToBuffer(out.buffer, 0, bufferOf(backend, info)!, 0, out.buffer.size);
  });
  backend.commandQueueOwnedIds.add(x.dataId);
  for (const info of outputs) backend.commandQueueOwnedIds.add(info.dataId);
  backend.submitQueue();
  const tensors = outputs.map((info) => engine().makeTensorFromTensorInfo(info));
  return plan.returnsArray ? tensors : tensors[0]!;
}
