/**
 * Gradients of comparisons and logical operations: zero, since their outputs are piecewise
 * constant in their inputs. tfjs-core 4.22 has one only for GreaterEqual, so any gradient whose
 * path went through a mask built with the others failed: `tf.where(tf.greater(x, 0), a, b)` (a
 * masked loss, a piecewise activation) gave "gradient function not found for Greater" although
 * the mask contributes nothing. TensorFlow treats them as not differentiable, which is the same.
 */
import { zeros, type GradConfig, type Tensor } from '@tensorflow/tfjs-core';

/** The comparisons and logical operations that tfjs-core has no gradient for. */
export const ZERO_GRADIENT_KERNELS = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot'] as const;

/** A zero gradient for each of {@link ZERO_GRADIENT_KERNELS}. */
export const zeroGradConfigs: GradConfig[] = ZERO_GRADIENT_KERNELS.map((kernelName) => {
  const inputs = kernelName === 'LogicalNot' ? ['x'] : ['a', 'b'];
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) =>
      Object.fromEntries(inputs.map((name, i) => [name, () => zeros(saved[i]!.shape)])), // float32, as tfjs requires of gradients, for bool inputs too
  };
});
