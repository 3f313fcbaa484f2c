/**
 * The zoo's batch normalization (src/batch-norm.ts) against tfjs-layers' own: the same forward
 * pass and moving statistics bit for bit, the same gradients within float32 rounding, the same
 * saved form; on cpu, wasm and (where an adapter exists) webgpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH_NORM_KERNELS, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { TRAINING_BACKENDS, useBackend } from '../../../test-utils/backends.js';
import { saveToMemory } from '../../../test-utils/models.js';
import { differenceRelativeToLargest, seededUniform, tensorBits } from '../../../test-utils/numeric.js';
import { countDispatches, nodeWebGPU } from '../../../test-utils/webgpu.js';
import { unet } from '@sa-unet/unet-zoo';
import { FUSED_BATCH_NORM_KERNELS, ZooBatchNormalization, zooBatchNormalization, ZooReLU, zooReLU } from '../src/batch-norm.js';

const adapter = await nodeWebGPU('the zoo batch-norm webgpu test');
if (adapter) {
  registerTrainingKernels(); // for webgpu too, now that its backend is imported
}

afterEach(() => tf.disposeVariables());

type Args = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;

interface Run {
  y: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
  /** Gradients of sum(tanh(y) * r) for x, gamma, beta. */
  grads: Float32Array[];
}

/**
 * One training-mode call of `layer` on x (shape `shape`), its gradients, and its moving statistics
 * after the call; gamma, beta and the moving statistics start from seeded values.
 */
async function trainingCall(layer: tfl.layers.Layer, shape: number[]): Promise<Run> {
  const channels = shape[shape.length - 1]!;
  tf.dispose(layer.apply(tf.zeros(shape)) as tf.Tensor); // builds it
  layer.setWeights([
    seededUniform([channels], 1, 0.5, 1.5), seededUniform([channels], 2),
    seededUniform([channels], 3), seededUniform([channels], 4, 0.5, 2),
  ]);
  const x = tf.variable(tf.mul(seededUniform(shape, 5), 3));
  const r = seededUniform(shape, 6);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  let y: tf.Tensor | null = null;
  const { grads, value } = tf.variableGrads(() => {
    y = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(tf.tanh(y), r)) as tf.Scalar;
  }, [x, gamma!, beta!]);
  const [movingMean, movingVariance] = layer.getWeights().slice(2);
  const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
  const run = {
    y: await read(y!),
    movingMean: await read(movingMean!),
    movingVariance: await read(movingVariance!),
    grads: await Promise.all([x, gamma!, beta!].map((v) => read(grads[v.name]!))),
  };
  tf.dispose([x, r, y!, value, ...Object.values(grads)]);
  return run;
}

const SHAPES: Array<[string, number[]]> = [
  ['an image batch [2, 5, 4, 3]', [2, 5, 4, 3]],
  ['a sequence batch [3, 7, 4]', [3, 7, 4]],
  ['a matrix [16, 5]', [16, 5]],
  ['one value per channel [1, 1, 1, 2]', [1, 1, 1, 2]],
];

describe.each(TRAINING_BACKENDS)('zoo batch normalization on %s', (backend) => {
  beforeEach(() => useBackend(backend));

  it.each(SHAPES)('%s: same output and moving statistics as tfjs-layers\', gradients within 1e-5', async (_, shape) => {
    const args: Args = { momentum: 0.9, epsilon: 1e-3 };
    const stock = await trainingCall(tfl.layers.batchNormalization(args), shape);
    const ours = await trainingCall(zooBatchNormalization(args), shape);
    expect(ours.y).toEqual(stock.y);
    expect(ours.movingMean).toEqual(stock.movingMean);
    expect(ours.movingVariance).toEqual(stock.movingVariance);
    for (const [i, what] of ['x', 'gamma', 'beta'].entries()) {
      expect(differenceRelativeToLargest(ours.grads[i]!, stock.grads[i]!), `gradient of ${what}`).toBeLessThan(1e-5);
    }
  });

  it.each<[string, Args, number[]]>([
    ['normalizing axis 1 (not the last)', { axis: 1 }, [2, 3, 4, 3]],
    ['no center (where tfjs-layers 4.22 fails in training)', { center: false }, [2, 3, 4, 3]],
    ['a rank-5 input (which tfjs-layers 4.22 does not implement)', {}, [1, 2, 2, 2, 3]],
  ])('%s: the stock code runs, with the stock results or errors', async (_, args, shape) => {
    const x = seededUniform(shape, 7);
    const outcome = async (layer: tfl.layers.Layer) => {
      try {
        const y = layer.apply(x, { training: true }) as tf.Tensor;
        const values = await y.data();
        y.dispose();
        return { values };
      } catch (err) {
        return { error: String(err) };
      }
    };
    expect(await outcome(zooBatchNormalization(args))).toEqual(await outcome(tfl.layers.batchNormalization(args)));
    x.dispose();
  });

  it('runs fewer kernels for a training step than the stock layer (the closed-form gradient is in use)', async () => {
    const kernelsOfStep = async (layer: tfl.layers.Layer) => {
      const x = tf.variable(seededUniform([2, 4, 4, 3], 9));
      tf.dispose(layer.apply(x) as tf.Tensor);
      const variables = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
        tf.dispose([value, ...Object.values(grads)]);
      });
      x.dispose();
      // Reshape, Identity and Cast move no data (and dispatch nothing on webgpu).
      return info.kernels.filter((k) => !['Reshape', 'Identity', 'Cast'].includes(k.name)).length;
    };
    const stock = await kernelsOfStep(tfl.layers.batchNormalization({}));
    const ours = await kernelsOfStep(zooBatchNormalization({}));
    expect(ours).toBeLessThan(stock - 5);
  });

  it('inference uses the moving statistics, as the stock layer does', async () => {
    const layer = zooBatchNormalization({});
    const x = seededUniform([2, 3, 3, 2], 8);
    tf.dispose(layer.apply(x) as tf.Tensor);
    layer.setWeights([tf.tensor1d([2, 1]), tf.tensor1d([0, 1]), tf.tensor1d([1, -1]), tf.tensor1d([4, 1])]);
    const y = layer.apply(x) as tf.Tensor;
    const expected = tf.tidy(() => tf.add(tf.mul(tf.div(tf.sub(x, [1, -1]), tf.sqrt(tf.add([4, 1], 1e-3))), [2, 1]), [0, 1]));
    expect(differenceRelativeToLargest(await y.data(), await expected.data())).toBeLessThan(1e-6);
    tf.dispose([x, y, expected]);
  });

  it('a training step leaks no tensor', async () => {
    const layer = zooBatchNormalization({});
    const x = tf.variable(seededUniform([2, 4, 4, 3], 9));
    tf.dispose(layer.apply(x) as tf.Tensor);
    const variables = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('saves as tfjs-layers\' BatchNormalization: a zoo model loads with tfjs-layers alone and predicts the same', async () => {
    const model = unet({ inputShape: [16, 16, 1], baseFilters: 4, depth: 2 });
    const bn = model.layers.filter((l) => l instanceof ZooBatchNormalization);
    expect(bn.length).toBeGreaterThan(0);
    expect(bn.every((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
    const relu = model.layers.filter((l) => l instanceof ZooReLU);
    expect(relu.length).toBe(bn.length);
    expect(relu.every((l) => l.getClassName() === 'ReLU')).toBe(true);
    expect(zooReLU({ name: 'same_config' }).getConfig()).toEqual(tfl.layers.reLU({ name: 'same_config' }).getConfig());
    const config = tfl.layers.batchNormalization({ momentum: 0.5, name: 'same_config' }).getConfig();
    expect(zooBatchNormalization({ momentum: 0.5, name: 'same_config' }).getConfig()).toEqual(config);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
    const loadedBn = loaded.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    expect(loadedBn.length).toBe(bn.length);
    expect(loadedBn.some((l) => l instanceof ZooBatchNormalization)).toBe(false);
    expect(loaded.layers.some((l) => l instanceof ZooReLU)).toBe(false);
    const x = seededUniform([1, 16, 16, 1], 10, 0, 1);
    const [a, b] = [model, loaded].map((m) => m.predict(x) as tf.Tensor);
    expect(await b!.data()).toEqual(await a!.data());
    tf.dispose([x, a!, b!]);
    model.dispose();
    loaded.dispose();
  });
});

it('on wasm, a U-Net trains to the same weights with @sa-unet/tfjs-kernels\' batch-norm kernels as with the stock kernels composed, bit for bit', async () => {
  await useBackend('wasm');
  const names = [FUSED_BATCH_NORM_KERNELS.moments, FUSED_BATCH_NORM_KERNELS.gradient];
  const kernels = names.map((name) => tf.getKernel(name, 'wasm'));
  expect(kernels.every((k) => k !== undefined), 'registered for wasm').toBe(true);
  const first = unet({ inputShape: [16, 16, 1], baseFilters: 4, depth: 2 });
  const initial = first.getWeights().map((w) => tf.clone(w));
  first.dispose();
  const trained = async (withKernels: boolean) => {
    for (const [i, name] of names.entries()) {
      if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
      if (withKernels) tf.registerKernel(kernels[i]!);
    }
    const model = unet({ inputShape: [16, 16, 1], baseFilters: 4, depth: 2 });
    model.setWeights(initial);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const x = seededUniform([2, 16, 16, 1], 11, 0, 1);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.6), 'float32'));
    for (let step = 0; step < 2; step++) await model.trainOnBatch(x, y);
    const weights = await Promise.all(model.getWeights().map(tensorBits));
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
    return weights;
  };
  try {
    const before = tf.memory().numTensors;
    expect(await trained(true)).toEqual(await trained(false));
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    tf.dispose(initial);
    for (const [i, name] of names.entries()) {
      if (tf.getKernel(name, 'wasm') === undefined) tf.registerKernel(kernels[i]!);
    }
  }
});

it('looks up the fused kernels by the names @sa-unet/tfjs-kernels registers them under', () => {
  expect(FUSED_BATCH_NORM_KERNELS).toEqual(BATCH_NORM_KERNELS);
});

describe.runIf(adapter)('zoo batch normalization on webgpu', () => {
  it('output, moving statistics and gradients (with the fused kernels) equal the cpu backend\'s within 1e-4', async () => {
    const shape = [2, 6, 5, 4];
    await useBackend('cpu');
    const cpu = await trainingCall(zooBatchNormalization({}), shape);
    await tf.setBackend('webgpu');
    let gpu: Run | undefined;
    const profile = await tf.profile(async () => {
      gpu = await trainingCall(zooBatchNormalization({}), shape);
    });
    const kernels = new Set(profile.kernels.map((k) => k.name));
    for (const name of [FUSED_BATCH_NORM_KERNELS.moments, FUSED_BATCH_NORM_KERNELS.gradient]) expect(kernels.has(name), name).toBe(true);
    expect(kernels.has(FUSED_BATCH_NORM_KERNELS.normalizeRelu), 'no ReLU follows').toBe(false);
    await useBackend('cpu');
    for (const key of ['y', 'movingMean', 'movingVariance'] as const) {
      expect(differenceRelativeToLargest(gpu![key], cpu[key]), key).toBeLessThan(1e-4);
    }
    for (const [i, what] of ['x', 'gamma', 'beta'].entries()) {
      expect(differenceRelativeToLargest(gpu!.grads[i]!, cpu.grads[i]!), `gradient of ${what}`).toBeLessThan(1e-4);
    }
  });
});

/** x -> conv -> zoo batch norm -> `relu` (-> and, with `tap`, the batch norm's output added to that) -> conv. */
function unitModel(relu: tfl.layers.Layer, tap = false): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 5, 2] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) });
  const bn = zooBatchNormalization({}).apply(conv.apply(input)) as tfl.SymbolicTensor;
  let y = relu.apply(bn) as tfl.SymbolicTensor;
  if (tap) y = tfl.layers.add().apply([y, bn]) as tfl.SymbolicTensor;
  const head = tfl.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) });
  return tfl.model({ inputs: input, outputs: head.apply(y) as tfl.SymbolicTensor });
}

/** The output, the gradients of sum(output * r) for every trainable weight, and the dispatches of that step. */
async function unitStep(model: tfl.LayersModel): Promise<{ values: Float32Array[]; dispatches: number }> {
  const x = seededUniform([2, 6, 5, 2], 21, -1, 1);
  const r = seededUniform([2, 6, 5, 1], 22);
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  await Promise.all([x, r, ...weights].map((t) => t.data())); // uploaded before counting
  const before = tf.memory().numTensors;
  let y: tf.Tensor | null = null;
  const { result: { value, grads }, dispatches } = countDispatches(() => tf.variableGrads(() => {
    y = tf.keep(model.apply(x, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(y, r)) as tf.Scalar;
  }, weights));
  const values = await Promise.all([y!, ...weights.map((w) => grads[w.name]!)].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([y!, value, ...Object.values(grads)]);
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  tf.dispose([x, r]);
  return { values, dispatches };
}

describe.runIf(adapter)('a conv -> batch norm -> ReLU unit on webgpu', () => {
  it('the batch norm applies the zoo ReLU after it itself: the same output and gradients, two dispatches fewer', async () => {
    await tf.setBackend('webgpu');
    const stock = await unitStep(unitModel(tfl.layers.reLU({})));
    let ours: Awaited<ReturnType<typeof unitStep>> | undefined;
    const profile = await tf.profile(async () => {
      ours = await unitStep(unitModel(zooReLU({})));
    });
    const kernels = new Set(profile.kernels.map((k) => k.name));
    expect(kernels.has(FUSED_BATCH_NORM_KERNELS.normalizeRelu)).toBe(true);
    expect(kernels.has('Relu')).toBe(false);
    expect(ours!.dispatches).toBe(stock.dispatches - 2);
    expect(ours!.values.length).toBe(stock.values.length);
    for (const [i, values] of ours!.values.entries()) expect(values, i === 0 ? 'output' : `gradient ${i}`).toEqual(stock.values[i]);
    await useBackend('cpu');
  });

  it('in inference too: the same output, one dispatch fewer', async () => {
    await tf.setBackend('webgpu');
    const x = seededUniform([2, 6, 5, 2], 23, -1, 1);
    const predict = async (model: tfl.LayersModel) => {
      // Moving statistics other than the initial 0 and 1, so that inference uses them visibly.
      const bn = model.layers.find((l) => l instanceof ZooBatchNormalization)!;
      bn.setWeights([seededUniform([4], 24, 0.5, 1.5), seededUniform([4], 25), seededUniform([4], 26), seededUniform([4], 27, 0.5, 2)]);
      await Promise.all([x, ...model.weights.map((w) => w.read())].map((t) => t.data()));
      const before = tf.memory().numTensors;
      const { result, dispatches } = countDispatches(() => model.predict(x) as tf.Tensor);
      const values = await result.data();
      result.dispose();
      expect(tf.memory().numTensors, 'tensors left').toBe(before);
      return { values, dispatches };
    };
    const stock = await predict(unitModel(tfl.layers.reLU({})));
    const ours = await predict(unitModel(zooReLU({})));
    expect(ours.dispatches).toBe(stock.dispatches - 1);
    expect(ours.values).toEqual(stock.values);
    expect(ours.values.some((v) => v !== 0)).toBe(true);
    x.dispose();
    await useBackend('cpu');
  });

  it('a batch norm whose output also goes elsewhere leaves the ReLU to the ReLU layer', async () => {
    await tf.setBackend('webgpu');
    const stock = await unitStep(unitModel(tfl.layers.reLU({}), true));
    const ours = await unitStep(unitModel(zooReLU({}), true));
    expect(ours.dispatches).toBe(stock.dispatches);
    for (const [i, values] of ours.values.entries()) expect(values, i === 0 ? 'output' : `gradient ${i}`).toEqual(stock.values[i]);
    await useBackend('cpu');
  });
});
