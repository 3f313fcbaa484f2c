/**
 * WebGPUReplay and replayPredict (src/webgpu/replay.ts): a function recorded as its WebGPU commands
 * and replayed gives the function's own results bit for bit, for new inputs, after training in
 * place (fusedAdam), after new weights (recorded again), with several outputs, for two models in
 * turn, and with its input disposed at once; it leaks no tensors; where it cannot record, and on
 * other backends and under tf.profile, the function runs as itself. Functions of several inputs;
 * `verify`, which refuses a function whose two recordings differ; replayTrainStep, a model's
 * training step replayed: the weights, optimizer state and losses of trainOnBatch bit for bit. On Dawn (in CI on Mesa's
 * lavapipe); skipped with a message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGPUReplay, fusedAdam, registerTrainingKernels, replayPredict, replayTrainStep } from '@sa-unet/tfjs-kernels';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { trainingState } from '../../../test-utils/models.js';

const adapter = await nodeWebGPU('the WebGPU replay tests');

/** A small conv net with what the zoo's are made of: batch norm (unless `batchNorm` is false), ReLU, pooling, upsampling, a skip, a sigmoid; two outputs with `twoHeads`. */
function smallNet(seed: number, options: { twoHeads?: boolean; batchNorm?: boolean } = {}): tfl.LayersModel {
  const { twoHeads = false, batchNorm = true } = options;
  const input = tfl.input({ shape: [16, 16, 1] });
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed + s });
  const conv = (filters: number, x: tfl.SymbolicTensor, s: number) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: init(s) }).apply(x) as tfl.SymbolicTensor;
  const normalized = (x: tfl.SymbolicTensor) => (batchNorm ? tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor : x);
  const a = tfl.layers.reLU().apply(normalized(conv(8, input, 1))) as tfl.SymbolicTensor;
  const down = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(a) as tfl.SymbolicTensor;
  const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(conv(8, down, 2)) as tfl.SymbolicTensor;
  const merged = tfl.layers.concatenate().apply([a, up]) as tfl.SymbolicTensor;
  const head = (s: number) => tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: init(s) }).apply(merged) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: twoHeads ? [head(3), head(4)] : head(3) });
}

const image = (seed: number) => tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', seed);

async function values(t: tf.Tensor | tf.Tensor[]): Promise<number[][]> {
  const ts = Array.isArray(t) ? t : [t];
  const out = await Promise.all(ts.map(async (x) => Array.from(await x.data())));
  tf.dispose(ts);
  return out;
}

describe('replayPredict\'s argument (any backend)', () => {
  it.each([
    ['null', null, /got null$/],
    ['a number', 3, /got 3$/],
    ['a plain object', {}, /got an object without predict\(\) and weights/],
    ['a function without weights', { predict: () => null }, /got an object without predict\(\) and weights/],
  ])('refuses %s at once, naming what it expects', (_, model, got) => {
    expect(() => replayPredict(model as never)).toThrow(/^replayPredict: model must be a tfjs-layers model \(predict\(\) and weights\)/);
    expect(() => replayPredict(model as never)).toThrow(got);
  });

  it.each<[string, () => unknown, string]>([
    ['a function that is not one', () => new WebGPUReplay(3 as never), 'WebGPUReplay: fn must be a function of input tensors, got number'],
    ['options that are not an object', () => new WebGPUReplay((x) => x, null as never), 'WebGPUReplay: options must be an object, got null'],
    ['variables that are not a function', () => new WebGPUReplay((x) => x, { variables: [] as never }),
      'WebGPUReplay: options.variables must be a function returning the tensors that may change, got object'],
    ['verify that is not a boolean', () => new WebGPUReplay((x) => x, { verify: 'yes' as never }), 'WebGPUReplay: options.verify must be a boolean, got string'],
    ['maxShapes of 0', () => new WebGPUReplay((x) => x, { maxShapes: 0 }), 'WebGPUReplay: options.maxShapes must be a whole number of at least 1, or Infinity, got 0'],
    ['maxShapes of 2.5', () => replayPredict({ predict: (x: tf.Tensor) => x, weights: [] }, { maxShapes: 2.5 }),
      'WebGPUReplay: options.maxShapes must be a whole number of at least 1, or Infinity, got 2.5'],
    ['maxShapes that is not a number', () => new WebGPUReplay((x) => x, { maxShapes: '4' as never }),
      'WebGPUReplay: options.maxShapes must be a whole number of at least 1, or Infinity, got 4'],
  ])('WebGPUReplay refuses %s at once', (_, make, message) => {
    expect(make).toThrow(message);
  });
});

describe.runIf(adapter)('WebGPUReplay on webgpu', () => {
  beforeAll(async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('records at the second call, then replays: the model\'s own predictions bit for bit, in a fraction of the dispatches, without leaking tensors', async () => {
    const model = smallNet(1);
    const replay = replayPredict(model);
    const xs = [1, 2, 3, 4].map(image);
    const expected = await Promise.all(xs.map((x) => values(model.predict(x))));
    expect(await values(replay.run(xs[0]!))).toEqual(expected[0]);
    expect(await values(replay.run(xs[1]!))).toEqual(expected[1]);
    expect(replay.counts).toMatchObject({ recordings: 1, replays: 0 });
    const before = tf.memory().numTensors;
    for (const [i, x] of xs.entries()) expect(await values(replay.run(x))).toEqual(expected[i]);
    expect(replay.counts).toMatchObject({ recordings: 1, replays: 4 });
    expect(tf.memory().numTensors).toBe(before);
    // Its own buffers: at least an input, an output and the intermediates of 8 channels at 16x16.
    expect(replay.counts.bytes).toBeGreaterThan(4 * 16 * 16 * (1 + 1 + 8));
    // A replay is the same dispatches with none of tfjs's work in between: the count is the same.
    const predicted = countDispatches(() => model.predict(xs[0]!) as tf.Tensor);
    const replayed = countDispatches(() => replay.run(xs[0]!) as tf.Tensor);
    expect(replayed.dispatches).toBe(predicted.dispatches);
    tf.dispose([predicted.result, replayed.result, ...xs]);
    replay.dispose();
    expect(replay.counts.bytes).toBe(0);
    model.dispose();
  });

  it('follows weights trained in place, and records again when weights get new storage', async () => {
    const model = smallNet(2, { batchNorm: false }); // (a batch norm's moving averages are assigned anew at each step)
    model.compile({ optimizer: fusedAdam(0.05), loss: 'meanSquaredError' });
    const replay = replayPredict(model);
    const x = image(5);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.5), 'float32'));
    await model.trainOnBatch(x, y); // the optimizer's moments exist: later steps update in place
    for (let i = 0; i < 3; i++) await values(replay.run(x));
    const before = await values(model.predict(x));
    await model.trainOnBatch(x, y);
    await model.trainOnBatch(x, y);
    const trained = await values(model.predict(x));
    expect(trained).not.toEqual(before);
    expect(await values(replay.run(x))).toEqual(trained);
    expect(replay.counts.recordings).toBe(1);
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 0.5))); // new tensors: new storage
    const halved = await values(model.predict(x));
    expect(await values(replay.run(x))).toEqual(halved); // recorded again
    expect(await values(replay.run(x))).toEqual(halved); // and replayed
    expect(replay.counts).toMatchObject({ recordings: 2, replays: 3 });
    tf.dispose([x, y]);
    replay.dispose();
    model.optimizer.dispose();
    model.dispose();
  });

  it('replays models with two outputs, two models in turn, and inputs disposed right after', async () => {
    const [one, two] = [smallNet(3, { twoHeads: true }), smallNet(4)];
    const [r1, r2] = [replayPredict(one), replayPredict(two)];
    const xs = [6, 7, 8].map(image);
    for (let i = 0; i < 2; i++) {
      await values(r1.run(xs[0]!));
      await values(r2.run(xs[0]!));
    }
    for (const x of xs) {
      const [e1, e2] = [await values(one.predict(x)), await values(two.predict(x))];
      const copy = x.clone();
      const [a1, a2] = [r1.run(copy), r2.run(copy)];
      copy.dispose(); // released only once the queued replays have read it
      expect(Array.isArray(a1)).toBe(true);
      expect(await values(a1)).toEqual(e1);
      expect(await values(a2)).toEqual(e2);
    }
    expect([r1.counts.replays, r2.counts.replays]).toEqual([3, 3]);
    tf.dispose(xs);
    r1.dispose();
    r2.dispose();
    one.dispose();
    two.dispose();
  });

  it('records each input shape apart, and an input that starts on the CPU', async () => {
    const replay = new WebGPUReplay((x) => tf.tidy(() => tf.sigmoid(tf.mul(tf.add(x, 1), 2))));
    for (const shape of [[3, 4], [5]]) {
      const data = Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => i / 7 - 1);
      const expected = await values(tf.tidy(() => tf.sigmoid(tf.mul(tf.add(tf.tensor(data, shape), 1), 2))));
      for (let i = 0; i < 3; i++) {
        const x = tf.tensor(data, shape); // CPU values, uploaded by the call
        expect(await values(replay.run(x))).toEqual(expected);
        x.dispose();
      }
    }
    expect(replay.counts).toMatchObject({ recordings: 2, replays: 2 });
    replay.dispose();
  });

  it('keeps the recordings of at most maxShapes input shapes, releasing the least recently used', async () => {
    const fn = (x: tf.Tensor) => tf.tidy(() => tf.sigmoid(tf.mul(tf.add(x, 1), 2)));
    const replay = new WebGPUReplay(fn, { maxShapes: 2 });
    const before = tf.memory().numTensors;
    const shapes: Record<string, number[]> = { a: [3, 4], b: [5], c: [2, 2, 2] };
    const call = async (name: string) => {
      const x = tf.randomUniform(shapes[name]!, -1, 1, 'float32', 7);
      const expected = await values(fn(x));
      expect(await values(replay.run(x)), name).toEqual(expected);
      x.dispose();
    };
    for (const name of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) await call(name); // each: run, record, replay
    expect(replay.counts).toMatchObject({ recordings: 3, replays: 3, shapes: 2 }); // a's released
    const twoShapes = replay.counts.bytes;
    await call('b'); // replayed: now b is the most recently used, c the least
    await call('a'); // recorded again (its calls are counted already), releasing c
    expect(replay.counts).toMatchObject({ recordings: 4, replays: 4, shapes: 2 });
    await call('b');
    await call('a');
    expect(replay.counts).toMatchObject({ recordings: 4, replays: 6, shapes: 2 });
    await call('c'); // recorded again
    expect(replay.counts).toMatchObject({ recordings: 5, replays: 6, shapes: 2 });
    expect(replay.counts.bytes).toBeLessThanOrEqual(twoShapes * 2);
    replay.dispose();
    expect(replay.counts).toMatchObject({ bytes: 0, shapes: 0 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads a tensor from outside that is not a variable as it was when recorded, after its storage has gone to another tensor', async () => {
    const size = 64 * 64;
    let c = tf.fill([size], 3);
    const replay = new WebGPUReplay((x) => tf.add(x, c));
    const x = tf.randomUniform([size], 0, 1, 'float32', 11);
    const expected = await values(tf.add(x, 3));
    for (let i = 0; i < 2; i++) await values(replay.run(x));
    c.dispose(); // its buffer back in tfjs's pool...
    c = tf.fill([size], 100); // ...and most likely this one's
    await c.data();
    expect(await values(replay.run(x))).toEqual(expected);
    expect(replay.counts.replays).toBe(1);
    tf.dispose([c, x]);
    replay.dispose();
  });

  it('runs the function as itself where it cannot record (no GPU commands: the output is the input), under tf.profile, and on other backends', async () => {
    const reshape = new WebGPUReplay((x) => tf.reshape(x, [-1]));
    const x = image(9);
    const flat = Array.from(await x.data());
    for (let i = 0; i < 3; i++) expect(await values(reshape.run(x))).toEqual([flat]);
    expect(reshape.refusal([1, 16, 16, 1])).toMatch(/output that is the input/);
    expect(reshape.counts).toEqual({ recordings: 0, replays: 0, bytes: 0, shapes: 0 });

    const model = smallNet(5);
    const replay = replayPredict(model);
    for (let i = 0; i < 3; i++) await values(replay.run(x));
    const profile = await tf.profile(async () => values(replay.run(x)));
    expect(profile.kernels.length).toBeGreaterThan(5); // the model's own kernels, timed
    expect(replay.counts.replays).toBe(1);

    await tf.setBackend('cpu'); // (tensors do not move from webgpu in Node: a model of the cpu backend's own)
    const cpuModel = smallNet(5);
    const cpuReplay = replayPredict(cpuModel);
    const onCpu = tf.tensor(flat, [1, 16, 16, 1]);
    const cpuExpected = await values(cpuModel.predict(onCpu));
    for (let i = 0; i < 3; i++) expect(await values(cpuReplay.run(onCpu))).toEqual(cpuExpected);
    expect(cpuReplay.counts).toMatchObject({ recordings: 0, replays: 0 });
    tf.dispose(onCpu);
    cpuReplay.dispose();
    cpuModel.dispose();
    await tf.setBackend('webgpu');
    expect(await values(replay.run(x))).toEqual(await values(model.predict(x)));
    expect(replay.counts.replays).toBe(2);
    replay.dispose();
    reshape.dispose();
    expect(() => replay.run(x)).toThrow(/disposed/);
    x.dispose();
    model.dispose();
  });
});

/** Two copies of one model, compiled with fusedAdam: one to train with trainOnBatch, one through replayTrainStep. */
function twins(seed: number, options: { batchNorm?: boolean } = {}): [tfl.LayersModel, tfl.LayersModel] {
  const [a, b] = [smallNet(seed, options), smallNet(seed, options)];
  for (const m of [a, b]) m.compile({ optimizer: fusedAdam(0.05), loss: 'meanSquaredError' });
  return [a, b];
}

function disposeModels(...models: tfl.LayersModel[]): void {
  for (const m of models) {
    m.optimizer.dispose();
    m.dispose();
  }
}

describe.runIf(adapter)('WebGPUReplay of several inputs, verified, and of training steps, on webgpu', () => {
  beforeAll(async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('replays a function of two inputs bit for bit, each input shape pair apart', async () => {
    const fn = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.add(tf.conv2d(a as tf.Tensor4D, tf.ones([3, 3, 1, 2]), 1, 'same'), tf.sum(b)));
    const replay = new WebGPUReplay(fn as (...xs: tf.Tensor[]) => tf.Tensor);
    const bs = [1, 2, 3, 4].map((seed) => tf.randomUniform([5], 0, 1, 'float32', seed));
    for (let i = 0; i < 2; i++) await values(replay.run(image(1), bs[0]!));
    const before = tf.memory().numTensors;
    for (const [i, b] of bs.entries()) {
      const x = image(10 + i);
      expect(await values(replay.run(x, b))).toEqual(await values(fn(x, b)));
      x.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(replay.counts).toMatchObject({ recordings: 1, replays: 4 });
    const other = tf.zeros([6]);
    for (let i = 0; i < 3; i++) await values(replay.run(image(1), other)); // another shape of the second input: recorded apart
    expect(replay.counts).toMatchObject({ recordings: 2, replays: 5 });
    expect(replay.refusal([[1, 16, 16, 1], [6]])).toBeNull();
    expect(() => replay.run()).toThrow('WebGPUReplay.run: give at least one input tensor');
    tf.dispose([...bs, other]);
    replay.dispose();
  });

  it('with verify, replays only after two recordings agree, and runs a function with random numbers as itself', async () => {
    const pure = new WebGPUReplay((x) => tf.tidy(() => tf.relu(tf.mul(x, 3))), { verify: true });
    const random = new WebGPUReplay((x) => tf.tidy(() => tf.add(x, tf.randomUniform(x.shape))), { verify: true });
    const x = image(3);
    const seen: number[][][] = [];
    for (let i = 0; i < 6; i++) {
      await values(pure.run(x));
      seen.push(await values(random.run(x)));
      if (i < 4) expect(random.refusal([1, 16, 16, 1])).toBeNull(); // (recorded, compared, not yet given up on)
    }
    expect(pure.counts).toMatchObject({ recordings: 1, replays: 3 }); // recorded at the second and third calls, replayed from the fourth
    expect(random.counts).toMatchObject({ recordings: 0, replays: 0 });
    expect(random.refusal([1, 16, 16, 1])).toMatch(/^3 calls in a row ran GPU commands other than the call before \(the last: command \d+ of \d+: upload\): the function depends on more than its inputs and variables/);
    for (let i = 1; i < 6; i++) expect(seen[i]).not.toEqual(seen[i - 1]); // fresh random numbers at every call
    tf.dispose(x);
    pure.dispose();
    random.dispose();
  });

  it('replays a training step: the losses, weights and optimizer state of trainOnBatch bit for bit, without leaking tensors', async () => {
    const [a, b] = twins(3, { batchNorm: false });
    const step = replayTrainStep(b);
    const x = image(4);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.5), 'float32'));
    let before = 0;
    let freeAfterPlan = Infinity;
    for (let i = 0; i < 6; i++) {
      if (i === 3) before = tf.memory().numTensors;
      const expected = await a.trainOnBatch(x, y) as number;
      const losses = step.run(x, y) as tf.Tensor[];
      expect(losses).toHaveLength(1);
      expect((await values(losses))[0]).toEqual([expected]);
      if (i === 2) { // the call that made the plan
        const memory = tf.memory() as unknown as { numBytesInGPU: number; numBytesAllocatedInGPU: number };
        freeAfterPlan = memory.numBytesAllocatedInGPU - memory.numBytesInGPU;
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(step.counts).toMatchObject({ recordings: 1, replays: 3 });
    // Once the plan was made, tfjs's pool let go of the buffers it held free (the step's working
    // set, which the replay holds its own of; the twin's trainOnBatch fills the pool again after).
    expect(freeAfterPlan).toBeLessThan(step.counts.bytes / 4);
    expect(await trainingState(b)).toEqual(await trainingState(a));
    expect((b.optimizer as unknown as { iterations: number }).iterations).toBe(6);
    tf.dispose([x, y]);
    step.dispose();
    disposeModels(a, b);
  });

  it('records a step again where a weight\'s storage is shared (no write into another tensor) or replaced, and reads stay fresh after replays', async () => {
    const [a, b] = twins(5, { batchNorm: false });
    const step = replayTrainStep(b);
    const x = image(6);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.4), 'float32'));
    const both = async () => {
      await a.trainOnBatch(x, y);
      await values(step.run(x, y));
    };
    for (let i = 0; i < 5; i++) await both();
    expect(step.counts).toMatchObject({ recordings: 1, replays: 2 });
    const kernel = b.weights[0]!.read();
    const cached = Array.from(await kernel.data()); // tfjs-backend-webgpu caches what it read
    const shared = kernel.clone(); // the same storage, now held twice
    await both();
    expect(Array.from(await shared.data())).toEqual(cached); // fusedAdam gave the weight new storage instead
    shared.dispose();
    // Recorded again: the weight moved, and the step after updates it in place again (not as the
    // step before did, which updated it into new storage); the next agrees with that one.
    for (let i = 0; i < 3; i++) await both();
    expect(step.counts).toMatchObject({ recordings: 2, replays: 3 });
    expect(await trainingState(b)).toEqual(await trainingState(a)); // and reads after replays are the new values, not those cached
    tf.dispose([x, y]);
    step.dispose();
    disposeModels(a, b);
  });

  it('trains tfjs-layers\' own batch norm correctly, recording at every step (its moving averages get new storage)', async () => {
    const [a, b] = twins(7);
    const step = replayTrainStep(b);
    const x = image(8);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.5), 'float32'));
    for (let i = 0; i < 5; i++) {
      const expected = await a.trainOnBatch(x, y) as number;
      expect((await values(step.run(x, y)))[0]).toEqual([expected]);
    }
    expect(step.counts.replays).toBe(0);
    expect(await trainingState(b)).toEqual(await trainingState(a));
    tf.dispose([x, y]);
    step.dispose();
    disposeModels(a, b);
  });

  it('names what is wrong: a model not compiled, an optimizer other than fusedAdam, the wrong number of tensors', () => {
    const model = smallNet(9, { batchNorm: false });
    expect(() => replayTrainStep(model)).toThrow('replayTrainStep(' + model.name + '): compile the model first');
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    expect(() => replayTrainStep(model)).toThrow(/the model's optimizer must be fusedAdam from @sa-unet\/tfjs-kernels .*, got Adam/);
    model.compile({ optimizer: fusedAdam(0.01), loss: 'meanSquaredError' });
    const x = image(1);
    const step = replayTrainStep(model);
    expect(() => step.run(x)).toThrow(`replayTrainStep(${model.name}): give 1 input(s) and 1 target(s), got 1 tensor(s)`);
    const small = tf.zeros([1, 8, 8, 1]);
    const pair = tf.zeros([2, 16, 16, 1]);
    expect(() => step.run(x, small)).toThrow(`replayTrainStep(${model.name}): target 0 must have shape [1, 16, 16, 1], got [1, 8, 8, 1]`);
    expect(() => step.run(x, pair)).toThrow(`replayTrainStep(${model.name}): target 0 must have shape [1, 16, 16, 1], got [2, 16, 16, 1]`);
    expect(() => step.run(small, small)).toThrow(`replayTrainStep(${model.name}): input 0 must have shape [1, 16, 16, 1], got [1, 8, 8, 1]`);
    const y = tf.zeros([1, 16, 16, 1]);
    for (let i = 0; i < 4; i++) tf.dispose(step.run(x, y)); // replayed from the fourth call
    const first = model.optimizer;
    model.compile({ optimizer: fusedAdam(0.02), loss: 'meanSquaredError' });
    first.dispose();
    expect(() => step.run(x, y)).toThrow(`replayTrainStep(${model.name}): the model was compiled again since this replay was made; make a new one (replayTrainStep(model))`);
    tf.dispose([x, y, small, pair]);
    step.dispose();
    disposeModels(model);
  });
});
