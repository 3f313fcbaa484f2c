/**
 * fusedAdam's update on webgpu: one dispatch per variable instead of about eleven, and per two to
 * four variables where they are updated in place.
 *
 * tfjs-core's Adam updates a variable with separate element-wise kernels (two moments, two bias
 * corrections, sqrt, add, div, mul, add), each a full pass over memory and a dispatch. On an H100
 * a dispatch costs tfjs and Dawn about 0.05 ms on the CPU whatever its size, so an SA-U-Net Adam
 * update (3,108 dispatches for its 222 variables) took 199 ms for 0.46M parameters. Here one
 * shader reads the gradient and updates the variable and both moments in place, with every scalar
 * in its uniforms: tfjs tensors are immutable, but a variable's storage that nothing else shares
 * (the backend's reference count is 1) can be overwritten without anyone seeing the old values
 * change. Where the storage is shared (a clone of the variable, or a variable assigned from a
 * tensor still alive) the update is three dispatches into new tensors instead (first moment,
 * second moment, value).
 *
 * The in-place updates are grouped: one dispatch updates as many variables as the device lets a
 * shader bind (four storage buffers each: value, two moments, gradient; WebGPU's default limit of
 * 8 gives pairs), since SA-U-Net has 222 variables, most of them small, and each dispatch costs
 * the same CPU time whatever it updates.
 */
import {
  engine,
  reshape,
  type Tensor,
} from '@tensorflow/tfjs-core';
import type { AdamSlot, AdamState } from '../fused-adam.js';
import type { WebGPUProgramSpec } from './backend-internals.js';
import { gridStride, WORKGROUP } from './grid.js';
import { recordDispatch, writableInPlace, type RecordedShader, type RecordingBackend } from './recorded-dispatch.js';

const asUniforms = (values: number[]) => values.map((u) => ({ type: 'float32', data: [u] }));

// Adam's arithmetic in WGSL, in tfjs-core's order, written once for both forms of the update.
const momentExpr = (moment: string, gradTerm: string, decay: string, oneMinusDecay: string) =>
  `${moment} * uniforms.${decay} + ${gradTerm} * uniforms.${oneMinusDecay}`;
const valueExpr = (param: string, m: string, v: string) =>
  `${m} / uniforms.correction1 / (sqrt(${v} / uniforms.correction2) + uniforms.epsilon) * uniforms.negLearningRate + ${param}`;

function elementwise(shaderKey: string, variableNames: string[], uniforms: string, n: number, body: string): WebGPUProgramSpec {
  return {
    outputShape: [n],
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch: [gridStride(n).workgroups, 1, 1],
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
          result[i] = ${momentExpr('moment[i]', squared ? 'g * g' : 'g', 'decay', 'oneMinusDecay')};`);
}

/** value' = value + (m' / c1) / (sqrt(v' / c2) + epsilon) * (-learningRate), in tfjs-core's order. */
function valueProgram(n: number): WebGPUProgramSpec {
  return elementwise('saunet_adamValue', ['param', 'newM', 'newV'],
    'negLearningRate : f32, epsilon : f32, correction1 : f32, correction2 : f32,', n,
    `result[i] = ${valueExpr('param[i]', 'newM[i]', 'newV[i]')};`);
}

/** Most variables one in-place dispatch updates (shader variants 1..MAX_GROUP). */
const MAX_GROUP = 4;

/**
 * The update of `group` variables and their moments in one pass, in place: the three programs
 * above in one, for each variable j of the group (bindings 4j to 4j + 3) whose count i reaches.
 */
function inPlaceShader(group: number): string {
  const sets = Array.from({ length: group }, (_, j) => j);
  return `
struct Uniforms {
  ${sets.map((j) => `count${j} : i32,`).join(' ')} stride : i32, largest : i32,
  beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32,
  negLearningRate : f32, epsilon : f32, correction1 : f32, correction2 : f32,
};
${sets.map((j) => `@group(0) @binding(${4 * j}) var<storage, read_write> param${j} : array<f32>;
@group(0) @binding(${4 * j + 1}) var<storage, read_write> m${j} : array<f32>;
@group(0) @binding(${4 * j + 2}) var<storage, read_write> v${j} : array<f32>;
@group(0) @binding(${4 * j + 3}) var<storage, read> grad${j} : array<f32>;`).join('\n')}
@group(0) @binding(${4 * group}) var<uniform> uniforms : Uniforms;
@compute @workgroup_size(${WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  for (var i = i32(id.x); i < uniforms.largest; i += uniforms.stride) {
    ${sets.map((j) => `if (i < uniforms.count${j}) {
      let g = grad${j}[i];
      let newM = ${momentExpr(`m${j}[i]`, 'g', 'beta1', 'oneMinusBeta1')};
      let newV = ${momentExpr(`v${j}[i]`, 'g * g', 'beta2', 'oneMinusBeta2')};
      m${j}[i] = newM;
      v${j}[i] = newV;
      param${j}[i] = ${valueExpr(`param${j}[i]`, 'newM', 'newV')};
    }`).join('\n    ')}
  }
}`;
}

const inPlaceShaders = Array.from({ length: MAX_GROUP }, (_, i): RecordedShader => ({
  key: `saunet_adamInPlace_${i + 1}`,
  code: () => inPlaceShader(i + 1),
}));

/** How many variables one in-place dispatch may update on this device (four storage buffers each). */
export function inPlaceGroupSize(device: GPUDevice): number {
  return Math.max(1, Math.min(MAX_GROUP, Math.floor(device.limits.maxStorageBuffersPerShaderStage / 4)));
}

/**
 * Records the in-place update of a group of slots into tfjs's own command stream, as its programs
 * are recorded (same pass, same submit batching), so it runs after the kernels that computed the
 * gradients.
 */
function recordInPlaceUpdate(gpu: RecordingBackend, group: AdamSlot[], uniforms: () => number[]): void {
  const largest = Math.max(...group.map((slot) => slot.value.size));
  const workgroups = gridStride(largest).workgroups;
  const counts = group.map((slot) => ({ type: 'int32', data: [slot.value.size] }));
  const all = () => [...counts, { type: 'int32', data: [workgroups * WORKGROUP] }, { type: 'int32', data: [largest] }, ...asUniforms(uniforms())];
  recordDispatch(gpu, inPlaceShaders[group.length - 1]!, group.flatMap(({ value, m, v, gradient }) => [value, m, v, gradient]),
    all(), [workgroups, 1, 1], all);
}

/** The in-place update's Adam uniforms for update number `step` (1-based). */
function inPlaceUniforms(self: AdamState, step: number): number[] {
  return [self.beta1, 1 - self.beta1, self.beta2, 1 - self.beta2, -self.learningRate, self.epsilon, 1 - self.beta1 ** step, 1 - self.beta2 ** step];
}

/** Adam's update of every slot on webgpu: in place where it may, else three dispatches into new tensors. */
export function applyAdamOnWebGPU(self: AdamState, slots: AdamSlot[], step: number): void {
  const gpu = engine().backend as RecordingBackend;
  const correction1 = 1 - self.beta1 ** step;
  const correction2 = 1 - self.beta2 ** step;
  const run = (program: WebGPUProgramSpec, inputs: Tensor[], uniforms: number[]): Tensor =>
    engine().makeTensorFromTensorInfo(gpu.runWebGPUProgram(program, inputs, 'float32',
      [...gridStride(program.outputShape[0]!).uniforms, ...asUniforms(uniforms)]));
  const inPlace: AdamSlot[] = [];
  for (const slot of slots) {
    const { value, m, v, gradient } = slot;
    if (writableInPlace(gpu, [value, m, v])) {
      inPlace.push(slot);
      continue;
    }
    const n = value.size;
    const newM = run(momentProgram(n, false), [m, gradient], [self.beta1, 1 - self.beta1]);
    const newV = run(momentProgram(n, true), [v, gradient], [self.beta2, 1 - self.beta2]);
    const newValue = run(valueProgram(n), [value, newM, newV], [-self.learningRate, self.epsilon, correction1, correction2]);
    m.assign(reshape(newM, value.shape));
    v.assign(reshape(newV, value.shape));
    value.assign(reshape(newValue, value.shape));
  }
  // Groups of similar sizes, so that few threads of a dispatch idle past their variable's end.
  inPlace.sort((a, b) => b.value.size - a.value.size);
  const groupSize = inPlaceGroupSize(gpu.device);
  // From the optimizer's step count as it is when called (update number `step` now; a replay of
  // this update computes them again before it advances the count: FusedAdamOptimizer).
  const uniforms = () => inPlaceUniforms(self, self.iterations + 1);
  for (let i = 0; i < inPlace.length; i += groupSize) recordInPlaceUpdate(gpu, inPlace.slice(i, i + groupSize), uniforms);
}
