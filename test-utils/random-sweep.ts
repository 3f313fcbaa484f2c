/**
 * The command line and the draws of a random-configuration sweep (the `random-parity` scripts):
 * `--seed N` (default 1), `--cases N` and `--max-channels N`, and seeded integer and choice draws.
 */
import { parseArgs } from 'node:util';
import { seededRandom } from './numeric.js';

export interface RandomSweep {
  seed: number;
  /** How many configurations to draw. */
  count: number;
  /** The largest channel count to draw (`--max-channels`): wide layers cross the GPU kernels' tile edges. */
  maxChannels: number;
  random: () => number;
  /** An integer in [lo, hi]. */
  int: (lo: number, hi: number) => number;
  /** One of xs. */
  oneOf: <T>(xs: readonly T[]) => T;
  /**
   * A script's bound on a width, written for the default `--max-channels` 9, scaled in proportion
   * to the one given (at least 1), so that the default draws what it always drew.
   */
  widthBound: (atDefault: number) => number;
}

/**
 * Reads `--seed`, `--cases` (default `defaultCases`) and `--max-channels` (default 9); throws naming
 * the option if one is not an integer, or `--cases` or `--max-channels` is below 1.
 */
export function randomSweep(script: string, defaultCases: number, args: string[] = process.argv.slice(2)): RandomSweep {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: 'string', default: '1' },
      cases: { type: 'string', default: String(defaultCases) },
      'max-channels': { type: 'string', default: '9' },
    },
  });
  const integer = (option: keyof typeof values, least: number | null): number => {
    const n = Number(values[option]);
    if (!Number.isInteger(n) || (least !== null && n < least)) {
      throw new Error(`${script}: --${option} must be ${least === null ? 'an' : 'a positive'} integer, got ${values[option]}`);
    }
    return n;
  };
  const seed = integer('seed', null);
  const count = integer('cases', 1);
  const maxChannels = integer('max-channels', 1);
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const oneOf = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const widthBound = (atDefault: number) => Math.max(1, Math.round((atDefault * maxChannels) / 9));
  return { seed, count, maxChannels, random, int, oneOf, widthBound };
}
