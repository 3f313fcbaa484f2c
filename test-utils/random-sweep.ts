/**
 * The command line and the draws of a random-configuration sweep (the `random-parity` scripts):
 * `--seed N` (default 1) and `--cases N`, and seeded integer and choice draws.
 */
import { parseArgs } from 'node:util';
import { seededRandom } from './numeric.js';

export interface RandomSweep {
  seed: number;
  /** How many configurations to draw. */
  count: number;
  random: () => number;
  /** An integer in [lo, hi]. */
  int: (lo: number, hi: number) => number;
  /** One of xs. */
  oneOf: <T>(xs: readonly T[]) => T;
}

/** Reads `--seed` and `--cases` (default `defaultCases`); throws naming them if they are not integers. */
export function randomSweep(script: string, defaultCases: number): RandomSweep {
  const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, cases: { type: 'string', default: String(defaultCases) } } });
  const seed = Number(values.seed);
  const count = Number(values.cases);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
    throw new Error(`${script}: --seed must be an integer and --cases a positive integer, got --seed ${values.seed} --cases ${values.cases}`);
  }
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const oneOf = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return { seed, count, random, int, oneOf };
}
