/**
 * The page of the kernels' browser test (../browser.test.ts), bundled for the browser with
 * esbuild: it imports @sa-unet/tfjs-kernels as a web app would and exposes `kernelChecks` for the
 * test to call. Every number it returns is computed in the browser.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fusedAdam, registerTrainingKernels, replayPredict, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { diceLoss } from '@sa-unet/seg-metrics';
import { createModel } from '@sa-unet/unet-zoo';
import { CASES, analyticGrads, label, operands, referenceGrads, relativeError, runsOn } from '../parity-cases.js';
import { withSeed } from '../../../../test-utils/numeric.js';
import { countDispatches } from '../../../../test-utils/dispatches.js';
import { trainingState } from '../../../../test-utils/models.js';
import { trainInBrowser } from '../../../../examples/train-in-browser.js';
import { heapModule } from '../../src/wasm/heap-module.js';

const WASM_FOLDER = new URL('./wasm/', location.href).href;
setWasmPaths(WASM_FOLDER);
// As an app would: once, after importing the backends.
const registered = registerTrainingKernels();

/** tf.setBackend, failing instead of leaving the previous backend active. */
async function use(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start in this browser`);
}

export interface ParityResult {
  case: string;
  backend: string;
  dx: number;
  dfilter: number;
}

/**
 * Convolution gradients of every parity case on those of `backends` it runs on, against the cpu
 * backend's stock gradients (central differences where tfjs has no gradient: dilations > 1).
 */
async function parity(backends: string[]): Promise<ParityResult[]> {
  const results: ParityResult[] = [];
  for (const [index, k] of CASES.entries()) {
    await use('cpu');
    const { x, f, r } = operands(k, index);
    const reference = await referenceGrads(k, x, f, r);
    const values = await Promise.all([x, f, r].map((t) => t.data()));
    for (const backend of backends.filter((b) => runsOn(k, b))) {
      await use(backend);
      const [xb, fb, rb] = [x, f, r].map((t, i) => tf.tensor(values[i], t.shape));
      const [dx, dfilter] = await analyticGrads(k, xb, fb, rb);
      results.push({ case: label(k), backend, dx: relativeError(dx, reference[0]), dfilter: relativeError(dfilter, reference[1]) });
      tf.dispose([xb, fb, rb]);
    }
    await use('cpu');
    tf.dispose([x, f, r]);
  }
  return results;
}

export interface TrainingResult {
  backend: string;
  losses: number[];
  /** tf.memory().numTensors after each step. */
  tensors: number[];
}

/** A batch of 4 bright discs in fixed noise, 32x32, and their masks. */
function discs(): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const rows = tf.reshape(tf.range(0, 32), [1, 32, 1, 1]);
    const cols = tf.reshape(tf.range(0, 32), [1, 1, 32, 1]);
    const centres = tf.tensor([10, 14, 18, 22], [4, 1, 1, 1]);
    const radius2 = tf.add(tf.square(tf.sub(rows, centres)), tf.square(tf.sub(cols, tf.sub(32, centres))));
    const masks = tf.cast(tf.less(radius2, 36), 'float32') as tf.Tensor4D;
    const noise = tf.tensor(Float32Array.from({ length: 4 * 32 * 32 }, (_, i) => ((i * 7919) % 101) / 101), [4, 32, 32, 1]);
    return [tf.add(tf.mul(masks, 0.6), tf.mul(noise, 0.4)) as tf.Tensor4D, masks];
  });
}

/**
 * A small SA-U-Net (32x32, base 4, depth 2, the same seeded weights on every backend) trained with
 * fusedAdam and the dice loss on a batch of bright discs in noise.
 */
async function train(backend: string, steps: number): Promise<TrainingResult> {
  await use(backend);
  const model = withSeed(7, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 }));
  const optimizer = fusedAdam(0.01);
  model.compile({ optimizer, loss: diceLoss });
  const [x, y] = discs();
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let step = 0; step < steps; step++) {
    losses.push((await model.trainOnBatch(x, y)) as number);
    tensors.push(tf.memory().numTensors);
  }
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return { backend, losses, tensors };
}

/** The docs' browser-training example on 4 small images (bright discs in noise), for 2 epochs. */
async function example(): Promise<{ backend: string; losses: number[]; params: number }> {
  const [images, masks] = discs();
  const { model, backend, losses } = await trainInBrowser(images, masks, WASM_FOLDER, 2);
  const params = model.countParams();
  tf.dispose([images, masks]);
  model.dispose();
  return { backend, losses, params };
}

export interface ReplayResult {
  /** Whether each replayed prediction equals the model's own, bit for bit. */
  equal: boolean[];
  counts: { recordings: number; replays: number };
  /** Dispatches of a prediction and of its replay (GPUComputePassEncoder.dispatchWorkgroups calls). */
  dispatches: [number, number];
  /** tf.memory().numTensors before and after the replays. */
  tensors: [number, number];
}

/** A small SA-U-Net's predictions on webgpu through replayPredict against model.predict, for four images. */
async function replay(): Promise<ReplayResult> {
  await use('webgpu');
  const model = withSeed(9, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 }));
  const fast = replayPredict(model);
  const xs = [1, 2, 3, 4].map((seed) => tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', seed));
  const read = async (t: tf.Tensor | tf.Tensor[]) => {
    const v = await (t as tf.Tensor).data();
    (t as tf.Tensor).dispose();
    return v;
  };
  for (let i = 0; i < 2; i++) await read(fast.run(xs[0]!)); // a first call, then the recording
  const before = tf.memory().numTensors;
  const equal: boolean[] = [];
  for (const x of xs) {
    const [a, b] = [await read(model.predict(x)), await read(fast.run(x))];
    equal.push(a.length === b.length && a.every((v, i) => Object.is(v, b[i])));
  }
  const after = tf.memory().numTensors;
  const predicted = countDispatches(() => model.predict(xs[0]!));
  const replayed = countDispatches(() => fast.run(xs[0]!));
  await read(predicted.result);
  await read(replayed.result);
  const dispatches: [number, number] = [predicted.dispatches, replayed.dispatches];
  const counts = fast.counts;
  fast.dispose();
  tf.dispose(xs);
  model.dispose();
  return { equal, counts, dispatches, tensors: [before, after] };
}

export interface TrainingReplayResult {
  /** Whether each replayed step's loss equals trainOnBatch's, bit for bit. */
  equalLosses: boolean[];
  /** Whether every weight and optimizer value after the steps equals trainOnBatch's twin's, bit for bit. */
  equalState: boolean;
  counts: { recordings: number; replays: number };
  /** tf.memory().numTensors after the fourth step and after the last. */
  tensors: [number, number];
}

/** Six Adam steps of a small SA-U-Net on webgpu through replayTrainStep against its twin's trainOnBatch. */
async function replayTraining(): Promise<TrainingReplayResult> {
  await use('webgpu');
  const [a, b] = [0, 1].map(() => withSeed(11, () => createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 })));
  for (const m of [a!, b!]) m.compile({ optimizer: fusedAdam(0.01), loss: 'meanSquaredError' });
  const step = replayTrainStep(b!);
  const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 5);
  const y = tf.tidy(() => tf.cast(tf.greater(x, 0.6), 'float32'));
  const equalLosses: boolean[] = [];
  const tensors: [number, number] = [0, 0];
  for (let i = 0; i < 6; i++) {
    const expected = await a!.trainOnBatch(x, y) as number;
    const [loss] = step.run(x, y) as tf.Tensor[];
    equalLosses.push(Object.is((await loss!.data())[0], Math.fround(expected)));
    loss!.dispose();
    if (i === 3) tensors[0] = tf.memory().numTensors;
  }
  tensors[1] = tf.memory().numTensors;
  const [sa, sb] = [await trainingState(a!), await trainingState(b!)];
  const equalState = sa.length === sb.length && sa.every((v, i) => v.length === sb[i]!.length && v.every((e, j) => Object.is(e, sb[i]![j])));
  const counts = step.counts;
  step.dispose();
  tf.dispose([x, y]);
  for (const m of [a!, b!]) {
    m.optimizer.dispose();
    m.dispose();
  }
  return { equalLosses, equalState, counts, tensors };
}

/**
 * Whether the wasm kernels' heap module (a WebAssembly module that imports the wasm backend's
 * memory) runs in this browser, and the registered Concat (the layer's four stages), Mean (the
 * channel attention's pooling), Transpose and FusedBatchNorm then give the values computed in
 * JavaScript here (batch norm with the stock kernel's roundings).
 */
async function heapModuleCheck(): Promise<{ runs: boolean; concatEqual: boolean; meanEqual: boolean; transposeEqual: boolean; batchNormEqual: boolean }> {
  await use('wasm');
  const runs = heapModule(tf.backend()) !== null;
  const stages = tf.tidy(() => [0, 1, 2, 3].map((i) => tf.reshape(tf.add(tf.mul(tf.range(0, 2 * 5 * 5 * 8, 1, 'float32'), 4), i), [2, 5, 5, 8])));
  const z = tf.concat(stages, 3);
  const pooled = tf.mean(z, [1, 2]);
  const [values, means, ...parts] = await Promise.all([z, pooled, ...stages].map((t) => t.data()));
  const expected: number[] = [];
  for (let p = 0; p < 2 * 5 * 5; p++) for (const part of parts) expected.push(...Array.from(part!.subarray(p * 8, p * 8 + 8)));
  const concatEqual = expected.every((v, i) => values![i] === v) && values!.length === expected.length;
  // Sums of whole numbers below 2^24: exact in any order.
  const expectedMeans = new Float32Array(2 * 32);
  for (let n = 0; n < 2; n++) for (let p = 0; p < 25; p++) for (let c = 0; c < 32; c++) expectedMeans[n * 32 + c]! += expected[(n * 25 + p) * 32 + c]!;
  const meanEqual = Array.from(expectedMeans).every((v, i) => Math.fround(v / 25) === means![i]);
  // A 2-D transpose: 4x4 tiles and the rows and columns past them.
  const flat = tf.reshape(z, [50, 32]);
  const transposed = tf.transpose(tf.slice(flat, [0, 0], [50, 30]));
  const columns = await transposed.data();
  const transposeEqual = columns.every((v, i) => v === values![(i % 50) * 32 + Math.floor(i / 50)]);
  // Batch norm of z over its 32 channels (13 rows of x/7 so the roundings show): 8 SIMD passes per row.
  const f = Math.fround;
  const stats = [0.5, 0.25, 3, 2].map((k) => Float32Array.from({ length: 32 }, (_, c) => f(k * (c + 1) / 7)));
  const [mean, variance, offset, scale] = stats.map((v) => tf.tensor1d(v!));
  const x = tf.div(tf.slice(flat, [0, 0], [13, 32]), 7);
  const normalized = tf.batchNorm(x, mean!, variance!, offset, scale, 1e-3);
  const [xs, ys] = await Promise.all([x.data(), normalized.data()]);
  const batchNormEqual = Array.from(ys).every((v, i) => {
    const c = i % 32;
    const divisor = f(Math.sqrt(f(stats[1]![c]! + f(1e-3))));
    return v === f(f(f(xs[i]! - stats[0]![c]!) * stats[3]![c]!) / divisor + stats[2]![c]!);
  });
  tf.dispose([z, pooled, flat, transposed, mean!, variance!, offset!, scale!, x, normalized, ...stages]);
  return { runs, concatEqual, meanEqual, transposeEqual, batchNormEqual };
}

/**
 * Whether the page is cross-origin isolated, and whether the wasm backend's heap is then shared
 * memory (tfjs-backend-wasm's threaded build, which browsers run where SharedArrayBuffer exists).
 */
async function isolation(): Promise<{ crossOriginIsolated: boolean; sharedHeap: boolean }> {
  await use('wasm');
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true, sharedHeap: typeof SharedArrayBuffer !== 'undefined' && wasmHeap().buffer instanceof SharedArrayBuffer };
}

/** The wasm backend's heap, as it is now (a heap that grows gets a new view). */
function wasmHeap(): Uint8Array {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
}

/** {@link heapModuleCheck} with a 64 MB tensor alive beside it, which grows the wasm heap (its memory) first. */
async function grownHeapCheck(): Promise<Awaited<ReturnType<typeof heapModuleCheck>> & { grew: boolean }> {
  await use('wasm');
  const before = wasmHeap().length;
  const big = tf.fill([16 * 1024 * 1024], 1);
  try {
    return { grew: wasmHeap().length > before, ...(await heapModuleCheck()) };
  } finally {
    big.dispose();
  }
}

const checks = {
  /** The backends `registerTrainingKernels()` registered kernels for. */
  registered: () => registered,
  isolation,
  grownHeapCheck,
  heapModuleCheck,
  /** Whether the browser has a WebGPU adapter. */
  adapter: async () => (await navigator.gpu?.requestAdapter()) != null,
  parity,
  train,
  example,
  replay,
  replayTraining,
};
export type KernelChecks = typeof checks;
Object.assign(globalThis, { kernelChecks: checks });
