/** The presets' values where users read them: the API site (the type's comments) and `--help`. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/program.js';
import { PRESETS, type PresetName } from '../src/train/presets.js';

const names = Object.keys(PRESETS) as PresetName[];

/** A value as the comments write it: small rates as 5e-4. */
const written = (value: number | boolean | string | null) => (typeof value === 'number' && value !== 0 && Math.abs(value) < 0.01 ? value.toExponential() : String(value));

describe('presets', () => {
  it('the comments of PRESETS list every value of each preset, as the code has them', async () => {
    const source = await readFile(new URL('../src/train/presets.ts', import.meta.url), 'utf8');
    // Comment text with the line breaks and leading ` * ` of each line removed.
    const comments = [...source.matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((m) => m[1].replace(/\n\s*\*\s?/g, ' ').replace(/\s+/g, ' '));
    for (const name of names) {
      const values = Object.entries(PRESETS[name]).map(([key, value]) => `${key} ${written(value)}`).join(', ');
      expect(comments.some((c) => c.includes(`${values}.`)), `${name}: ${values}`).toBe(true);
    }
  });

  it('--help states the size, epochs, repeats and phantom count of each preset as the code has them', () => {
    const help = buildProgram({ forTests: true }).commands.find((c) => c.name() === 'compare')!.helpInformation().replace(/\s+/g, ' ');
    for (const [flag, key] of [['--size', 'size'], ['--epochs', 'epochs'], ['--repeats', 'repeats'], ['--phantom-count', 'phantomCount']] as const) {
      const line = help.slice(help.indexOf(flag), help.indexOf(flag) + 160);
      for (const name of names) expect(line, `${flag} for ${name}`).toContain(`${name} ${PRESETS[name][key]}`);
    }
  });
});
