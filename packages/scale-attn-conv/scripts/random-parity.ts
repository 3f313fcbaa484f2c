/**
 * Random ScaleAttentionalConv2D configurations (1 to 5 scales, kernel sizes 1, 3 and 5, dilations 1
 * to 3, stage widths with and without the projection, with and without attention and biases,
 * attention kernels 1 to 7; inputs 1 to 12 pixels a side with 1 to 9 channels; `--max-channels`
 * widens the inputs and, in proportion, the layers): the output, the
 * input gradient and every weight's gradient on wasm and (where an adapter exists) webgpu, keeping
 * and recomputing the intermediates, against the cpu backend.
 *
 *   pnpm --filter @sa-unet/scale-attn-conv random-parity [--seed 1] [--cases 40] [--max-channels 9]
 *
 * Prints each configuration that differs by 1e-4 or more or throws, then a count; exits 1 if any
 * did. Differences are relative to the largest value of the output, of the input gradient, and of
 * all weight gradients together: a weight whose gradient nearly cancels (a bias at 2e-3 beside
 * kernels at 1) shows the float32 rounding of the larger terms it sums: for one layer with 200
 * draws of its weights on webgpu, median 6e-7 and at most 9e-5 of that weight's own largest
 * value (1.2e-4 in an earlier, unseeded draw). Weights are drawn from the seed too, so a run
 * repeats exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';
import { scaleAttentionalConv2d, setGradientMemoryMode, type ScaleAttentionalConv2DArgs } from '@sa-unet/scale-attn-conv';
import { differenceRelativeToLargest, seededUniform, withSeed } from '../../../test-utils/numeric.js';
import { randomSweep } from '../../../test-utils/random-sweep.js';

const { seed, count, maxChannels, random, int, oneOf, widthBound } = randomSweep('random-parity', 40);

const webgpu = await setupNodeWebGPU();
if (webgpu) await import('@tensorflow/tfjs-backend-webgpu');
registerTrainingKernels();

function randomArgs(): ScaleAttentionalConv2DArgs {
  const scales = int(1, 5);
  const args: ScaleAttentionalConv2DArgs = { filters: scales * int(1, widthBound(5)), scales, kernelSize: oneOf([1, 3, 5]), dilationRate: random() < 0.3 ? int(2, 3) : 1 };
  if (random() < 0.3) Object.assign(args, { stageFilters: int(1, widthBound(7)), filters: int(1, widthBound(12)) }); // a projection, mostly
  if (random() < 0.2) args.useAttention = false;
  if (random() < 0.3) args.attentionKernelSize = oneOf([1, 3, 5, 7]);
  if (random() < 0.3) args.useBias = false;
  return args;
}

interface Result {
  weights: Float32Array[];
  y: Float32Array;
  dx: Float32Array;
  grads: Float32Array[];
}

/** Output, input gradient and weight gradients of sum(tanh(layer(x)) * r) on the active backend; the layer's weights given, or drawn from weightSeed (the reference). */
async function run(args: ScaleAttentionalConv2DArgs, xShape: number[], weights: Float32Array[] | null, xData: Float32Array, rData: Float32Array, weightSeed = 0): Promise<Result> {
  const layer = scaleAttentionalConv2d(args);
  const x = tf.tensor4d(xData, xShape as [number, number, number, number]);
  const r = tf.tensor(rData, [...xShape.slice(0, 3), args.filters]);
  withSeed(weightSeed, () => tf.dispose(layer.apply(x) as tf.Tensor)); // builds the weights
  if (weights !== null) layer.setWeights(weights.map((w, i) => tf.tensor(w, layer.weights[i]!.shape as number[])));
  const variables = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const loss = (input: tf.Tensor) => tf.sum(tf.mul(tf.tanh(layer.apply(input) as tf.Tensor), r)) as tf.Scalar;
  const y = layer.apply(x) as tf.Tensor;
  const { grads, value } = tf.variableGrads(() => loss(x), variables);
  const dx = tf.grad(loss)(x);
  const result = {
    weights: await Promise.all(layer.getWeights().map(async (w) => (await w.data()) as Float32Array)),
    y: (await y.data()) as Float32Array,
    dx: (await dx.data()) as Float32Array,
    grads: await Promise.all(variables.map(async (v) => (await grads[v.name]!.data()) as Float32Array)),
  };
  tf.dispose([x, r, y, value, dx, ...Object.values(grads)]);
  tf.disposeVariables();
  return result;
}

const firstLine = (err: unknown) => (err as Error).message.split('\n')[0];
let failures = 0;
for (let i = 0; i < count; i++) {
  const args = randomArgs();
  const xShape = [int(1, 3), int(1, 12), int(1, 12), int(1, maxChannels)];
  const name = `${JSON.stringify(args)} on x [${xShape.join(', ')}]`;
  let reference: Result;
  let xData: Float32Array;
  let rData: Float32Array;
  try {
    await tf.setBackend('cpu');
    setGradientMemoryMode('auto');
    xData = (await seededUniform(xShape, 100 + i).data()) as Float32Array;
    rData = (await seededUniform([...xShape.slice(0, 3), args.filters], 200 + i).data()) as Float32Array;
    reference = await run(args, xShape, null, xData, rData, 300 + i);
  } catch (err) {
    failures++;
    console.log(`throws on cpu: ${name}: ${firstLine(err)}`);
    continue;
  }
  for (const backend of ['wasm', ...(webgpu ? ['webgpu'] : [])]) {
    for (const mode of ['keep', 'recompute'] as const) {
      await tf.setBackend(backend);
      setGradientMemoryMode(mode);
      try {
        const got = await run(args, xShape, reference.weights, xData, rData);
        const flat = (arrays: Float32Array[]) => Float32Array.from(arrays.flatMap((a) => [...a]));
        const errors = [
          differenceRelativeToLargest(got.y, reference.y),
          differenceRelativeToLargest(got.dx, reference.dx),
          differenceRelativeToLargest(flat(got.grads), flat(reference.grads)),
        ];
        if (!errors.every((e) => e < 1e-4)) {
          failures++;
          console.log(`differs on ${backend} (${mode}): ${name}: output ${errors[0]}, input gradient ${errors[1]}, weight gradients ${errors[2]}`);
        }
      } catch (err) {
        failures++;
        console.log(`throws on ${backend} (${mode}): ${name}: ${firstLine(err)}`);
      }
    }
  }
}
console.log(`seed ${seed}: ${count} layers on cpu, wasm${webgpu ? ', webgpu' : ''}, ${failures} failing`);
process.exitCode = failures > 0 ? 1 : 0;
