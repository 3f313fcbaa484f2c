/**
 * Dispatches of shaders that tfjs-backend-webgpu's programs cannot express, recorded into tfjs's
 * own command stream: programs there have one output and read-only inputs, so a shader that writes
 * several outputs (batch norm's per-channel results) or updates storage in place (fusedAdam) is
 * compiled and bound here. Each dispatch goes into tfjs's current compute pass and submit batch,
 * after the programs recorded before it, and counts in tf.profile's and tf.time's GPU time as
 * tfjs's own do.
 */
import { env, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackendInternals } from './backend-internals.js';
import { replayNotes, type UniformValues } from './replay-notes.js';

/** What recording needs of tfjs-backend-webgpu 4.x beyond running programs: its command recording. */
export interface RecordingBackend extends WebGPUBackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  /** Data that a recorded, not yet submitted command reads: released only after the submit. */
  commandQueueOwnedIds: WeakSet<object>;
  /** Set while tf.time or tf.profile measures: the GPU timers of the programs recorded since. */
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  /** Resolves the last timed pass's timestamps: its GPU ms. */
  getQueryTime(): Promise<number>;
  /** Writes the uniforms into a pooled uniform buffer, released after the next submit. */
  makeUniforms(uniforms: Array<{ type: string; data: number[] }>): GPUBufferBinding;
  tensorToBinding(t: TensorInfo): GPUBindingResource;
  refCount(dataId: object): number;
}

/** A WGSL compute shader with entry point `main`, its uniforms bound last; `key` names it in the pipeline cache. */
export interface RecordedShader {
  key: string;
  code(): string;
}

/** A compiled shader and its bind group layout, asked for once (each getBindGroupLayout call makes a new object: 4-6 µs in Dawn). */
interface Compiled { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

const pipelines = new WeakMap<GPUDevice, Map<string, Compiled>>();

function pipelineOf(device: GPUDevice, shader: RecordedShader): Compiled {
  let cache = pipelines.get(device);
  if (cache === undefined) pipelines.set(device, cache = new Map());
  let compiled = cache.get(shader.key);
  if (compiled === undefined) {
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: shader.code() }), entryPoint: 'main' },
    });
    compiled = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    cache.set(shader.key, compiled);
  }
  return compiled;
}

/**
 * Records one dispatch of `shader` that reads `inputs` and writes new tensors of `outputShapes`
 * (bound in that order, then the uniforms), and returns those; released again if recording fails.
 */
export function recordIntoNew(gpu: RecordingBackend, shader: RecordedShader, inputs: TensorInfo[], outputShapes: number[][],
  uniforms: Array<{ type: string; data: number[] }>, workgroups: [number, number, number], dtype: DataType = 'float32'): TensorInfo[] {
  const outputs: TensorInfo[] = [];
  try {
    for (const shape of outputShapes) {
      const t = gpu.makeTensorInfo(shape, dtype);
      gpu.uploadToGPU(t.dataId); // GPU storage for the shader to write
      outputs.push(t);
    }
    recordDispatch(gpu, shader, [...inputs, ...outputs], uniforms, workgroups);
    return outputs;
  } catch (err) {
    for (const t of outputs) gpu.disposeData(t.dataId);
    throw err;
  }
}

/**
 * Drops the values tfjs-backend-webgpu keeps of a tensor on the CPU: it serves what a read
 * (`data()`, a model's save) returned to every later read, so after an update in place that copy
 * would be stale (a second save would write the weights of the first).
 */
export function dropCpuCopy(gpu: RecordingBackend, dataId: object): void {
  const data = gpu.tensorMap.get(dataId);
  if (data !== undefined) data.values = null;
}

/**
 * Whether `tensors` may be overwritten in place by a dispatch recorded next: each uses its
 * storage alone (no other tensor shares it, nor one another), on the GPU as a buffer. If so, their
 * copies on the CPU are dropped, and a recording replay (replay-notes.ts) is told of the writes.
 */
export function writableInPlace(gpu: RecordingBackend, tensors: TensorInfo[]): boolean {
  if (new Set(tensors.map((t) => t.dataId)).size < tensors.length) return false;
  const owned = tensors.every((t) => {
    if (gpu.refCount(t.dataId) !== 1) return false;
    gpu.uploadToGPU(t.dataId);
    return gpu.tensorMap.get(t.dataId)?.resource instanceof GPUBuffer;
  });
  if (!owned) return false;
  for (const t of tensors) {
    dropCpuCopy(gpu, t.dataId);
    replayNotes()?.writesInPlace(t);
  }
  return true;
}

/** WGSL element type of a tensor's storage: float32, or int32 (also bool, and a float32 tensor cast by the stock Cast). */
export type StorageType = 'f32' | 'i32';

/** The {@link StorageType} of `t`'s storage. */
export function storageType(gpu: RecordingBackend, t: TensorInfo): StorageType {
  return gpu.tensorMap.get(t.dataId)?.dtype === 'float32' ? 'f32' : 'i32';
}

/**
 * Records one dispatch of `shader` with `tensors` bound at bindings 0.. in order (as the shader
 * declares them, read or read_write) and `uniforms` after them. `refreshUniforms`, where the
 * uniforms change from call to call (an optimizer's bias corrections), computes them anew for a
 * replay of this dispatch (replay-notes.ts).
 */
export function recordDispatch(gpu: RecordingBackend, shader: RecordedShader, tensors: TensorInfo[],
  uniforms: UniformValues, workgroups: [number, number, number], refreshUniforms?: () => UniformValues): void {
  const { pipeline, layout } = pipelineOf(gpu.device, shader);
  // tfjs's compile-only pass (parallel pipeline compilation) runs no programs: compiled, not recorded.
  if (env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')) return;
  for (const t of tensors) gpu.uploadToGPU(t.dataId);
  const uniformBinding = gpu.makeUniforms(uniforms);
  if (refreshUniforms !== undefined) replayNotes()?.uniformsFrom(uniformBinding.buffer, refreshUniforms);
  const bindGroup = gpu.device.createBindGroup({
    layout,
    entries: [
      ...tensors.map((t, binding) => ({ binding, resource: gpu.tensorToBinding(t) })),
      { binding: tensors.length, resource: uniformBinding },
    ],
  });
  for (const t of tensors) gpu.commandQueueOwnedIds.add(t.dataId);
  gpu.ensureCommandEncoderReady();
  // Timed as tfjs times its programs: a pass of its own (with timestamps where the device has
  // them), its timer resolved right after.
  const timed = gpu.activeTimers != null;
  if (timed && gpu.supportTimestampQuery) {
    gpu.endComputePassEncoder();
    gpu.querySet ??= gpu.device.createQuerySet({ type: 'timestamp', count: gpu.querySetCount });
    gpu.computePassEncoder = gpu.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: gpu.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  }
  gpu.computePassEncoder ??= gpu.commandEncoder!.beginComputePass({});
  gpu.computePassEncoder.setPipeline(pipeline);
  gpu.computePassEncoder.setBindGroup(0, bindGroup);
  gpu.computePassEncoder.dispatchWorkgroups(...workgroups);
  gpu.dispatchCountInPass++;
  if (timed) {
    gpu.endComputePassEncoder();
    gpu.activeTimers!.push({ name: shader.key, query: gpu.getQueryTime() });
  } else if (gpu.dispatchCountInPass >= env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')) {
    gpu.endComputePassEncoder();
    gpu.submitQueue();
  }
}
