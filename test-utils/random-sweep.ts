/**
 * The command line and the draws of a random-configuration sweep (the `random-parity` scripts):
 * `--seed N` (default 1), `--cases N` and `--max-channels N`, and seeded integer and choice draws.
 */
import { parseArgs } from 'node:util';
import { seededRandom } from './numeric.js';

/** `--max-channels` by default: the channel bound the scripts' width bounds were written for. */
const DEFAULT_MAX_CHANNELS = 9;

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
      'max-channels': { type: 'string', default: String(DEFAULT_MAX_CHANNELS) },
    },
  });
  const integer = (option: keyof typeof values, positive: boolean): number => {
    const n = Number(values[option]);
    if (!Number.isInteger(n) || (positive && n < 1)) {
      throw new Error(`${script}: --${option} must be ${positive ? 'a positive' : 'an'} integer, got ${values[option]}`);
    }
    return n;
  };
  const seed = integer('seed', false);
  const count = integer('cases', true);
  const maxChannels = integer('max-channels', true);
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const oneOf = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const widthBound = (atDefault: number) => Math.max(1, Math.round((atDefault * maxChannels) / DEFAULT_MAX_CHANNELS));
  return { seed, count, maxChannels, random, int, oneOf, widthBound };
}
