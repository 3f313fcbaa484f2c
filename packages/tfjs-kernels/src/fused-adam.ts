/**
 * Adam with a fused update where the backend allows one, tfjs-core's Adam everywhere else.
 *
 * tfjs-core's Adam runs about eleven element-wise kernels per variable and step. Each kernel has
 * a fixed cost whatever its size (on webgpu a dispatch, about 0.05 ms of CPU time on an H100; on
 * wasm about 10 µs of tfjs bookkeeping and a pass over memory), so a network of many small
 * variables (SA-U-Net: 222 variables, 0.46M parameters) pays for the count, not the size.
 * - webgpu (./webgpu/fused-adam.ts): one WGSL dispatch per two to four variables, in place where
 *   nothing else shares a variable's storage (tfjs tensors are immutable), else three per variable.
 * - wasm (./wasm/fused-adam.ts): one JavaScript loop per small variable, into new tensors.
 *
 * State, weights and config are tfjs-core's Adam's (`name/m`, `name/v`, iterations; className
 * 'Adam'), so models saved with it load with the stock optimizer and the other way round.
 */
import { AdamOptimizer, engine, env, mul, scalar, tidy, zerosLike, type Scalar, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { releasingGradientsEarly } from './early-release.js';
import { applyAdamOnWasm } from './wasm/fused-adam.js';
import { applyAdamOnWebGPU } from './webgpu/fused-adam.js';
import { replayNotes } from './webgpu/replay-notes.js';

/** tfjs-core Adam's fields (private there) that the fused updates read and keep up to date. */
export interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: Variable } | undefined>;
  /** Updates applied so far. */
  readonly iterations: number;
  incrementIterations(): void;
}

/** One variable to update: its value, its two moments and its gradient (all float32, same size). */
export interface AdamSlot {
  value: Variable;
  m: Variable;
  v: Variable;
  gradient: Tensor;
}

/**
 * Updates every slot. Runs inside a tidy, before tfjs-core's bias-correction products advance;
 * `step` is the 1-based number of this update.
 */
type FusedUpdate = (self: AdamState, slots: AdamSlot[], step: number) => void;

const FUSED_UPDATES: Record<string, FusedUpdate> = { webgpu: applyAdamOnWebGPU, wasm: applyAdamOnWasm };

/** Adam with a fused update on webgpu and wasm; elsewhere exactly tfjs-core's `AdamOptimizer` ([tf.train.adam](https://js.tensorflow.org/api/latest/#train.adam)). */
export class FusedAdamOptimizer extends AdamOptimizer {
  /**
   * Applies one Adam update to the variables named in `variableGradients`: in place in a few
   * dispatches on webgpu, by one loop over each variable on wasm, and as tfjs-core's Adam elsewhere
   * (and for variables that are not float32).
   */
  override applyGradients(variableGradients: Parameters<AdamOptimizer['applyGradients']>[0]): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const values = names.map((name) => engine().registeredVariables[name]);
    const fused = FUSED_UPDATES[engine().backendName];
    if (fused === undefined || values.some((v) => v === undefined || v.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamState;
    const step = this.iterations + 1; // tfjs-core's accBeta after `step - 1` updates is beta^step (the getter: iterations_ starts undefined)
    tidy(() => {
      const slots: AdamSlot[] = [];
      names.forEach((name, i) => {
        const value = values[i]!;
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tidy(() => zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tidy(() => zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : (variableGradients as Record<string, Tensor>)[name];
        if (gradient == null) return;
        slots.push({ value, m: self.accumulatedFirstMoment[i]!.variable, v: self.accumulatedSecondMoment[i]!.variable, gradient });
      });
      fused(self, slots, step);
    });
    advanceStep(self);
    // A replayed training step (replayTrainStep) replays the update's commands; the step count is the CPU's to advance.
    replayNotes()?.eachReplay(() => advanceStep(self));
  }

  /**
   * tfjs-core's gradients of `f`, each gradient tensor disposed as soon as it has been used rather
   * than at the end of the backward pass: the same values, a lower peak memory (a U-Net step at
   * 256x256, batch 4: 1.71 instead of 2.68 GiB of wasm heap).
   */
  override computeGradients(f: () => Scalar, varList?: Variable[]): ReturnType<AdamOptimizer['computeGradients']> {
    return super.computeGradients(releasingGradientsEarly(f), varList);
  }

  /**
   * tfjs-core's setWeights, except that beta1^t and beta2^t (the bias corrections' running
   * products) are restored as training computes them, one float32 product per step, instead of
   * tfjs-core's `pow(beta, t + 1)`, which can differ in the last bits: so an optimizer restored
   * from `getWeights()` continues bit for bit as the saved one would have (an interrupted training
   * run resumed from its saved state gives the uninterrupted run's weights).
   */
  override async setWeights(weightValues: Parameters<AdamOptimizer['setWeights']>[0]): Promise<void> {
    await super.setWeights(weightValues);
    const self = this as unknown as AdamState;
    const steps = this.iterations;
    tidy(() => {
      self.accBeta1.assign(scalar(float32RunningPower(self.beta1, steps + 1)));
      self.accBeta2.assign(scalar(float32RunningPower(self.beta2, steps + 1)));
    });
  }
}

/** The CPU's part of an update: the step count, and beta1^t and beta2^t kept as tfjs-core keeps them, so that the stock path (another backend) continues exactly. */
function advanceStep(self: AdamState): void {
  tidy(() => {
    self.accBeta1.assign(mul(self.accBeta1, self.beta1));
    self.accBeta2.assign(mul(self.accBeta2, self.beta2));
  });
  self.incrementIterations();
}

/**
 * beta^n as Adam keeps it: float32(beta), multiplied by float32(beta) n - 1 times, each product
 * rounded to float32 (the product of two float32 values is exact in a double, so rounding it once
 * gives the float32 product).
 */
export function float32RunningPower(beta: number, n: number): number {
  const b = Math.fround(beta);
  let power = b;
  for (let i = 1; i < n; i++) power = Math.fround(power * b);
  return power;
}

/** tfjs' epsilon for float32 arithmetic (its backends' `epsilon()` where they compute in float32). */
const FLOAT32_EPSILON = 1e-7;

/**
 * The epsilon tfjs-core's Adam would take from the active backend, except on WebGL that renders
 * float32: tfjs-backend-webgl 4.22's `floatPrecision()` answers 16 exactly when float32 rendering
 * is enabled (tensorflow/tfjs#6980), so its epsilon is the float16 one, 1e-4, and Adam there takes
 * steps visibly different from every other backend's (a dice-loss SA-U-Net on WebGL in Chromium
 * followed the wasm run with epsilon 1e-4 to the last digit, not the one with 1e-7).
 */
export function defaultAdamEpsilon(): number {
  if (engine().backendName === 'webgl' && env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) return FLOAT32_EPSILON;
  return engine().backend.epsilon();
}

/**
 * Adam (tfjs-core's defaults: beta1 0.9, beta2 0.999, epsilon from the active backend, 1e-7 for
 * float32 arithmetic: see {@link defaultAdamEpsilon}) with a fused update on webgpu (one dispatch
 * per two to four variables instead of about eleven per variable; three per variable where its
 * storage is shared) and on wasm (one loop per variable of at most 8,192 values instead of about
 * eleven kernels). A drop-in for `tf.train.adam`.
 */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  // tf.train.adam takes any number: a NaN or negative rate would turn every weight to NaN or
  // climb the loss, steps later and without a word.
  const check = (name: string, value: unknown, ok: (v: number) => boolean, expected: string) => {
    if (typeof value !== 'number' || !ok(value)) throw new Error(`fusedAdam: '${name}' must be ${expected}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  };
  check('learningRate', learningRate, (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  check('beta1', beta1, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  check('beta2', beta2, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  if (epsilon !== undefined) check('epsilon', epsilon, (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon ?? defaultAdamEpsilon());
}
