/**
 * fusedAdam's update on wasm: one JavaScript loop over the wasm heap per small variable instead of
 * about eleven kernels.
 *
 * Why: a wasm kernel call costs about 10 µs of tfjs bookkeeping whatever its size (0.08 ms for
 * Adam's eleven on a small variable), so tfjs-core's Adam spent 30 ms per step on SA-U-Net's 222
 * variables (base 16, 0.12M parameters: a tenth of a 64x64 training step), nearly all of it
 * per-kernel cost. The loop costs about 9 ns per value, so
 * it wins below about 10,000 values; larger variables keep tfjs-core's kernels.
 *
 * The loop writes the new value and moments into new tensors, which the variables are assigned,
 * never into the variables' own storage: the wasm backend keeps XNNPACK operators with packed
 * copies of convolution filters and biases, keyed by the tensor they came from, so a filter
 * overwritten in place would go on convolving with its old values.
 *
 * It does tfjs-core's arithmetic in tfjs-core's order with each operation rounded to float32
 * (Math.fround of the double result, which is the float32 result for +, -, *, / and sqrt), and
 * takes 1 - beta^t from the same float32 products tfjs-core keeps, so the values equal the stock
 * Adam's bit for bit.
 */
import { add, div, engine, mul, sqrt, square, sub, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import type { AdamSlot, AdamState } from '../fused-adam.js';
import type { WasmBackendInternals } from './backend-internals.js';

/**
 * Variables with more values than this take tfjs-core's kernels (`pnpm --filter
 * @sa-unet/tfjs-kernels bench:adam` on the 2-core development machine: the loop is 2.2x faster at
 * 4,096 values, 1.3x at 8,192, 0.9x at 12,288, 0.6x at 32,768).
 */
export const LOOP_MAX_SIZE = 8_192;

const f = Math.fround;

/** The values an update reads and the arrays it writes. */
export interface AdamArrays {
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
  gradient: Float32Array;
  newValue: Float32Array;
  newM: Float32Array;
  newV: Float32Array;
}

/** Adam's per-value update, each operation rounded to float32 as the wasm kernels round it (exported for bench/adam.ts). */
export function adamLoop(
  { value, m, v, gradient, newValue, newM, newV }: AdamArrays,
  beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
  correction1: number, correction2: number, epsilon: number, negLearningRate: number,
): void {
  for (let i = 0; i < value.length; i++) {
    const g = gradient[i]!;
    const mi = f(f(m[i]! * beta1) + f(g * oneMinusBeta1));
    const vi = f(f(v[i]! * beta2) + f(f(g * g) * oneMinusBeta2));
    const ratio = f(f(mi / correction1) / f(f(Math.sqrt(f(vi / correction2))) + epsilon));
    newValue[i] = f(f(ratio * negLearningRate) + value[i]!);
    newM[i] = mi;
    newV[i] = vi;
  }
}

/** tfjs-core's update of one variable, kernel for kernel (for large variables). */
function stockUpdate(self: AdamState, { value, m, v, gradient }: AdamSlot, oneMinusAccBeta1: Tensor, oneMinusAccBeta2: Tensor): void {
  const newM = add(mul(m, self.beta1), mul(gradient, 1 - self.beta1));
  const newV = add(mul(v, self.beta2), mul(square(gradient), 1 - self.beta2));
  const correctedM = div(newM, oneMinusAccBeta1);
  const correctedV = div(newV, oneMinusAccBeta2);
  m.assign(newM);
  v.assign(newV);
  value.assign(add(mul(div(correctedM, add(sqrt(correctedV), self.epsilon)), -self.learningRate), value));
}

/** Adam's update of every slot on wasm: one loop for small variables, tfjs-core's kernels for the others. */
export function applyAdamOnWasm(self: AdamState, slots: AdamSlot[]): void {
  const wasm = engine().backend as WasmBackendInternals;
  // tfjs-core's bias corrections, 1 - beta^t from its float32 running products.
  const oneMinusAccBeta1 = sub(1, self.accBeta1);
  const oneMinusAccBeta2 = sub(1, self.accBeta2);
  const constants = [f(self.beta1), f(1 - self.beta1), f(self.beta2), f(1 - self.beta2),
    wasm.typedArrayFromHeap(oneMinusAccBeta1)[0]!, wasm.typedArrayFromHeap(oneMinusAccBeta2)[0]!, f(self.epsilon), f(-self.learningRate)] as const;
  for (const slot of slots) {
    const { value, m, v, gradient } = slot;
    if (value.size > LOOP_MAX_SIZE || gradient.dtype !== 'float32') {
      stockUpdate(self, slot, oneMinusAccBeta1, oneMinusAccBeta2);
      continue;
    }
    const outputs = [value, m, v].map((t) => wasm.makeOutput(t.shape, 'float32'));
    // Views taken after the allocations (which may grow, and so detach, the heap).
    const view = (t: TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
    adamLoop({ value: view(value), m: view(m), v: view(v), gradient: view(gradient),
      newValue: view(outputs[0]!), newM: view(outputs[1]!), newV: view(outputs[2]!) }, ...constants);
    const [valueOut, mOut, vOut] = outputs.map((t) => engine().makeTensorFromTensorInfo(t));
    m.assign(mOut!);
    v.assign(vOut!);
    value.assign(valueOut!);
  }
}
