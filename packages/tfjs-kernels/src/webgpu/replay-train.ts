/**
 * A compiled tfjs-layers model's training step (what `trainOnBatch` runs) recorded once as the
 * WebGPU commands it runs and replayed after: training without tfjs's CPU work per dispatch.
 *
 * A step is replayable because, with this package, nothing in it moves from step to step: the
 * weights and Adam's moments are updated in place (fusedAdam), the zoo's batch norms update their
 * moving averages in place (BATCH_NORM_KERNELS.moments with inPlace), and what changes per step
 * on the CPU, Adam's step count and bias corrections, is noted for the replay (replay-notes.ts).
 * Each replay recomputes the corrections and advances the optimizer's count exactly as a step of
 * its own would.
 */
import type { Optimizer, Tensor } from '@tensorflow/tfjs-core';
import { FusedAdamOptimizer, type AdamState } from '../fused-adam.js';
import { WebGPUReplay, type WebGPUReplayOptions } from './replay.js';

/** What {@link replayTrainStep} needs of a tfjs-layers LayersModel (compiled). */
export interface TrainableModel {
  /** The model's name, in error messages. */
  name?: string;
  /** Its inputs: `run` takes one tensor per input, then one per output (the targets). */
  inputs: Array<{
    /** The input's shape, null where any size goes (the batch). */
    shape: Array<number | null>;
  }>;
  /** Its outputs. */
  outputs: Array<{
    /** The output's shape, null where any size goes (the batch). */
    shape: Array<number | null>;
  }>;
  /** The optimizer it was compiled with (fusedAdam). */
  optimizer: Optimizer | null | undefined;
  /** Every weight, trainable or not (batch norms' moving averages included): the replay's variables. */
  weights: Array<{
    /** The weight's current value. */
    read(): Tensor;
  }>;
}

/**
 * A {@link WebGPUReplay} of one training step of a compiled model: `run(...inputs, ...targets)`
 * (`run(x, y)` for one input and one output) updates the weights, batch-norm statistics and
 * optimizer state as `model.trainOnBatch(x, y)` does, and returns the step's loss values (the
 * total loss first, then each compiled metric) as scalar tensors for the caller to dispose, without
 * reading them back. On webgpu the first call per input shape runs the step as itself, the second
 * and third record it and, where both recordings agree (see {@link WebGPUReplayOptions.verify}),
 * later calls replay it: the same results, bit for bit. Elsewhere every call runs the step.
 *
 * The model must be compiled with {@link fusedAdam} (whose state the replay knows; another
 * optimizer's state would be replayed stale, so it is refused here); compiled again, it needs a
 * new replay (the old one throws). The step replays where the
 * weights and statistics stay in their storage: tfjs-layers' own BatchNormalization gives its
 * moving averages new storage at every step, so a model with it records again at every call
 * (correct, not faster); @sa-unet/unet-zoo's batch norm updates them in place. Random layers
 * (dropout) make the two recordings differ: such a step always runs as itself. Each batch shape
 * holds a step's working set on the GPU: `options.maxShapes` (default 4) bounds how many are kept.
 */
export function replayTrainStep(model: TrainableModel, options: Pick<WebGPUReplayOptions, 'maxShapes'> = {}): WebGPUReplay {
  const label = `replayTrainStep(${model.name ?? 'model'})`;
  const optimizer = model.optimizer;
  if (optimizer == null) throw new Error(`${label}: compile the model first (model.compile({ optimizer: fusedAdam(...), loss }))`);
  // (instanceof would not do: tfjs-core's Optimizer answers it for any object with an optimizer's methods)
  if (!Object.prototype.isPrototypeOf.call(FusedAdamOptimizer.prototype, optimizer)) {
    const name = (optimizer.constructor as { className?: string }).className ?? optimizer.constructor.name;
    throw new Error(`${label}: the model's optimizer must be fusedAdam from @sa-unet/tfjs-kernels (its state is updated in place and known to the replay), got ${name}`);
  }
  const makeTrainFunction = (model as unknown as { makeTrainFunction?: () => (data: Tensor[]) => Tensor[] }).makeTrainFunction;
  if (typeof makeTrainFunction !== 'function') throw new Error(`${label}: the model is not a tfjs-layers LayersModel (no makeTrainFunction)`);
  const trainFunction = makeTrainFunction.call(model);
  const arity = model.inputs.length + model.outputs.length;
  const adam = optimizer as unknown as AdamState;
  const expected = [...model.inputs.map((t, i) => ({ what: `input ${i}`, shape: t.shape })),
    ...model.outputs.map((t, i) => ({ what: `target ${i}`, shape: t.shape }))];
  // The optimizer's moments are variables of the replay: another optimizer's would be read stale.
  const checkOptimizer = () => {
    if (model.optimizer !== optimizer) {
      throw new Error(`${label}: the model was compiled again since this replay was made; make a new one (replayTrainStep(model))`);
    }
  };
  const step = (...data: Tensor[]): Tensor[] => {
    checkOptimizer();
    if (data.length !== arity) {
      throw new Error(`${label}: give ${model.inputs.length} input(s) and ${model.outputs.length} target(s), got ${data.length} tensor(s)`);
    }
    // trainOnBatch checks these before tfjs runs anything; the step it runs does not.
    data.forEach((t, i) => {
      const { what, shape } = expected[i]!;
      const batch = data[0]!.shape[0];
      const fits = t.shape.length === shape.length && t.shape.every((d, j) => (j === 0 ? d === batch : shape[j] == null || shape[j] === d));
      if (!fits) {
        throw new Error(`${label}: ${what} must have shape [${shape.map((d, j) => (j === 0 ? batch : d ?? 'any')).join(', ')}], got [${t.shape.join(', ')}]`);
      }
    });
    return trainFunction(data);
  };
  return new WebGPUReplay(step as (...data: Tensor[]) => Tensor[], {
    ...options,
    verify: true,
    variables: () => {
      checkOptimizer();
      return [
        ...model.weights.map((w) => w.read()),
        ...[...adam.accumulatedFirstMoment, ...adam.accumulatedSecondMoment].flatMap((slot) => slot === undefined ? [] : [slot.variable]),
      ];
    },
  });
}
