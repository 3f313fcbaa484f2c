/**
 * A function of tensors recorded once as the WebGPU commands it runs, then replayed without
 * running tfjs again: inference (and training steps: replay-train.ts) without the CPU's work per
 * dispatch.
 *
 * On webgpu a forward pass at batch 1 is CPU-bound: tfjs-layers, tfjs-core's engine and
 * tfjs-backend-webgpu spend about 80 µs of CPU per dispatch even with bind groups reused (Dawn's
 * null backend, 2 cores: U-Net 4.6 ms for 59 dispatches), while an H200 ran U-Net's in 3.9 ms of
 * GPU time. A replay encodes the recorded dispatches (replay-plan.ts) straight into tfjs's command
 * stream: a pipeline, a bind group and a dispatch each, the inputs copied in first and the outputs
 * copied into new tfjs tensors at the end, after what the recording noted (uniforms computed anew,
 * CPU work redone). With `verify`, a plan is kept only where two recordings in a row ran the same
 * commands with the same bytes.
 */
import { engine, env, type DataType, type Tensor } from '@tensorflow/tfjs-core';
import { bufferOf, destroyAfterSubmit, record, submitPending, Unreplayable, type Plan, type ReplayBackend } from './replay-plan.js';
import type { UniformValues } from './replay-notes.js';
import { dropCpuCopy } from './recorded-dispatch.js';

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
  /**
   * Record twice (the second and third calls per input shape) and replay only where both
   * recordings ran the same commands with the same uniforms and uploads, so that a function that
   * depends on anything besides its inputs and variables (random numbers, CPU-side state that is
   * not noted) runs as itself instead of replaying stale values. Default false.
   */
  verify?: boolean;
  /**
   * Input shapes whose recordings are kept. Each holds the GPU memory of a whole pass (see
   * {@link WebGPUReplayCounts.bytes}), so recording one more releases the one used least recently,
   * which records again at its next call. Default 4 (a training run's full and last batches, a
   * few image sizes); `Infinity` keeps them all until {@link WebGPUReplay.dispose}.
   */
  maxShapes?: number;
}

/** {@link WebGPUReplayOptions.maxShapes}' default. */
const DEFAULT_MAX_SHAPES = 4;

/** What {@link WebGPUReplay.counts} reports. */
export interface WebGPUReplayCounts {
  /** Recordings made (one per input shape, and again after a variable got new storage). */
  recordings: number;
  /** Calls replayed. */
  replays: number;
  /** Bytes of the GPU buffers the replay holds now (its stand-ins, snapshots and uniforms; 0 once disposed). */
  bytes: number;
  /** Input shapes with a recording held now (at most {@link WebGPUReplayOptions.maxShapes}). */
  shapes: number;
}

/**
 * `fn` recorded on webgpu at its first calls for each input shape and replayed after (see the
 * module's notes); on other backends, and where recording is refused, `fn` itself. Same results:
 * a replay runs the same shaders on the same data. `fn` must be a pure function of its input and
 * the variables (no randomness, no reading values back) returning new tensors.
 */
export class WebGPUReplay {
  private readonly plans = new Map<string, Plan | Unreplayable>();
  /**
   * Per input shape: calls made without a plan; with `verify`, the signature of the last recording
   * not yet confirmed, and how many recordings in a row disagreed with the one before.
   */
  private readonly calls = new Map<string, { count: number; unconfirmed?: string[]; disagreements: number }>();
  private recordings = 0;
  private replays = 0;
  private disposed = false;
  private readonly maxShapes: number;

  constructor(private readonly fn: (...inputs: Tensor[]) => Tensor | Tensor[], private readonly options: WebGPUReplayOptions = {}) {
    // Checked here: a wrong argument would otherwise fail only at a later run(), inside tfjs.
    if (typeof fn !== 'function') throw new Error(`WebGPUReplay: fn must be a function of input tensors, got ${typeof fn}`);
    if (options === null || typeof options !== 'object') throw new Error(`WebGPUReplay: options must be an object, got ${String(options)}`);
    if (options.variables !== undefined && typeof options.variables !== 'function') {
      throw new Error(`WebGPUReplay: options.variables must be a function returning the tensors that may change, got ${typeof options.variables}`);
    }
    if (options.verify !== undefined && typeof options.verify !== 'boolean') throw new Error(`WebGPUReplay: options.verify must be a boolean, got ${typeof options.verify}`);
    const { maxShapes } = options;
    if (maxShapes !== undefined && !(typeof maxShapes === 'number' && maxShapes >= 1 && (Number.isInteger(maxShapes) || maxShapes === Infinity))) {
      throw new Error(`WebGPUReplay: options.maxShapes must be a whole number of at least 1, or Infinity, got ${String(maxShapes)}`);
    }
    this.maxShapes = maxShapes ?? DEFAULT_MAX_SHAPES;
  }

  /** `fn(...inputs)`, replayed where it can be. The result is a new tensor (or tensors) for the caller to dispose. */
  run(...inputs: Tensor[]): Tensor | Tensor[] {
    if (this.disposed) throw new Error('WebGPUReplay.run: this replay has been disposed');
    if (inputs.length === 0) throw new Error('WebGPUReplay.run: give at least one input tensor');
    const backend = engine().backend as ReplayBackend;
    if (engine().backendName !== 'webgpu' || profiling()) return this.fn(...inputs); // under tf.profile or in debug mode: the kernels, each seen
    const key = inputKey(inputs.map((t) => t.shape), inputs.map((t) => t.dtype));
    let plan = this.plans.get(key);
    if (plan instanceof Unreplayable) return this.fn(...inputs);
    const variables = this.options.variables?.() ?? [];
    if (plan !== undefined && !replayable(backend, plan, variables)) {
      release(plan, backend);
      this.plans.delete(key);
      plan = undefined;
    }
    if (plan === undefined) return this.recordCall(backend, key, inputs, variables);
    // Most recently used last: the Map's order is the order of release when over maxShapes.
    this.plans.delete(key);
    this.plans.set(key, plan);
    this.replays++;
    return replay(backend, plan, inputs, variables);
  }

  /** A call without a plan: the function itself, recorded from the second call on (twice with `verify`). */
  private recordCall(backend: ReplayBackend, key: string, inputs: Tensor[], variables: Tensor[]): Tensor | Tensor[] {
    const state = this.calls.get(key) ?? { count: 0, disagreements: 0 };
    this.calls.set(key, state);
    state.count++;
    if (state.count === 1) return this.fn(...inputs); // first call: pipelines compiled, constants made, outside the recording
    const recorded = record(backend, this.fn, inputs, variables);
    let plan = recorded.plan;
    if (this.options.verify === true && !(plan instanceof Unreplayable)) {
      // Replayed only once two recordings in a row agree. One that differs from the one before
      // may follow a change that lasts (a weight given new storage once): it is compared with the
      // next; a function that differs at every call (random numbers) is refused after a few.
      const difference = state.unconfirmed === undefined ? null : firstDifference(state.unconfirmed, plan.signature);
      if (state.unconfirmed === undefined || difference !== null) {
        if (difference !== null) state.disagreements++;
        state.unconfirmed = plan.signature;
        release(plan, backend);
        if (state.disagreements < VERIFY_DISAGREEMENTS) return recorded.result;
        plan = new Unreplayable(`${VERIFY_DISAGREEMENTS} calls in a row ran GPU commands other than the call before (the last: ${difference}): ` +
          'the function depends on more than its inputs and variables (random numbers, CPU-side state)');
      }
      state.unconfirmed = undefined;
      state.disagreements = 0;
    }
    this.plans.set(key, plan);
    if (!(plan instanceof Unreplayable)) {
      this.recordings++;
      this.releaseOverLimit(backend);
      releaseFreeBuffers(backend);
    }
    return recorded.result;
  }

  /** Releases the least recently used recordings beyond maxShapes (refusals hold no GPU memory and stay). */
  private releaseOverLimit(backend: ReplayBackend): void {
    const held = [...this.plans].filter((entry): entry is [string, Plan] => !(entry[1] instanceof Unreplayable));
    for (const [key, plan] of held.slice(0, Math.max(0, held.length - this.maxShapes))) {
      release(plan, backend);
      this.plans.delete(key);
    }
  }

  /** Recordings made and replays run so far (for tests and diagnostics). */
  get counts(): WebGPUReplayCounts {
    let bytes = 0;
    let shapes = 0;
    for (const plan of this.plans.values()) {
      if (plan instanceof Unreplayable) continue;
      shapes++;
      for (const b of plan.owned) bytes += b.size;
    }
    return { recordings: this.recordings, replays: this.replays, bytes, shapes };
  }

  /**
   * Why the function runs as itself for inputs of `shape` and `dtype` (with several inputs: an
   * array of shapes, and of dtypes), or null where it is replayed or not yet recorded.
   */
  refusal(shape: number[] | number[][], dtype: DataType | DataType[] = 'float32'): string | null {
    const shapes = shape.length > 0 && Array.isArray(shape[0]) ? shape as number[][] : [shape as number[]];
    const dtypes = Array.isArray(dtype) ? dtype : shapes.map(() => dtype);
    const plan = this.plans.get(inputKey(shapes, dtypes));
    return plan instanceof Unreplayable ? plan.message : null;
  }

  /** Frees the replay's GPU buffers; later calls throw. */
  dispose(): void {
    for (const plan of this.plans.values()) if (!(plan instanceof Unreplayable)) release(plan);
    this.plans.clear();
    this.calls.clear();
    this.disposed = true;
  }
}

/** Recordings in a row that may disagree with the one before before `verify` refuses a function. */
const VERIFY_DISAGREEMENTS = 3;

function inputKey(shapes: number[][], dtypes: DataType[]): string {
  return shapes.map((shape, i) => `${dtypes[i]}|${shape.join(',')}`).join(';');
}

/** Where two recordings' signatures first differ, in words, or null where they agree. */
function firstDifference(a: string[], b: string[]): string | null {
  if (a.length !== b.length) return `${a.length} against ${b.length} commands`;
  const i = a.findIndex((line, j) => line !== b[j]);
  return i < 0 ? null : `command ${i + 1} of ${a.length}: ${a[i]!.split('|')[0]}`;
}

/**
 * A {@link WebGPUReplay} of a model's `predict`, its weights as the variables: the same
 * predictions, on webgpu without tfjs's CPU work per layer after the first two calls per input
 * shape. Retraining in place (fusedAdam) shows at once; weights set anew make it record again.
 * `options.maxShapes` (default 4) bounds the input shapes whose recordings are kept.
 */
export function replayPredict(model: { predict(x: Tensor): Tensor | Tensor[]; weights: Array<{ read(): Tensor }> }, options: Pick<WebGPUReplayOptions, 'maxShapes'> = {}): WebGPUReplay {
  // Checked here: a wrong argument would otherwise fail only at the first run(), inside tfjs.
  if (typeof model?.predict !== 'function' || !Array.isArray(model.weights)) {
    const got = model === null || typeof model !== 'object' ? String(model) : 'an object without predict() and weights';
    throw new Error(`replayPredict: model must be a tfjs-layers model (predict() and weights), got ${got}`);
  }
  return new WebGPUReplay((x) => model.predict(x), { ...options, variables: () => model.weights.map((w) => w.read()) });
}

/** Whether tfjs is profiling kernels (tf.profile, tf.time's kernels, debug mode): they must run to be seen. */
function profiling(): boolean {
  const e = engine() as unknown as { state: { profiling?: boolean }; backend: { activeTimers?: unknown } };
  return e.state.profiling === true || env().getBool('DEBUG') || e.backend.activeTimers != null;
}

/** Whether the variables are where the plan was recorded, those it writes in place with storage of their own. */
function replayable(backend: ReplayBackend, plan: Plan, variables: Tensor[]): boolean {
  const recorded = plan.variableBuffers;
  return variables.length === recorded.length && variables.every((v, i) => !v.isDisposed && bufferOf(backend, v) === recorded[i]) &&
    plan.writtenInPlace.every((i) => backend.refCount(variables[i]!.dataId) === 1);
}

/**
 * Destroys the plan's buffers; with `backend`, after submitting what tfjs has recorded and not
 * submitted yet, which may use them (the recording call's own uploads go through them).
 */
function release(plan: Plan, backend?: ReplayBackend): void {
  destroyAfterSubmit(plan.owned, backend);
}

/**
 * Destroys the buffers tfjs's pool holds free. They are the recorded call's working set, which the
 * plan now holds buffers of its own for (one for one): kept, the pool and the plan would hold it
 * twice (a training step of SA-U-Net at 32x32: 40 MB each). tfjs makes new ones when it needs them.
 */
function releaseFreeBuffers(backend: ReplayBackend): void {
  const pool = backend.bufferManager as unknown as { freeBuffers?: unknown; numFreeBuffers: number; numBytesAllocated: number };
  if (!(pool.freeBuffers instanceof Map)) return;
  submitPending(backend); // which also releases the buffers of tensors disposed since the last submit into the pool
  const free = [...(pool.freeBuffers as Map<string, GPUBuffer[]>).values()].flatMap((list) => list.splice(0));
  pool.numFreeBuffers -= free.length;
  for (const b of free) {
    pool.numBytesAllocated -= b.size;
    b.destroy();
  }
}

/**
 * tfjs-backend-webgpu's uniform layout for scalars: 4 bytes each, in order (the only values a
 * replay computes anew; vectors have alignment rules of their own).
 */
function packScalars(values: UniformValues): Uint8Array {
  const out = new ArrayBuffer(values.length * 4);
  values.forEach((v, i) => {
    if (v.data.length !== 1) throw new Error(`WebGPUReplay: uniforms computed anew must be scalars, got ${v.data.length} values`);
    const view = v.type === 'int32' ? new Int32Array(out, i * 4, 1) : v.type === 'uint32' ? new Uint32Array(out, i * 4, 1) : new Float32Array(out, i * 4, 1);
    view[0] = v.data[0]!;
  });
  return new Uint8Array(out);
}

/** Encodes the plan into tfjs's command stream for `inputs`; new tensors for its outputs. */
function replay(backend: ReplayBackend, plan: Plan, inputs: Tensor[], variables: Tensor[]): Tensor | Tensor[] {
  const sources = inputs.map((x, i) => {
    backend.uploadToGPU(x.dataId);
    const source = bufferOf(backend, x);
    if (source === null || source.size !== plan.inputs[i]!.size) throw new Error(`WebGPUReplay.run: input ${i} is not in a GPU buffer of the recorded size`);
    return source;
  });
  // Every earlier replay of this plan has been submitted, so these writes land between them and this one.
  for (const note of plan.notes) {
    if (note.kind === 'redo') {
      note.redo();
      continue;
    }
    const bytes = packScalars(note.values());
    if (bytes.length !== note.size) throw new Error(`WebGPUReplay: uniforms computed anew took ${bytes.length} bytes, recorded ${note.size}`);
    backend.queue.writeBuffer(plan.uniformBuffer!, note.offset, bytes.buffer as ArrayBuffer);
  }
  // Values a read cached on the CPU are stale once the storage is written in place.
  for (const i of plan.writtenInPlace) dropCpuCopy(backend, variables[i]!.dataId);
  const outputs = plan.outputs.map((o) => {
    const info = backend.makeTensorInfo(o.shape, o.dtype);
    backend.uploadToGPU(info.dataId);
    return info;
  });
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  const encoder = backend.commandEncoder!;
  sources.forEach((source, i) => encoder.copyBufferToBuffer(source, 0, plan.inputs[i]!, 0, plan.inputs[i]!.size));
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
  for (const x of inputs) backend.commandQueueOwnedIds.add(x.dataId);
  for (const info of outputs) backend.commandQueueOwnedIds.add(info.dataId);
  backend.submitQueue();
  const tensors = outputs.map((info) => engine().makeTensorFromTensorInfo(info));
  return plan.returnsArray ? tensors : tensors[0]!;
}
