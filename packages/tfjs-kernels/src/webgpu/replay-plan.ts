/**
 * Recording a function's WebGPU commands as a plan that WebGPUReplay (replay.ts) replays.
 *
 * Recording runs the function once under watch (after a first call, so that every pipeline exists)
 * and notes, in order, each dispatch (pipeline, bind groups, workgroups, and the bytes of its
 * uniforms at that moment) and each buffer copy. Then every buffer the commands touch is given a
 * stand-in that the replay owns, one for one, so that tfjs's reuse of buffers within the function
 * is reproduced and none of tfjs's buffers is ever written by a replay:
 * - the inputs' buffers: buffers the inputs are copied into at each replay;
 * - the variables' buffers (a model's weights): bound as they are, so in-place updates show; a
 *   variable that has since got another buffer (assigned, set) makes the next call record again;
 * - buffers that existed before the call (constants a layer holds, cached scalars): copied once;
 * - buffers tfjs acquired during the call (intermediates, outputs): fresh buffers of the same size;
 * - CPU data uploaded during the call: snapshots copied in at the same point of each replay;
 * - uniforms: each dispatch's bytes in one uniform buffer, at aligned offsets.
 * Anything else a function might do on the GPU (textures, timestamp queries, indirect dispatches,
 * buffer writes other than uniforms) is refused when recording, and such a function simply runs as
 * itself. What the commands cannot show (storage written in place, uniforms or CPU state that
 * change per call) the code that records them notes (replay-notes.ts), and the plan keeps it. A
 * plan also keeps its commands as comparable text (its signature), for the `verify` option.
 */
import type { DataType, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { followBindGroupCacheFlag } from './bind-group-cache.js';
import { replaceMethod, type Restorable } from './own-method.js';
import type { RecordingBackend } from './recorded-dispatch.js';
import { withReplayNotes, type ReplayNotes, type UniformValues } from './replay-notes.js';

/** What the replay needs of tfjs-backend-webgpu 4.x beyond command recording: its buffer pool and tensor storage. */
export interface ReplayBackend extends RecordingBackend {
  bufferManager: { acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer };
  queue: GPUQueue;
  submitQueue(): void;
}

/** One recorded command, its buffers already the replay's own (or the variables'). */
export type Command =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; groups: GPUBindGroup[]; workgroups: [number, number, number] }
  | { kind: 'copy'; source: GPUBuffer; sourceOffset: number; destination: GPUBuffer; destinationOffset: number; size: number };

/** What a replay does besides its commands, in the order the recording noted it (replay-notes.ts). */
export type PlanNote =
  | { kind: 'uniforms'; values: () => UniformValues; offset: number; size: number }
  | { kind: 'redo'; redo: () => void };

/** A recording, ready to replay for inputs of one shape and dtype each. */
export interface Plan {
  commands: Command[];
  /** The inputs' stand-ins, in argument order. */
  inputs: GPUBuffer[];
  outputs: Array<{ buffer: GPUBuffer; shape: number[]; dtype: DataType }>;
  /** Whether the function returned an array (so the replay does too). */
  returnsArray: boolean;
  /** The variables' buffers when recorded: a replay needs the same. */
  variableBuffers: GPUBuffer[];
  /** Indices of the variables that the commands write in place: a replay needs their storage unshared. */
  writtenInPlace: number[];
  notes: PlanNote[];
  /** The buffer of every dispatch's uniforms (null without any). */
  uniformBuffer: GPUBuffer | null;
  /** The commands as a comparable text, for WebGPUReplay's `verify` option. */
  signature: string[];
  /** Every buffer the plan made (stand-ins, snapshots, uniforms): destroyed with it. */
  owned: GPUBuffer[];
}

/** Why a recording was refused (the function then runs as itself for that shape). */
export class Unreplayable extends Error {}

/** The GPU buffer holding a tensor's storage, or null (storage on the CPU, or a texture). */
export function bufferOf(backend: ReplayBackend, t: TensorInfo): GPUBuffer | null {
  const resource = backend.tensorMap.get(t.dataId)?.resource;
  return resource instanceof GPUBuffer ? resource : null;
}

/** Submits what tfjs has recorded and not submitted yet (which also releases the buffers of tensors disposed meanwhile into its pool). */
export function submitPending(backend: ReplayBackend): void {
  if (backend.commandEncoder != null) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** Destroys buffers; with `backend`, after submitting what tfjs has recorded and not submitted yet, which may use them. */
export function destroyAfterSubmit(buffers: GPUBuffer[], backend?: ReplayBackend): void {
  if (backend !== undefined) submitPending(backend);
  for (const b of buffers) b.destroy();
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

/** Runs `fn(...xs)` under watch and makes the plan that replays it (or the reason it cannot). */
export function record(backend: ReplayBackend, fn: (...xs: Tensor[]) => Tensor | Tensor[], xs: Tensor[], variables: Tensor[]): { result: Tensor | Tensor[]; plan: Plan | Unreplayable } {
  const { device } = backend;
  followBindGroupCacheFlag(backend); // settled first: turned on inside the recording, it would wrap the recording's own hooks
  for (const x of xs) backend.uploadToGPU(x.dataId);
  for (const v of variables) backend.uploadToGPU(v.dataId);
  // What came before is submitted: buffers that exist now hold their values by the time a copy
  // submitted during the recording reads them.
  submitPending(backend);
  const inputBuffers = xs.map((x) => bufferOf(backend, x));
  const isInput = new Set<GPUBuffer | null>(inputBuffers);
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
    return { result: fn(...xs), plan: err as Unreplayable };
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
  const signature: string[] = [];
  let refusal: string | null = null;
  const refuse = (why: string) => {
    refusal ??= why;
  };

  // What the function's own code notes (replay-notes.ts), in order.
  type UniformNote = { kind: 'uniforms'; values: () => UniformValues; at?: { group: RecordedGroup; entry: number } };
  const notes: Array<UniformNote | { kind: 'redo'; redo: () => void }> = [];
  const noted = new Map<GPUBuffer, UniformNote>(); // uniform buffers noted since their last write, until a dispatch binds them
  const inPlace = new Set<object>();
  const replayNotes: ReplayNotes = {
    writesInPlace: (t) => {
      inPlace.add(t.dataId);
    },
    uniformsFrom: (buffer, values) => {
      const note: UniformNote = { kind: 'uniforms', values };
      notes.push(note);
      noted.set(buffer, note);
    },
    eachReplay: (redo) => {
      notes.push({ kind: 'redo', redo });
    },
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
    if (!isInput.has(b) && !isVariable.has(b) && !ownedSet.has(b) && !acquired.has(b)) stand.set(b, snapshot(b));
  };
  /**
   * A buffer's part in the signature: an input, a variable, tensor storage tfjs acquired during
   * the call (by the number of that acquisition: which buffer tfjs's pool hands out, and so which
   * tensors share one, depends on what the pool held before, not on the function), or the n-th
   * other buffer met.
   */
  const lifeOf = new Map<GPUBuffer, number>();
  let acquisitions = 0;
  const roles = new Map<GPUBuffer, string>();
  const role = (b: GPUBuffer): string => {
    const life = lifeOf.get(b);
    if (life !== undefined) return `a${life}:${b.size}`;
    let r = roles.get(b);
    if (r === undefined) {
      const i = inputBuffers.indexOf(b);
      const v = variableBuffers.indexOf(b);
      r = i >= 0 ? `x${i}` : v >= 0 ? `v${v}` : `b${roles.size}:${b.size}`;
      roles.set(b, r);
    }
    return r;
  };
  /** Bytes the CPU wrote into buffers mapped for writing, as they were when unmapped. */
  const mappedRanges = new Map<GPUBuffer, ArrayBuffer>(); // (tfjs maps the whole buffer, from offset 0)
  const written = new Map<GPUBuffer, Uint8Array>();
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
      // Tensors' storage only: an upload takes a staging buffer or none, as the pool allows.
      if ((b.usage & GPUBufferUsage.STORAGE) !== 0) lifeOf.set(b, acquisitions++);
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
      else {
        uniformBytes.set(b, bytesOf(data, dataOffset, size));
        noted.delete(b); // a buffer written anew is noted anew
      }
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
        // (the same line as an upload into a buffer created mapped, below: which of the two tfjs uses depends on its pool)
        signature.push(`upload|${role(destination)}@${destinationOffset}|${digest(written.get(source)?.subarray(sourceOffset, sourceOffset + size))}`);
      } else {
        see(source);
        raw.push({ kind: 'copy', source, sourceOffset, destination, destinationOffset, size });
        signature.push(`copy|${role(source)}|${sourceOffset}|${role(destination)}|${destinationOffset}|${size}`);
      }
      return out;
    });
    for (const name of ['clearBuffer', 'writeTimestamp', 'resolveQuerySet', 'copyBufferToTexture', 'copyTextureToBuffer', 'copyTextureToTexture', 'beginRenderPass']) {
      hooks.set(proto.encoder, name, (original) => function (this: GPUCommandEncoder, ...a) {
        refuse(`GPUCommandEncoder.${name}`);
        return original.apply(this, a);
      });
    }
    hooks.set(proto.buffer, 'getMappedRange', (original) => function (this: GPUBuffer, ...a) {
      const range = original.apply(this, a) as ArrayBuffer;
      const offset = (a[0] as number | undefined) ?? 0;
      if (offset === 0) mappedRanges.set(this, range);
      return range;
    });
    // An upload into a buffer created mapped: its bytes, as they are when unmapped, copied in at that point of each replay.
    hooks.set(proto.buffer, 'unmap', (original) => function (this: GPUBuffer, ...a) {
      const range = mappedRanges.get(this);
      if (range !== undefined) {
        mappedRanges.delete(this);
        written.set(this, new Uint8Array(range.slice(0)));
      }
      const out = original.apply(this, a);
      if ((this.usage & GPUBufferUsage.STORAGE) !== 0) {
        see(this);
        raw.push({ kind: 'copy', source: snapshot(this), sourceOffset: 0, destination: this, destinationOffset: 0, size: this.size });
        signature.push(`upload|${role(this)}@0|${digest(written.get(this))}`);
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
      const [wx, wy = 1, wz = 1] = a as number[];
      let line = `dispatch|${pipelineId(pipeline!)}|${wx},${wy},${wz}`;
      const bound = groups.map((g) => {
        const descriptor = g === undefined ? undefined : descriptors.get(g);
        if (descriptor === undefined) {
          refuse('a bind group made before the recording');
          return { descriptor: { layout: null as unknown as GPUBindGroupLayout, entries: [] }, uniforms: [] };
        }
        const group: RecordedGroup = { descriptor, uniforms: [] };
        [...descriptor.entries].forEach((entry, i) => {
          const binding = entry.resource as Partial<GPUBufferBinding>;
          const b = binding.buffer;
          if (b === undefined) {
            refuse('a texture or sampler');
            return;
          }
          if ((b.usage & GPUBufferUsage.UNIFORM) !== 0) {
            const bytes = uniformBytes.get(b);
            if (bytes === undefined) refuse('uniforms written before the recording');
            if ((binding.offset ?? 0) !== 0) refuse('uniforms bound at an offset');
            group.uniforms[i] = bytes;
            const note = noted.get(b);
            if (note !== undefined) {
              noted.delete(b); // bound once: a later dispatch with this buffer binds other values
              note.at = { group, entry: i };
            }
            line += `|${entry.binding}:u${note === undefined ? digest(bytes) : '*'}`;
            return;
          }
          see(b);
          line += `|${entry.binding}:${role(b)}@${binding.offset ?? 0}+${binding.size ?? '*'}`;
        });
        return group;
      });
      raw.push({ kind: 'dispatch', pipeline: pipeline!, groups: bound, workgroups: [wx!, wy, wz] });
      signature.push(line);
      return original.apply(this, a);
    });
    result = withReplayNotes(replayNotes, () => fn(...xs));
  } finally {
    hooks.restore();
  }
  const outputs = (Array.isArray(result) ? result : [result]).map((t) => ({ buffer: bufferOf(backend, t), shape: [...t.shape], dtype: t.dtype }));
  if (inputBuffers.some((b) => b === null) || variableBuffers.some((b) => b === null) || outputs.some((o) => o.buffer === null)) refuse('a tensor outside GPU buffers');
  if (outputs.some((o) => isInput.has(o.buffer) || isVariable.has(o.buffer))) refuse(`an output that is ${xs.length === 1 ? 'the input' : 'an input'} or a variable`);
  if (inputBuffers.some((b) => isVariable.has(b))) refuse('an input that is a variable');
  if (raw.length === 0) refuse('no GPU commands');
  if (notes.some((n) => n.kind === 'uniforms' && n.at === undefined)) refuse('uniforms noted for no dispatch');
  const writtenInPlace = variables.flatMap((v, i) => inPlace.has(v.dataId) ? [i] : []);
  if (writtenInPlace.length < inPlace.size) refuse('a tensor written in place that is not one of the variables');
  signature.push(`outputs|${outputs.map((o) => `${role(o.buffer!)}:${o.dtype}[${o.shape.join(',')}]`).join('|')}`);
  if (refusal !== null) {
    destroyAfterSubmit(owned, backend);
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
  const planNotes: PlanNote[] = notes.map((n) => n.kind === 'redo' ? n
    : { kind: 'uniforms', values: n.values, offset: offsets.get(n.at!.group)![n.at!.entry]!, size: n.at!.group.uniforms[n.at!.entry]!.length });
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
    inputs: (inputBuffers as GPUBuffer[]).map(standIn),
    outputs: outputs.map((o) => ({ buffer: standIn(o.buffer!), shape: o.shape, dtype: o.dtype })),
    returnsArray: Array.isArray(result),
    variableBuffers: variableBuffers as GPUBuffer[],
    writtenInPlace,
    notes: planNotes,
    uniformBuffer,
    signature,
    owned,
  };
  return { result, plan };
}

/** Pipelines numbered in the order first recorded (tfjs and this package keep one object per shader). */
const pipelineIds = new WeakMap<GPUComputePipeline, number>();
let pipelineCount = 0;
function pipelineId(p: GPUComputePipeline): number {
  let id = pipelineIds.get(p);
  if (id === undefined) pipelineIds.set(p, id = ++pipelineCount);
  return id;
}

/** A short digest of bytes (FNV-1a and the length) for comparing two recordings; '-' for none. */
function digest(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '-';
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${bytes.length}:${(h >>> 0).toString(16)}`;
}

/** The bytes of a queue.writeBuffer call's data, from its offset and size (in elements for a typed array). */
function bytesOf(data: ArrayBuffer | ArrayBufferView, offset: number, size: number | undefined): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(offset, size === undefined ? undefined : offset + size));
  const bytesPerElement = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  const start = data.byteOffset + offset * bytesPerElement;
  const end = size === undefined ? data.byteOffset + data.byteLength : start + size * bytesPerElement;
  return new Uint8Array(data.buffer.slice(start, end));
}
