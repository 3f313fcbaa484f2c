/**
 * Einsum for the wasm backend, which has none in tfjs-backend-wasm 4.22: tf.einsum, and so
 * tf.image.rgbToGrayscale (a weighted sum over the colour axis written as 'ij,j->i'), failed with
 * "Kernel 'Einsum' not registered for backend 'wasm'". Ours follows the plan tfjs-core's
 * backend_util draws up for any backend (which operands to bring in at each step, and which axis to
 * sum away after it): each operand is transposed to the common axis order and given size-1 axes for
 * the ones it lacks, multiplied in by broadcasting, and summed over its contracted axis with the
 * backend's own Transpose, Reshape, Multiply and Sum kernels, so the values are those of the cpu
 * backend's Einsum, which does the same.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { compositeKernel } from '../kernel-ops.js';

export function wasmEinsumKernel(): KernelFunc {
  return compositeKernel('wasm', (ops, inputs, attrs) => {
    const operands = Object.keys(inputs).sort((a, b) => Number(a) - Number(b)).map((k) => inputs[k]!);
    const { equation } = attrs as unknown as { equation: string };
    const { allDims, summedDims, idDims } = backend_util.decodeEinsumEquation(equation, operands.length);
    backend_util.checkEinsumDimSizes(allDims.length, idDims, operands as never);
    const { path, steps } = backend_util.getEinsumComputePath(summedDims, idDims);
    let product: TensorInfo | null = null;
    let remaining = allDims.length;
    steps.forEach((operandsOfStep, step) => {
      for (const k of operandsOfStep) {
        const { permutationIndices, expandDims } = backend_util.getEinsumPermutation(remaining, idDims[k]!);
        let x = operands[k]!;
        if (!backend_util.isIdentityPermutation(permutationIndices)) x = ops.transpose(x, permutationIndices);
        const shape = [...x.shape];
        for (const axis of expandDims) shape.splice(axis, 0, 1);
        if (!util.arraysEqual(shape, x.shape)) x = ops.reshape(x, shape);
        product = product === null ? x : ops.mul(x, product);
      }
      if (step < steps.length - 1) {
        if (path[step]! >= 0) product = ops.sum(product!, [path[step]! - (allDims.length - remaining)]);
        remaining--;
      }
    });
    // An operand returned unchanged ('ij->ij') must be a new tensor, not the input itself.
    return operands.includes(product!) ? ops.copy(product!) : product!;
  }) as KernelFunc;
}
