/**
 * Initializers of depthwise kernels that count the fans of one channel's filter.
 *
 * Why: a depthwise kernel [k, k, C, 1] is C independent k x k filters, each seeing one input
 * channel, so its true fan-in and fan-out are k*k. tfjs-layers (like Keras) computes fans from the
 * shape, fan-in = k*k*C, so a variance-scaling initializer (glorotUniform, heNormal, ...) draws
 * weights whose variance is up to (C+1)/2 times too small. In a plain depthwise-separable
 * convolution batch norm hides that; in the scale-attentional cascade it compounds: each stage
 * shrinks its input by about sqrt(2 / (C+1)), so in a 512-wide layer the 7x7 stage starts at
 * 1/500 of the 1x1 stage's scale, its variance below batch norm's epsilon (1e-3), and the wide
 * receptive fields the layer exists for start switched off.
 */
import { initializers } from '@tensorflow/tfjs-layers';
import type { Initializer } from './keras-objects.js';

/** tfjs-layers' own argument type of `varianceScaling` (not exported by name). */
type VarianceScalingArgs = NonNullable<Parameters<typeof initializers.varianceScaling>[0]>;

/** The arguments that rebuild a variance-scaling initializer (VarianceScaling or a subclass), else null. */
function varianceScalingArgs(initializer: Initializer): (VarianceScalingArgs & { scale: number }) | null {
  const { scale, mode, distribution, seed } = initializer.getConfig();
  if (typeof scale !== 'number' || typeof distribution !== 'string') return null;
  if (mode !== 'fanIn' && mode !== 'fanOut' && mode !== 'fanAvg') return null;
  return { scale, mode, distribution: distribution as VarianceScalingArgs['distribution'], seed: typeof seed === 'number' ? seed : undefined };
}

/**
 * The initializer to use for a depthwise kernel [k, k, channels, 1] in place of `initializer`:
 * for a variance-scaling one, the same distribution, mode and seed with its scale multiplied so
 * that the variance is what the fans of one channel's k x k filter give (x channels for 'fanIn',
 * x (channels + 1) / 2 for 'fanAvg', unchanged for 'fanOut'); any other initializer (randomNormal,
 * orthogonal, zeros, ...) does not depend on fans and is returned as it is.
 */
export function depthwiseInitializer(initializer: Initializer, channels: number): Initializer {
  const args = varianceScalingArgs(initializer);
  if (args === null) return initializer;
  const factor = args.mode === 'fanIn' ? channels : args.mode === 'fanAvg' ? (channels + 1) / 2 : 1;
  return initializers.varianceScaling({ ...args, scale: args.scale * factor });
}
