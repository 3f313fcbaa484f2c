/** `params`: the parameter table of the five models. */
import * as tf from '@tensorflow/tfjs-core';
import { paramTable } from '@sa-unet/unet-zoo';
import '@tensorflow/tfjs-backend-wasm';
import { checkSize } from './options.js';

/** The parameter table of the zoo at `size` x `size` x 1 (default 256), as Markdown. */
export async function runParams(opts: {
  /** Input side (default 256). */
  size?: number;
}): Promise<string> {
  const size = checkSize(opts.size ?? 256);
  // Building the models creates their weights: the best registered backend (wasm here) must finish
  // its asynchronous start first; a backend the caller already set stays.
  await tf.ready();
  const table = paramTable([size, size, 1]);
  process.stdout.write(`Parameters at ${size}x${size}x1 (every weight, BN statistics included):\n\n${table}\n`);
  return table;
}
