/** `params`: the parameter table of the five models (with their multiply-adds per image), and their counts by base width. */
import * as tf from '@tensorflow/tfjs-core';
import { MODEL_NAMES, countParams, paramTable } from '@sa-unet/unet-zoo';
import '@tensorflow/tfjs-backend-wasm';
import { checkInteger, checkSize } from './options.js';

/** Every model's parameter count at each base width (rows: models; columns: widths), as Markdown. */
export function paramsByWidth(inputShape: [number, number, number], widths: readonly number[]): string {
  const byWidth = widths.map((w) => countParams(inputShape, 'nearest-conv', w)); // each in MODEL_NAMES' order
  return [
    `| model | ${widths.map((w) => `base ${w}`).join(' | ')} |`,
    `|---|${widths.map(() => '---:').join('|')}|`,
    ...MODEL_NAMES.map((name, i) => `| ${name} | ${byWidth.map((counts) => counts[i].total.toLocaleString('en-US')).join(' | ')} |`),
  ].join('\n');
}

/**
 * The parameter table of the zoo at `size` x `size` x 1 (default 256), as Markdown; with
 * `baseFilters`, also every model's count at each of those base widths (to choose the widths of a
 * comparison at about equal parameter counts: `compare --base-filters unet=4`).
 */
export async function runParams(opts: {
  /** Input side (default 256). */
  size?: number;
  /** Base widths to count every model at, ascending or not (each an integer >= 4). */
  baseFilters?: number[];
}): Promise<string> {
  const size = checkSize(opts.size ?? 256);
  const widths = (opts.baseFilters ?? []).map((w) => checkInteger(w, '--base-filters', 4));
  // Building the models creates their weights: the best registered backend (wasm here) must finish
  // its asynchronous start first; a backend the caller already set stays.
  await tf.ready();
  let table = paramTable([size, size, 1]);
  process.stdout.write(`Parameters at ${size}x${size}x1 (every weight, BN statistics included), and multiply-adds of a forward pass per image:\n\n${table}\n`);
  if (widths.length > 0) {
    const byWidth = paramsByWidth([size, size, 1], widths);
    process.stdout.write(`\nBy base width (nearest-conv decoders):\n\n${byWidth}\n`);
    table += `\n\n${byWidth}`;
  }
  return table;
}
