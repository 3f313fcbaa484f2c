import { describe, expect, it } from 'vitest';
import { randomSweep } from '../test-utils/random-sweep.js';

describe('randomSweep (the random-parity scripts\' command line)', () => {
  it('defaults to seed 1, the script\'s case count and 9 channels, with bounds as written', () => {
    const sweep = randomSweep('demo', 40, []);
    expect([sweep.seed, sweep.count, sweep.maxChannels]).toEqual([1, 40, 9]);
    expect([1, 5, 6, 7, 12].map(sweep.widthBound)).toEqual([1, 5, 6, 7, 12]);
  });

  it('scales the width bounds with --max-channels, never below 1', () => {
    const wide = randomSweep('demo', 40, ['--max-channels', '72']);
    expect([wide.maxChannels, wide.widthBound(6), wide.widthBound(9)]).toEqual([72, 48, 72]);
    const narrow = randomSweep('demo', 40, ['--max-channels', '1']);
    expect([narrow.widthBound(1), narrow.widthBound(6), narrow.widthBound(12)]).toEqual([1, 1, 1]);
  });

  it('draws the same values for the same seed and others for another', () => {
    const draws = (seed: string) => {
      const { int, oneOf } = randomSweep('demo', 1, ['--seed', seed]);
      return Array.from({ length: 20 }, (_, i) => (i % 2 ? int(1, 1000) : oneOf(['a', 'b', 'c', 'd'])));
    };
    expect(draws('7')).toEqual(draws('7'));
    expect(draws('7')).not.toEqual(draws('8'));
  });

  it.each([
    [['--seed', '1.5'], '--seed must be an integer, got 1.5'],
    [['--cases', '0'], '--cases must be a positive integer, got 0'],
    [['--max-channels', 'wide'], '--max-channels must be a positive integer, got wide'],
    [['--max-channels', '0'], '--max-channels must be a positive integer, got 0'],
  ])('rejects %j, naming the option', (args, message) => {
    expect(() => randomSweep('random-parity', 40, args)).toThrow(`random-parity: ${message}`);
  });
});
