/**
 * Prints the parameter table of the five models at 256x256x1 (both upsampling modes) and, with
 * --write, replaces the table between the PARAMS markers of the package README.
 *   pnpm --filter @sa-unet/unet-zoo params [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import { PARAMS_END, PARAMS_START, paramTable } from '../src/index.js';

const table = paramTable([256, 256, 1]);
console.log(table);
if (process.argv.includes('--write')) {
  const readme = new URL('../README.md', import.meta.url);
  const text = readFileSync(readme, 'utf8');
  const i = text.indexOf(PARAMS_START);
  const j = text.indexOf(PARAMS_END);
  if (i < 0 || j < i) throw new Error(`README.md has no ${PARAMS_START} ... ${PARAMS_END} markers`);
  writeFileSync(readme, `${text.slice(0, i + PARAMS_START.length)}\n${table}\n${text.slice(j)}`);
  console.log('\nREADME.md updated');
}
