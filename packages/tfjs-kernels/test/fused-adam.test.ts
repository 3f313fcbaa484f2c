/**
 * fusedAdam: tfjs-core's Adam everywhere, with a fused update on webgpu (one in-place dispatch per
 * variable, three where its storage is shared) and on wasm (one loop per small variable). On webgpu (lavapipe in CI) its variables and moments must follow the stock Adam's
 * within float32 rounding; elsewhere they must be the stock Adam's exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { FusedAdamOptimizer, defaultAdamEpsilon, fusedAdam, registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';
import { float32RunningPower } from '../src/fused-adam.js';
import { LOOP_MAX_SIZE } from '../src/wasm/fused-adam.js';
import { withSeed } from '../../../test-utils/numeric.js';
import { countDispatches } from '../../../test-utils/webgpu.js';

const adapter = await setupNodeWebGPU();
if (adapter) await import('@tensorflow/tfjs-backend-webgpu');
afterAll(async () => {
  registerTrainingKernels();
  await tf.setBackend('cpu');
});

/** What tfjs types applyGradients' argument as (a map of Variables, though any tensor is accepted). */
type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

// Shapes: a conv kernel, a bias, a scalar, and one larger than 64 x 4096 (the grid-stride loop).
const SHAPES = [[3, 3, 4, 8], [8], [], [300_001]];

/** Runs `steps` updates of `optimizer` on fresh variables with seeded gradients; returns values and moments. */
async function train(optimizer: tf.Optimizer, steps: number, prefix: string): Promise<{ values: Float32Array[]; weights: Float32Array[]; leaked: number }> {
  const vars = SHAPES.map((s, i) => tf.variable(tf.randomUniform(s, -1, 1, 'float32', 10 + i), true, `${prefix}_${i}`));
  let before = 0;
  for (let step = 0; step < steps; step++) {
    if (step === 1) before = tf.memory().numTensors; // the moments exist after the first step
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomUniform(v.shape, -1, 1, 'float32', 100 * step + i)]));
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const leaked = tf.memory().numTensors - before;
  const values = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  const weights = await Promise.all((await optimizer.getWeights()).slice(1).map(async (w) => (await w.tensor.data()) as Float32Array));
  tf.dispose(vars);
  return { values, weights, leaked };
}

/** Per tensor, the largest difference over the largest magnitude of the reference (as the parity tests); the worst tensor. */
function worstRelative(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  for (const [i, x] of a.entries()) {
    const y = b[i]!;
    expect(x.length).toBe(y.length);
    let diff = 0;
    let scale = 0;
    for (let j = 0; j < x.length; j++) {
      diff = Math.max(diff, Math.abs(x[j]! - y[j]!));
      scale = Math.max(scale, Math.abs(y[j]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

describe('fusedAdam arguments', () => {
  it.each<[string, unknown[], string]>([
    ['a NaN learning rate', [NaN], "fusedAdam: 'learningRate' must be a finite number > 0, got NaN"],
    ['a negative learning rate', [-5e-4], "fusedAdam: 'learningRate' must be a finite number > 0, got -0.0005"],
    ['a learning rate given as text', ['5e-4'], "fusedAdam: 'learningRate' must be a finite number > 0, got \"5e-4\""],
    ['beta1 of 1 (no decay of the first moment)', [1e-3, 1], "fusedAdam: 'beta1' must be a number in [0, 1), got 1"],
    ['a negative beta2', [1e-3, 0.9, -0.1], "fusedAdam: 'beta2' must be a number in [0, 1), got -0.1"],
    ['epsilon 0', [1e-3, 0.9, 0.999, 0], "fusedAdam: 'epsilon' must be a finite number > 0, got 0"],
  ])('%s is refused, naming the argument', (_, args, message) => {
    expect(() => (fusedAdam as (...a: unknown[]) => unknown)(...args)).toThrow(message);
  });
});

/**
 * Adam steps on small seeded variables, `total` in all: once straight through, and once with the
 * optimizer's weights saved after `savedAt` steps and restored into a new optimizer (the variables
 * restored too) that takes the remaining steps. Returns both runs' final values and bias-correction
 * products.
 */
async function resumedAgainstStraight(make: () => tf.Optimizer, savedAt: number, total: number, prefix: string) {
  const shapes = [[3, 3, 2, 4], [4], [20_000]];
  const vars = shapes.map((s, i) => tf.variable(tf.randomUniform(s, -1, 1, 'float32', 30 + i), true, `${prefix}_${i}`));
  const initial = vars.map((v) => tf.clone(v));
  const step = (optimizer: tf.Optimizer, t: number) => {
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomUniform(v.shape, -1, 1, 'float32', 1000 * t + i)]));
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  };
  const products = (optimizer: tf.Optimizer) => {
    const state = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    return [state.accBeta1.dataSync()[0], state.accBeta2.dataSync()[0]];
  };
  const straight = make();
  let savedWeights: Awaited<ReturnType<tf.Optimizer['getWeights']>> = [];
  let savedValues: tf.Tensor[] = [];
  for (let t = 0; t < total; t++) {
    if (t === savedAt) {
      savedWeights = (await straight.getWeights()).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
      savedValues = vars.map((v) => tf.clone(v));
    }
    step(straight, t);
  }
  const straightValues = vars.map((v) => v.dataSync().slice());
  const straightProducts = products(straight);
  straight.dispose();

  const resumed = make();
  vars.forEach((v, i) => v.assign(savedValues[i]!));
  await resumed.setWeights(savedWeights);
  for (let t = savedAt; t < total; t++) step(resumed, t);
  const resumedValues = vars.map((v) => v.dataSync().slice());
  const resumedProducts = products(resumed);
  const moved = vars.some((v, i) => tf.max(tf.abs(tf.sub(v, initial[i]!))).dataSync()[0]! > 1e-3);
  resumed.dispose();
  tf.dispose([...vars, ...initial, ...savedValues, ...savedWeights.map((w) => w.tensor)]);
  return { straightValues, resumedValues, straightProducts, resumedProducts, moved };
}

describe('fusedAdam on cpu', () => {
  it('is tfjs-core\'s Adam: same values, same moments, same config and class name', async () => {
    await tf.setBackend('cpu');
    const stock = tf.train.adam(0.01);
    const ours = fusedAdam(0.01);
    expect(ours).toBeInstanceOf(FusedAdamOptimizer);
    expect(ours.getClassName()).toBe('Adam');
    expect(ours.getConfig()).toEqual(stock.getConfig());
    const a = await train(stock, 3, 'cpuStock');
    const b = await train(ours, 3, 'cpuOurs');
    expect(b.values).toEqual(a.values);
    expect(b.weights).toEqual(a.weights);
    stock.dispose();
    ours.dispose();
  });

  it('restored from getWeights() after 41 steps, continues bit for bit as the saved optimizer (cpu)', async () => {
    await tf.setBackend('cpu');
    const r = await resumedAgainstStraight(() => fusedAdam(0.01), 41, 45, 'cpuResume');
    expect(r.moved).toBe(true);
    expect(r.resumedProducts).toEqual(r.straightProducts);
    expect(r.resumedValues).toEqual(r.straightValues);
  });

  it('takes the backend\'s float32 epsilon unless given one (WebGL\'s, which tfjs misreports, in the browser test)', async () => {
    await tf.setBackend('cpu');
    expect(defaultAdamEpsilon()).toBe(1e-7);
    expect(defaultAdamEpsilon()).toBe(tf.backend().epsilon());
    expect(fusedAdam(0.01).getConfig().epsilon).toBe(1e-7);
    expect(fusedAdam(0.01, 0.9, 0.999, 1e-4).getConfig().epsilon).toBe(1e-4);
  });
});

describe('fusedAdam on wasm', () => {
  it('is tfjs-core\'s Adam bit for bit, for variables updated by the loop and by the kernels alike', async () => {
    await tf.setBackend('wasm');
    expect(SHAPES.some((s) => s.reduce((a, b) => a * b, 1) > LOOP_MAX_SIZE)).toBe(true); // both paths run
    const stock = tf.train.adam(0.01);
    const ours = fusedAdam(0.01);
    const a = await train(stock, 4, 'wasmStock');
    const b = await train(ours, 4, 'wasmOurs');
    expect(b.values).toEqual(a.values);
    expect(b.weights).toEqual(a.weights);
    expect(b.leaked).toBe(0);
    stock.dispose();
    ours.dispose();
  });

  it('restored from getWeights() after 41 steps, continues bit for bit as the saved optimizer (wasm)', async () => {
    await tf.setBackend('wasm');
    const r = await resumedAgainstStraight(() => fusedAdam(0.01), 41, 45, 'wasmResume');
    expect(r.moved).toBe(true);
    expect(r.resumedProducts).toEqual(r.straightProducts);
    expect(r.resumedValues).toEqual(r.straightValues);
  });

  it('updates small variables without kernels of its own', async () => {
    await tf.setBackend('wasm');
    const shapes = [[3, 3, 4, 8], [8], [], [1000]];
    const vars = shapes.map((s, i) => tf.variable(tf.randomUniform(s, -1, 1, 'float32', 50 + i), true, `wasmLoop_${i}`));
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomUniform(v.shape, -1, 1, 'float32', 60 + i)])) as unknown as Gradients;
    const optimizer = fusedAdam(0.01);
    optimizer.applyGradients(grads); // creates the moments
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => optimizer.applyGradients(grads));
    // Only tfjs-core's bookkeeping: 1 - beta^t twice and the two products beta^t (stock: 11 more per variable).
    expect(info.kernels.map((k) => k.name).sort()).toEqual(['Multiply', 'Multiply', 'Sub', 'Sub']);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...vars, ...Object.values(grads as Record<string, tf.Tensor>)]);
    optimizer.dispose();
  });

  it('trains a conv net as tf.train.adam does, bit for bit (the backend\'s packed filters see every update)', async () => {
    await tf.setBackend('wasm');
    registerTrainingKernels();
    const x = tf.randomUniform([4, 8, 8, 2], 0, 1, 'float32', 70);
    const target = tf.cast(tf.greater(tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 71), 0.5), 'float32');
    const losses = async (optimizer: tf.Optimizer) => {
      const model = withSeed(9, () => {
        const input = tfl.input({ shape: [8, 8, 2] });
        const hidden = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
        const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(hidden) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: out });
      });
      model.compile({ optimizer, loss: 'binaryCrossentropy' });
      const result: number[] = [];
      for (let step = 0; step < 4; step++) result.push((await model.trainOnBatch(x, target)) as number);
      model.dispose();
      optimizer.dispose();
      return result;
    };
    const stock = await losses(tf.train.adam(0.05));
    const ours = await losses(fusedAdam(0.05));
    expect(ours).toEqual(stock);
    expect(ours[3]).toBeLessThan(ours[0]!); // it trains
    tf.dispose([x, target]);
  });

  it('never changes storage that another tensor shares: a reshaped view taken before the step keeps its values', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.randomUniform([257], -1, 1, 'float32', 40), true, 'wasmShared_v');
    const g = tf.randomUniform([257], -1, 1, 'float32', 41);
    const optimizer = fusedAdam(0.1);
    optimizer.applyGradients({ wasmShared_v: g } as unknown as Gradients);
    const view = tf.reshape(v, [1, 257]); // shares v's storage
    const old = Array.from((await view.data()) as Float32Array);
    optimizer.applyGradients({ wasmShared_v: g } as unknown as Gradients);
    expect(Array.from((await view.data()) as Float32Array)).toEqual(old);
    expect(worstRelative([(await v.data()) as Float32Array], [Float32Array.from(old)])).toBeGreaterThan(1e-3); // v moved
    tf.dispose([v, g, view]);
    optimizer.dispose();
  });
});

describe.runIf(adapter)('fusedAdam on webgpu', () => {
  it('follows stock Adam within float32 rounding over 4 steps, and leaves no tensors behind', async () => {
    await tf.setBackend('webgpu');
    const stock = tf.train.adam(0.01);
    const ours = fusedAdam(0.01);
    // Ours first: pooled GPU buffers then cannot hold stock's results for a failed update to show.
    const b = await train(ours, 4, 'gpuOurs');
    const a = await train(stock, 4, 'gpuStock');
    expect(worstRelative(b.values, a.values)).toBeLessThan(1e-5);
    expect(worstRelative(b.weights, a.weights)).toBeLessThan(1e-5);
    expect(b.leaked).toBe(a.leaked);
    expect(b.leaked).toBe(0);
    stock.dispose();
    ours.dispose();
  });

  it('values read between steps (as a model\'s save reads them) are not served stale after an update in place', async () => {
    await tf.setBackend('webgpu');
    const run = async (optimizer: tf.Optimizer, readBetween: boolean, name: string) => {
      const v = tf.variable(tf.randomUniform([300], -1, 1, 'float32', 50), true, name);
      const g = tf.randomUniform([300], -1, 1, 'float32', 51);
      const reads: number[][] = [];
      for (let step = 0; step < 3; step++) {
        optimizer.applyGradients({ [name]: g } as unknown as Gradients);
        if (readBetween || step === 2) {
          reads.push(Array.from((await v.data()) as Float32Array));
          const moments = await optimizer.getWeights();
          reads.push(Array.from((await moments[1]!.tensor.data()) as Float32Array)); // first moment
          tf.dispose(moments[0]!.tensor); // the step count, a new tensor
        }
      }
      tf.dispose([v, g]);
      optimizer.dispose();
      return reads;
    };
    const oncePerStep = await run(fusedAdam(0.05), true, 'staleRead_a');
    const atTheEnd = await run(fusedAdam(0.05), false, 'staleRead_b');
    expect(oncePerStep[2]).not.toEqual(oncePerStep[0]); // the value moved between reads
    expect(oncePerStep.slice(4)).toEqual(atTheEnd);
  });

  it('updates variables whose storage nothing else shares in place: one dispatch per group of variables', async () => {
    await tf.setBackend('webgpu');
    const vars = SHAPES.map((s, i) => tf.variable(tf.randomUniform(s, -1, 1, 'float32', 20 + i), true, `inPlace_${i}`));
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomUniform(v.shape, -1, 1, 'float32', 30 + i)])) as unknown as Gradients;
    await Promise.all(Object.values(grads as Record<string, tf.Tensor>).map((g) => g.data())); // on the GPU before counting
    const optimizer = fusedAdam(0.01);
    optimizer.applyGradients(grads); // creates the moments
    const dataIds = vars.map((v) => v.dataId);
    const before = tf.memory().numTensors;
    const { dispatches } = countDispatches(() => optimizer.applyGradients(grads));
    // One dispatch per group of as many variables as a shader may bind (four buffers each; pairs
    // with WebGPU's default limit of 8). tfjs-core's bias-correction products run on the CPU.
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const perDispatch = Math.min(4, Math.floor(device.limits.maxStorageBuffersPerShaderStage / 4));
    expect(perDispatch).toBeGreaterThanOrEqual(2);
    expect(dispatches).toBe(Math.ceil(vars.length / perDispatch));
    expect(vars.map((v) => v.dataId)).toEqual(dataIds); // the same storage, updated
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...vars, ...Object.values(grads as Record<string, tf.Tensor>)]);
    optimizer.dispose();
  });

  it('never changes storage that another tensor shares: a clone taken before the step keeps its values', async () => {
    await tf.setBackend('webgpu');
    const v = tf.variable(tf.randomUniform([257], -1, 1, 'float32', 40), true, 'shared_v');
    const g = tf.randomUniform([257], -1, 1, 'float32', 41);
    const optimizer = fusedAdam(0.1);
    optimizer.applyGradients({ shared_v: g } as unknown as Gradients);
    const snapshot = tf.clone(v); // shares v's storage until v is assigned
    const old = Array.from((await snapshot.data()) as Float32Array);
    const { dispatches } = countDispatches(() => optimizer.applyGradients({ shared_v: g } as unknown as Gradients));
    expect(dispatches).toBe(3); // new tensors for the two moments and the value
    expect(Array.from((await snapshot.data()) as Float32Array)).toEqual(old);
    expect(worstRelative([(await v.data()) as Float32Array], [Float32Array.from(old)])).toBeGreaterThan(1e-3);
    tf.dispose([v, g, snapshot]);
    optimizer.dispose();
  });

  it('continues from a stock Adam\'s weights (setWeights) as the stock Adam does', async () => {
    await tf.setBackend('webgpu');
    const v = tf.variable(tf.randomUniform([64], -1, 1, 'float32', 3), true, 'resume_v');
    const g = tf.randomUniform([64], -1, 1, 'float32', 4);
    const first = tf.train.adam(0.05);
    for (let i = 0; i < 3; i++) first.applyGradients({ resume_v: g } as unknown as Gradients);
    const saved = await first.getWeights();
    const start = tf.clone(v);
    const continued = async (opt: tf.Optimizer) => {
      v.assign(start);
      await opt.setWeights(saved.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
      for (let i = 0; i < 2; i++) opt.applyGradients({ resume_v: g } as unknown as Gradients);
      return (await v.data()) as Float32Array;
    };
    const ours = await continued(fusedAdam(0.05)); // first, as above
    const stock = await continued(tf.train.adam(0.05));
    expect(worstRelative([ours], [(await start.data()) as Float32Array])).toBeGreaterThan(1e-3); // it moved
    expect(worstRelative([ours], [stock])).toBeLessThan(1e-5);
    tf.dispose([v, g, start]);
    first.dispose();
  });

  it('trains a small conv net with model.fit', async () => {
    await tf.setBackend('webgpu');
    registerTrainingKernels();
    const model = withSeed(5, () => {
      const input = tfl.input({ shape: [16, 16, 1] });
      let y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
      y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
      const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(y) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out });
    });
    model.compile({ optimizer: fusedAdam(0.01), loss: 'binaryCrossentropy' });
    const x = tf.randomUniform([8, 16, 16, 1], 0, 1, 'float32', 1);
    const target = tf.cast(tf.greater(x, 0.5), 'float32');
    const losses = (await model.fit(x, target, { epochs: 15, batchSize: 4, verbose: 0 })).history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]!);
    model.optimizer.dispose();
    model.dispose();
    tf.dispose([x, target]);
  });
});

describe('float32RunningPower', () => {
  it('is the float32 product chain Adam keeps, which tfjs-core\'s pow(beta, t) does not always equal', () => {
    expect(float32RunningPower(0.9, 1)).toBe(Math.fround(0.9));
    expect(float32RunningPower(0.9, 2)).toBe(Math.fround(Math.fround(0.9) * Math.fround(0.9)));
    const chain = [0.9, 0.999].map((beta) => {
      const b = tf.scalar(beta);
      let p = tf.scalar(beta);
      for (let i = 1; i < 200; i++) p = tf.tidy(() => tf.mul(p, b));
      return p;
    });
    const differs = Array.from({ length: 200 }, (_, t) => t + 1).some((n) => Math.fround(0.999 ** n) !== float32RunningPower(0.999, n));
    expect(differs).toBe(true); // a power computed directly is not the running product
    expect(chain.map((t) => t.dataSync()[0])).toEqual([float32RunningPower(0.9, 200), float32RunningPower(0.999, 200)]);
  });
});
