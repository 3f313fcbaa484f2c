/**
 * The command-line program of sa-unet-bench (commander): every command, flag and check.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_CHOICES, BACKEND_NAMES } from './backend.js';
import { runCompare } from './commands/compare.js';
import { FOREGROUND_PRIOR_VALUES, isForegroundPrior, type RawRunOptions } from './commands/options.js';
import { runEvaluate } from './commands/evaluate.js';
import { runLatency } from './commands/latency.js';
import { runPaired } from './commands/paired.js';
import { runParams } from './commands/params.js';
import { runRecalibrate } from './commands/recalibrate.js';
import { runSegment, runSegmentImages } from './commands/segment.js';
import { runTrain } from './commands/train.js';
import { PRESETS, type PresetName } from './train/presets.js';
import { AGGREGATED } from './report/results.js';

function integer(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** A comma-separated list of integers >= min, in the order given, each once. */
function integers(flag: string, min: number) {
  const one = integer(flag, min);
  return (value: string): number[] => [...new Set(value.split(',').map((item) => one(item.trim())))];
}

function number(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

/** --foreground-prior: 'auto' or a probability strictly between 0 and 1. */
function foregroundPrior(value: string): number | 'auto' {
  const parsed = value === 'auto' || value.trim() === '' ? value : Number(value);
  if (!isForegroundPrior(parsed)) throw new InvalidArgumentError(`--foreground-prior must be ${FOREGROUND_PRIOR_VALUES}, got '${value}'`);
  return parsed;
}

const presetNames = Object.keys(PRESETS).join('|');
const DEFAULT_PRESET: PresetName = 'quick';

/** Each preset's value of `key` for --help, the default preset first: 'quick 64, paper 256'. */
function presetValues(key: 'size' | 'epochs' | 'repeats' | 'baseFilters' | 'phantomCount'): string {
  const names = [DEFAULT_PRESET, ...(Object.keys(PRESETS) as PresetName[]).filter((name) => name !== DEFAULT_PRESET)];
  return names.map((name) => `${name} ${PRESETS[name][key]}`).join(', ');
}

/** What --base-filters gives: one width for every model, and widths of single models. */
type BaseFiltersFlag = Pick<RawRunOptions, 'baseFilters' | 'modelBaseFilters'>;

/**
 * --base-filters: a width ('16'), widths by model ('unet=4,sa-unet=16'), or both ('16,unet=4'). The
 * model names are checked against --models when the options are resolved.
 */
function baseFiltersFlag(value: string): BaseFiltersFlag {
  const flag: BaseFiltersFlag = {};
  const modelBaseFilters: Record<string, number> = {};
  for (const item of value.split(',').map((s) => s.trim())) {
    const [name, width] = item.includes('=') ? item.split('=', 2).map((s) => s.trim()) : [undefined, item];
    const n = Number(width);
    if (width === '' || !Number.isInteger(n) || n < 4) {
      throw new InvalidArgumentError(`--base-filters takes an integer >= 4 or model=integer pairs (as 16 or unet=4,sa-unet=16), got '${item}' in '${value}'`);
    }
    if (name === undefined) {
      if (flag.baseFilters !== undefined) throw new InvalidArgumentError(`--base-filters takes one width for every model, got ${flag.baseFilters} and ${n} in '${value}'`);
      flag.baseFilters = n;
    } else {
      if (name in modelBaseFilters) throw new InvalidArgumentError(`--base-filters gives ${name} twice in '${value}'`);
      modelBaseFilters[name] = n;
    }
  }
  if (Object.keys(modelBaseFilters).length > 0) flag.modelBaseFilters = modelBaseFilters;
  return flag;
}

/** The flags with --base-filters' value spread into its two options (`baseFilters`, `modelBaseFilters`). */
function spreadBaseFilters<T extends Record<string, unknown>>(opts: T): Omit<T, 'baseFilters'> & BaseFiltersFlag {
  const { baseFilters, ...rest } = opts;
  return { ...rest, ...(baseFilters as BaseFiltersFlag | undefined) };
}

/** Flag names to option names (--lr is learningRate, --shear is shearDegrees, --recalibrate-bn is recalibrateBatchNorm; --base-filters gives two). */
function toRunOptions(opts: Record<string, unknown>): RawRunOptions {
  const { lr, shear, recalibrateBn, ...rest } = spreadBaseFilters(opts);
  return {
    ...rest,
    learningRate: lr as number | undefined, shearDegrees: shear as number | undefined, recalibrateBatchNorm: recalibrateBn as boolean | undefined,
  } as RawRunOptions;
}

/** --dpi and --mm-per-pixel: the original images' pixel size, for areas in mm² (`purpose` says what they are for). */
function addPixelSizeOptions(cmd: Command, purpose: string): Command {
  return cmd
    .option('--dpi <n>', `pixel size of the original images as dots per inch (HM70A: 150, miniSONO: 96): ${purpose}`, number('--dpi', 1, 100000))
    .option('--mm-per-pixel <x>', `pixel size of the original images in mm (square pixels): ${purpose}`, number('--mm-per-pixel', 1e-6, 100));
}

function addRunOptions(cmd: Command): Command {
  const data = cmd
    .option('--data <dir>', 'folder with images/ and masks/ sharing file names (default: a synthetic median-nerve phantom)')
    .option('--test-data <dir>', 'separate test folder (default: a seeded split of --data)')
    .option('--label <n>', 'mask value that is foreground (default: any non-zero); 1 = nerve in usgra-nerve', integer('--label', 0));
  return addPixelSizeOptions(data, 'also compare the test images\' predicted and mask areas in mm²')
    .addOption(new Option('--preset <name>', `protocol preset (${presetNames})`).choices(Object.keys(PRESETS)).default(DEFAULT_PRESET))
    .option('--size <n>', `input side, a multiple of 16 (preset: ${presetValues('size')})`, integer('--size', 16))
    .option('--epochs <n>', `epochs per repeat (preset: ${presetValues('epochs')})`, integer('--epochs', 1))
    .option('--repeats <n>', `repeats with different seeds (preset: ${presetValues('repeats')})`, integer('--repeats', 1))
    .option('--batch-size <n>', `mini-batch size (paper: ${PRESETS.paper.batchSize})`, integer('--batch-size', 1))
    .option('--lr <x>', `Adam learning rate (paper: ${PRESETS.paper.learningRate.toExponential()})`, number('--lr', 1e-7, 1))
    .option('--shear <degrees>', `random shear range on x and y (paper: ${PRESETS.paper.shearDegrees})`, number('--shear', 0, 45))
    .option('--base-filters <list>', `filters of the first level (preset: ${presetValues('baseFilters')}): n for every model, ` +
      'model=n pairs for single ones (unet=4,sa-unet=16: about equal parameter counts), or both (16,unet=4)', baseFiltersFlag)
    .option('--phantom-count <n>', `phantom images when no --data (preset: ${presetValues('phantomCount')})`, integer('--phantom-count', 2))
    .option('--recalibrate-bn', 'before testing, re-estimate batch norm\'s moving statistics from the training images with the final weights (not in the paper)')
    .option('--no-channel-attention', 'SA-U-Net without its layers\' ECA channel attention (an ablation; not in the paper)')
    .option('--foreground-prior <p>', 'start every output pixel at foreground probability p (the heads\' bias at its logit): a number in (0, 1), ' +
      'or auto for the training masks\' foreground fraction (not in the paper; default: a zero bias, probability 0.5)', foregroundPrior)
    .option('--test-fraction <x>', 'fraction of --data held out for testing', number('--test-fraction', 0.01, 0.9), 0.2)
    .option('--train-images <n>', 'train on a seeded subset of n of the training images, nested for one --seed (learning curves; the test set stays as it is; default: all)',
      integer('--train-images', 1))
    .option('--seed <n>', 'seed of the split, the training subset, the phantom, the weights, the batches and the shears', integer('--seed', 0), 1)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_CHOICES]).default('auto'))
    .option('--no-replay-steps', 'on webgpu, train through trainOnBatch instead of replaying each step\'s recorded GPU commands ' +
      '(the same results; replaying needs less CPU time per step)')
    .option('--quiet', 'no progress bars or logs', false);
}

/**
 * This package's version: package.json lies one folder above src/ and above the bundled dist/
 * alike. Bundled into another program (as the GPU scripts are), that file is elsewhere or another
 * package's: the version is then unknown, and the commands still run.
 */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === '@sa-unet/bench' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // no package.json there: a bundle
  }
  return 'unknown (sa-unet-bench bundled without its package.json)';
}

/** The program; `forTests` makes commander throw instead of exiting and keeps its output quiet. */
export function buildProgram(options: { forTests?: boolean } = {}): Command {
  const program = new Command('sa-unet-bench')
    .description('Reproduce the SA-U-Net paper\'s comparison (Kim et al., Ultrasonography 2022) with TensorFlow.js')
    .version(packageVersion(), '-V, --version', 'print the version of sa-unet-bench')
    .showHelpAfterError();
  if (options.forTests) program.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });

  addRunOptions(program.command('compare').description('train and test every model, R repeats each; write tables and figures'))
    .option('--models <list>', 'comma-separated models (default: all five)')
    .option('--out <dir>', 'results folder (default: bench-results/<timestamp>)')
    .option('--resume', 'continue an interrupted or failed run with the same --out and options (--models and --repeats may differ)', false)
    .option('--extend <dir>', 'keep the runs of a finished results folder (same options; --models, --repeats and base widths may differ; ' +
      'a model\'s runs at another base width are trained anew) and add the missing ones, writing to a new --out; repeat it to combine folders',
    (dir: string, previous: string[] | undefined) => [...(previous ?? []), dir])
    .option('--workers <n>', 'worker threads for the training runs (default: one per core on wasm and cpu)', integer('--workers', 1))
    .action(async (opts) => {
      await runCompare({ ...toRunOptions(opts), extend: opts.extend as string[] | undefined });
    });

  addRunOptions(program.command('train').description('train one model on a dataset and save it (model.json + weights.bin)'))
    .requiredOption('--model <name>', 'model to train: unet, unet-plus-plus, attention-unet, multires-unet or sa-unet')
    .requiredOption('--out <dir>', 'folder for the trained model')
    .option('--init <dir>', 'start from the weights of a saved model of the same --model and --base-filters (fine-tuning; default --size: its input size)')
    .option('--resume', 'continue an interrupted run with the same --out and options from its last saved epoch', false)
    .action(async (opts) => {
      await runTrain({ ...toRunOptions(opts), model: opts.model, out: opts.out, init: opts.init });
    });

  addPixelSizeOptions(program.command('evaluate').description('metrics of a saved model on any images/masks folder')
    .requiredOption('--model <dir>', 'folder of a saved model (model.json + weights.bin)')
    .requiredOption('--data <dir>', 'folder with images/ and masks/ sharing file names')
    .option('--label <n>', 'mask value that is foreground (default: any non-zero)', integer('--label', 0)), 'also compare predicted and mask areas in mm²')
    .option('--out <dir>', 'also write results.json, table.md, images.csv (scores per image) and overlays/ there')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_CHOICES]).default('auto'))
    .option('--quiet', 'no progress bars or logs', false)
    .action(async (opts) => {
      await runEvaluate(opts);
    });

  program.command('latency').description('parameters, inference ms per image (batch 1) and Adam step ms (batch 4) per model and backend')
    .option('--models <list>', 'comma-separated models (default: all five)')
    .option('--size <n>', 'input side, a multiple of 16', integer('--size', 16), 256)
    .option('--base-filters <list>', 'filters of the first level (default 32): n for every model, model=n pairs for single ones, or both (32,unet=8)', baseFiltersFlag)
    .option('--backends <list>', `comma-separated backends among ${BACKEND_NAMES.join(', ')} (default: every available one but cpu)`)
    .addOption(new Option('--backend <name>', 'one backend (the same as --backends with one name)').choices([...BACKEND_NAMES]))
    .option('--runs <n>', 'timed calls per measurement', integer('--runs', 1), 20)
    .option('--steps <n>', 'timed Adam steps per model', integer('--steps', 1), 5)
    .option('--fold-batch-norm', 'also time inference with the batch norms folded into the convolutions before them, as deployed (unet-zoo\'s foldBatchNorm)', false)
    .option('--replay', 'also time inference and Adam steps replayed (tfjs-kernels\' replayPredict and replayTrainStep: on webgpu the recorded commands without tfjs\'s work per layer), inference folded too with --fold-batch-norm', false)
    .option('--out <file>', 'also write the measurements as JSON')
    .option('--quiet', 'no logs', false)
    .action(async (opts) => {
      if (opts.backend !== undefined && opts.backends !== undefined) throw new Error('give --backend or --backends, not both');
      await runLatency({ ...spreadBaseFilters(opts), backends: opts.backends ?? opts.backend });
    });

  program.command('recalibrate').description('re-estimate a saved model\'s batch-norm statistics from a folder of images (no masks) and save it anew')
    .requiredOption('--model <dir>', 'folder of a saved model (model.json + weights.bin)')
    .requiredOption('--images <dir>', 'folder of PNG/JPEG images, or a dataset folder (its images/): the training images, or those of another scanner')
    .requiredOption('--out <dir>', 'folder for the recalibrated model')
    .option('--batch-size <n>', 'images per batch (the training batch: paper 4)', integer('--batch-size', 1), 4)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_CHOICES]).default('auto'))
    .option('--quiet', 'no progress bars or logs', false)
    .action(async (opts) => {
      await runRecalibrate(opts);
    });

  addPixelSizeOptions(program.command('segment').description('an image or a folder of images through a saved model: nerve mask and cross-sectional area')
    .requiredOption('--model <dir>', 'folder of a saved model (model.json + weights.bin)')
    .option('--image <file>', 'PNG or JPEG image')
    .option('--images <dir>', 'folder of PNG/JPEG images (or a dataset folder: its images/), each segmented')
    .option('--csv <file.csv>', 'also write one row per image: file, size, mask pixels, area in mm²'), 'for the area in mm²')
    .option('--overlay <file.png>', 'also write the model\'s input with the predicted contour (PNG, at least 256x256)')
    .option('--masks <dir>', 'also write each predicted mask into this new folder: <image name>.png, the image\'s size, 0/255 (beside the images, a dataset\'s masks/)')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_CHOICES]).default('auto'))
    .option('--quiet', 'print nothing (--csv, --masks and --overlay are still written)', false)
    .action(async (opts) => {
      if (opts.images !== undefined) await runSegmentImages(opts);
      else await runSegment(opts);
    });

  program.command('paired').description('two finished comparisons against each other (an ablation, or another version): each model\'s runs paired by seed, DSC and HD with the signed-rank test')
    .argument('<a>', 'results folder A of compare (differences are A − B)')
    .argument('<b>', 'results folder B of compare, scored on the same test images')
    .option('--models <list>', 'comma-separated models (default: every model both hold)')
    .option('--metrics <list>', `comma-separated metrics among ${AGGREGATED.join(', ')} (default: dice,hausdorff)`)
    .option('--out <file>', 'also write the comparison as JSON')
    .action(async (a: string, b: string, opts) => {
      await runPaired({ a, b, models: opts.models, metrics: opts.metrics, out: opts.out });
    });

  program.command('params').description('parameter counts and multiply-adds per image of the five models')
    .option('--size <n>', 'input side, a multiple of 16', integer('--size', 16), 256)
    .option('--base-filters <list>', 'also count every model at these base widths (comma-separated, as 4,8,16,32)', integers('--base-filters', 4))
    .action(async (opts) => {
      await runParams(opts);
    });
  return program;
}

