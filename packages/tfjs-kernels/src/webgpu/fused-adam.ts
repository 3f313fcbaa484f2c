/**
 * Adam whose update of each variable is three WebGPU dispatches instead of about eleven.
 *
 * tfjs-core's Adam updates a variable with separate element-wise kernels (two moments, two bias
 * corrections, sqrt, add, div, mul, add), each a full pass over memory and a dispatch. On an H100
 * a dispatch costs tfjs and Dawn about 0.05 ms on the CPU whatever its size, so an SA-U-Net Adam
 * update (3,108 dispatches for its ~280 variables) took 199 ms for 0.46M parameters. Here each
 * variable gets one program for the first moment, one for the second, one for the new value, with
 * every scalar in the uniforms. On any other backend, and for non-float32 variables, it is
 * tfjs-core's Adam unchanged.
 *
 * State, weights and config are tfjs-core's Adam's (`name/m`, `name/v`, iterations; className
 * 'Adam'), so models saved with it load with the stock optimizer and the other way round.
 */
import {
  AdamOptimizer,
  engine,
  mul,
  reshape,
  tidy,
  zerosLike,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs-core';
import type { WebGPUBackendInternals, WebGPUProgramSpec } from './backend-internals.js';

/** tfjs-core Adam's fields (private there) that the fused update reads and keeps up to date. */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: Variable } | undefined>;
  incrementIterations(): void;
}

const WORKGROUP = 64;
const MAX_WORKGROUPS = 4096; // beyond this, threads loop (grid stride): dispatch sizes stay within WebGPU's limits

function elementwise(shaderKey: string, variableNames: string[], uniforms: string, n: number, body: string): WebGPUProgramSpec {
  return {
    outputShape: [n],
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch: [Math.min(MAX_WORKGROUPS, Math.max(1, Math.ceil(n / WORKGROUP))), 1, 1],
    variableNames,
    uniforms: `count : i32, stride : i32, ${uniforms}`,
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        for (var i = index; i < uniforms.count; i += uniforms.stride) {
          ${body}
        }
      }
    `,
  };
}

/** moment' = decay moment + (1 - decay) g (or g², for the second moment), as tfjs-core computes it. */
function momentProgram(n: number, squared: boolean): WebGPUProgramSpec {
  return elementwise(`saunet_adamMoment_${squared}`, ['moment', 'grad'], 'decay : f32, oneMinusDecay : f32,', n,
    `let g = grad[i];
          result[i] = moment[i] * uniforms.decay + ${squared ? 'g * g' : 'g'} * uniforms.oneMinusDecay;`);
}

/** value' = value + (m' / c1) / (sqrt(v' / c2) + epsilon) * (-learningRate), in tfjs-core's order. */
function valueProgram(n: number): WebGPUProgramSpec {
  return elementwise('saunet_adamValue', ['param', 'newM', 'newV'],
    'negLearningRate : f32, epsilon : f32, correction1 : f32, correction2 : f32,', n,
    `let mHat = newM[i] / uniforms.correction1;
          let vHat = newV[i] / uniforms.correction2;
          result[i] = mHat / (sqrt(vHat) + uniforms.epsilon) * uniforms.negLearningRate + param[i];`);
}

/** Adam with a fused update on webgpu; elsewhere exactly tfjs-core's `AdamOptimizer` ([tf.train.adam](https://js.tensorflow.org/api/latest/#train.adam)). */
export class FusedAdamOptimizer extends AdamOptimizer {
  override applyGradients(variableGradients: Parameters<AdamOptimizer['applyGradients']>[0]): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const values = names.map((name) => engine().registeredVariables[name]);
    if (engine().backendName !== 'webgpu' || values.some((v) => v === undefined || v.dtype !== 'float32')) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamState;
    const gpu = engine().backend as WebGPUBackendInternals;
    const step = this.iterations + 1; // tfjs-core's accBeta after `step - 1` updates is beta^step (the getter: iterations_ starts undefined)
    const correction1 = 1 - self.beta1 ** step;
    const correction2 = 1 - self.beta2 ** step;
    const run = (program: WebGPUProgramSpec, inputs: Tensor[], uniforms: number[]): Tensor =>
      engine().makeTensorFromTensorInfo(gpu.runWebGPUProgram(program, inputs, 'float32', [
        { type: 'int32', data: [program.outputShape[0]!] },
        { type: 'int32', data: [program.dispatch[0] * WORKGROUP] },
        ...uniforms.map((u) => ({ type: 'float32', data: [u] })),
      ]));
    tidy(() => {
      names.forEach((name, i) => {
        const value = values[i]!;
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tidy(() => zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tidy(() => zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : (variableGradients as Record<string, Tensor>)[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const n = value.size;
        const newM = run(momentProgram(n, false), [m, gradient], [self.beta1, 1 - self.beta1]);
        const newV = run(momentProgram(n, true), [v, gradient], [self.beta2, 1 - self.beta2]);
        const newValue = run(valueProgram(n), [value, newM, newV], [-self.learningRate, self.epsilon, correction1, correction2]);
        m.assign(reshape(newM, value.shape));
        v.assign(reshape(newV, value.shape));
        value.assign(reshape(newValue, value.shape));
      });
      // Kept as tfjs-core keeps them, so that the stock path (another backend) continues exactly.
      self.accBeta1.assign(mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/**
 * Adam (tfjs-core's defaults: beta1 0.9, beta2 0.999, epsilon from the backend) with a fused
 * update on webgpu: three dispatches per variable instead of about eleven. A drop-in for
 * `tf.train.adam`.
 */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
