/** `params`: the parameter table of the five models. */
import '@tensorflow/tfjs-backend-cpu';
import { paramTable } from '@sa-unet/unet-zoo';
import { checkInteger } from './options.js';

export function runParams(opts: { size?: number }): string {
  const size = checkInteger(opts.size ?? 256, '--size', 16);
  if (size % 16 !== 0) throw new Error(`--size must be a multiple of 16, got ${size}`);
  const table = paramTable([size, size, 1]);
  process.stdout.write(`Parameters at ${size}x${size}x1 (every weight, BN statistics included):\n\n${table}\n`);
  return table;
}
