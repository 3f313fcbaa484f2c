/** Reading a finished results folder of `compare`: what `--extend` and `paired` start from. */
import { join } from 'node:path';
import { exists, isFolder, readJson } from '../output.js';
import type { CompareResults, RunConfig } from '../report/results.js';

/** A finished comparison: its folder, the options it ran with and what it found. */
export interface FinishedComparison {
  /** The folder, as given. */
  dir: string;
  /** config.json: the options as written (older versions lack options added since). */
  config: Partial<RunConfig>;
  /** results.json. */
  results: CompareResults;
}

/**
 * Reads `dir`'s config.json and results.json, or throws an error that starts with `flag` and says
 * what `dir` is instead: no folder, an unfinished run (no results.json yet) or another command's.
 */
export async function readFinishedComparison(dir: string, flag: string): Promise<FinishedComparison> {
  if (!(await isFolder(dir))) throw new Error(`${flag}: ${dir} is not a folder; give a finished results folder of compare`);
  for (const name of ['config.json', 'results.json']) {
    if (!(await exists(join(dir, name)))) {
      throw new Error(`${flag}: ${dir} has no ${name}; give a finished results folder of compare (to continue an interrupted one, use --resume with its --out)`);
    }
  }
  const config = await readJson<Partial<RunConfig>>(join(dir, 'config.json'));
  if (config.command !== 'compare') throw new Error(`${flag}: ${dir} holds the results of ${JSON.stringify(config.command)}, not of compare`);
  return { dir, config, results: await readJson<CompareResults>(join(dir, 'results.json')) };
}
