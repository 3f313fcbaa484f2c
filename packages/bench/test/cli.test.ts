import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatEta } from '../src/progress.js';
import { buildProgram } from '../src/program.js';
import { resolveRunOptions } from '../src/commands/options.js';

const parse = (...args: string[]) => buildProgram({ forTests: true }).parseAsync(['node', 'sa-unet-bench', ...args]);

describe('sa-unet-bench flags', () => {
  it.each<[string, string[], RegExp]>([
    ['epochs 0', ['compare', '--epochs', '0'], /--epochs must be an integer >= 1, got '0'/],
    ['epochs not a number', ['compare', '--epochs', 'ten'], /--epochs must be an integer >= 1, got 'ten'/],
    ['learning rate not a number', ['compare', '--lr', 'fast'], /--lr must be a number from 1e-7 to 1, got 'fast'/],
    ['size not a multiple of 16', ['compare', '--size', '100', '--quiet'], /--size must be a multiple of 16 .*got 100; nearest: 96 or 112/],
    ['size too large to allocate', ['compare', '--size', '100000', '--quiet'], /--size must be at most 4096 .*got 100000/],
    ['latency size not a multiple of 16', ['latency', '--size', '40', '--quiet'], /--size must be a multiple of 16 .*got 40; nearest: 32 or 48/],
    ['latency size too large', ['latency', '--size', '8192', '--quiet'], /--size must be at most 4096 .*got 8192/],
    ['params size too large', ['params', '--size', '8192'], /--size must be at most 4096 .*got 8192/],
    ['params base width below 4', ['params', '--base-filters', '4,2'], /--base-filters must be an integer >= 4, got '2'/],
    ['foreground prior 1', ['compare', '--foreground-prior', '1'], /--foreground-prior must be 'auto' \(the training masks' foreground fraction\) or a probability in \(0, 1\), got '1'/],
    ['foreground prior a word', ['train', '--model', 'unet', '--out', 'o', '--foreground-prior', 'often'], /--foreground-prior must be 'auto' .*got 'often'/],
    ['no training images', ['compare', '--train-images', '0'], /--train-images must be an integer >= 1, got '0'/],
    ['train images not a number', ['train', '--model', 'unet', '--out', 'o', '--train-images', 'half'], /--train-images must be an integer >= 1, got 'half'/],
    ['unknown model', ['compare', '--models', 'unet,segnet', '--quiet'], /unknown model "segnet" in --models; expected any of: unet, unet-plus-plus/],
    ['unknown backend', ['compare', '--backend', 'metal'], /argument 'metal' is invalid. Allowed choices are auto, wasm, cpu, webgpu, tensorflow/],
    ['unknown preset', ['compare', '--preset', 'huge'], /argument 'huge' is invalid. Allowed choices are paper, quick/],
    ['negative label', ['evaluate', '--model', 'm', '--data', 'd', '--label', '-1'], /--label must be an integer >= 0, got '-1'/],
    ['evaluate without --model', ['evaluate', '--data', 'd'], /required option '--model <dir>' not specified/],
    ['train without --out', ['train', '--model', 'unet'], /required option '--out <dir>' not specified/],
    ['recalibrate without --images', ['recalibrate', '--model', 'm', '--out', 'o'], /required option '--images <dir>' not specified/],
    ['recalibrate with batch size 0', ['recalibrate', '--model', 'm', '--images', 'i', '--out', 'o', '--batch-size', '0'], /--batch-size must be an integer >= 1, got '0'/],
    ['latency with an unknown backend', ['latency', '--backends', 'wasm,metal', '--quiet'], /--backends: unknown backend "metal"/],
    ['unknown command', ['benchmark'], /unknown command 'benchmark'/],
    ['paired with one folder', ['paired', 'only-one'], /missing required argument 'b'/],
    ['latency with --backend and --backends', ['latency', '--backend', 'wasm', '--backends', 'wasm'], /give --backend or --backends, not both/],
    ['latency --backend with an unknown backend', ['latency', '--backend', 'metal', '--quiet'], /option '--backend <name>' argument 'metal' is invalid. Allowed choices are wasm, cpu, webgpu, tensorflow/],
  ])('%s', async (_, args, message) => {
    await expect(parse(...args)).rejects.toThrow(message);
  });

  it('--help of each command lists its options', () => {
    const program = buildProgram({ forTests: true });
    const help = Object.fromEntries(program.commands.map((c) => [c.name(), c.helpInformation()]));
    expect(Object.keys(help).sort()).toEqual(['compare', 'evaluate', 'latency', 'paired', 'params', 'recalibrate', 'segment', 'train']);
    expect(help.paired).toMatch(/paired \[options\] <a> <b>[\s\S]*--models <list>[\s\S]*--out <file>/);
    expect(help.recalibrate).toMatch(/--model <dir>[\s\S]*--images <dir>[\s\S]*--out <dir>[\s\S]*--batch-size <n>/);
    expect(help.compare).toMatch(/--data <dir>[\s\S]*--preset <name>[\s\S]*--recalibrate-bn[\s\S]*--resume[\s\S]*--extend <dir>/);
    expect(help.train).toMatch(/--recalibrate-bn[\s\S]*--no-channel-attention[\s\S]*--foreground-prior <p>/);
    expect(help.compare).toMatch(/--foreground-prior <p>[\s\S]*--train-images <n>[\s\S]*--seed <n>/);
    expect(help.compare.replace(/\s+/g, ' ')).toContain('--base-filters <list> filters of the first level (preset: quick 16, paper 32): n for every model, ' +
      'model=n pairs for single ones (unet=4,sa-unet=16: about equal parameter counts), or both (16,unet=4)');
    expect(help.train).toMatch(/--train-images <n> +train on a seeded subset of n of the training images/);
    expect(help.compare).toMatch(/--no-channel-attention +SA-U-Net without its layers' ECA channel attention/);
    for (const command of [help.compare, help.train]) expect(command).toMatch(/--no-replay-steps +on webgpu, train through trainOnBatch instead of\s+replaying/);
    expect(help.evaluate).toMatch(/--model <dir>[\s\S]*--label <n>/);
    expect(help.segment).toMatch(/--csv <file\.csv>[\s\S]*--overlay <file\.png>[\s\S]*--masks <dir>[\s\S]*--quiet +print nothing/);
    expect(help.latency).toMatch(/--backends <list>/);
    expect(help.train).toMatch(/--model <name>[\s\S]*--out <dir>[\s\S]*--init <dir>[\s\S]*--resume/);
  });

  it('steps are replayed on webgpu unless --no-replay-steps', () => {
    expect(resolveRunOptions({}).replaySteps).toBe(true);
    expect(resolveRunOptions({ replaySteps: false }).replaySteps).toBe(false);
    expect(() => resolveRunOptions({ replaySteps: 'no' as unknown as boolean })).toThrow(/--no-replay-steps/);
  });

  // The binary in a fresh process: no backend set up by a test before it.
  const binary = (...args: string[]) => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const tsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));
    const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
    return promisify(execFile)(tsx, ['--tsconfig', tsconfig, cli, ...args]);
  };

  it('the binary prints its package.json version with --version and -V', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) expect((await binary(flag)).stdout).toBe(`${pkg.version}\n`);
  });

  it('the binary reports a bad flag on stderr with exit code 1', async () => {
    await expect(binary('compare', '--size', '40', '--quiet'))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/sa-unet-bench: --size must be a multiple of 16/) });
  });

  it('the binary prints the parameter table', async () => {
    const { stdout } = await binary('params', '--size', '32');
    expect(stdout).toMatch(/Parameters at 32x32x1[\s\S]*\| sa-unet \| [\d,]+ \|/);
  });
});

describe('progress', () => {
  it.each([[0, '0s'], [44.6, '45s'], [185, '3m05s'], [3720, '1h02m'], [Infinity, '?'], [NaN, '?'], [-1, '?']])('formatEta(%s) = %s', (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });
});
