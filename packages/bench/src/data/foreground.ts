/** How much of a set of masks is foreground: the prior that `--foreground-prior auto` starts the networks at. */
import type { Sample } from './dataset.js';

/** The fraction of foreground pixels over all the samples' masks (0 for no samples). */
export function foregroundFraction(samples: readonly Pick<Sample, 'mask'>[]): number {
  let foreground = 0;
  let pixels = 0;
  for (const { mask } of samples) {
    for (let i = 0; i < mask.length; i++) foreground += mask[i];
    pixels += mask.length;
  }
  return pixels === 0 ? 0 : foreground / pixels;
}
