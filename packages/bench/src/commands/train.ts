/** `train`: one model on one dataset, saved as model.json + weights.bin with its training log. */
import { join } from 'node:path';
import { isModelName, MODEL_NAMES } from '@sa-unet/unet-zoo';
import { backendLogLine, selectBackend } from '../backend.js';
import { prepareWorkFolder, publish, writeJson } from '../output.js';
import { log } from '../progress.js';
import { loadRunData } from './data.js';
import { resolveRunOptions, type RawRunOptions } from './options.js';
import { disposeModel, runRepeatWithBars, writeOverlays } from './run-model.js';

export async function runTrain(raw: RawRunOptions & { model: string; out: string }): Promise<{ out: string }> {
  if (!isModelName(raw.model)) throw new Error(`unknown model ${JSON.stringify(raw.model)}; expected one of: ${MODEL_NAMES.join(', ')}`);
  if (typeof raw.out !== 'string' || raw.out === '') throw new Error('--out: give the folder to save the trained model in');
  const options = resolveRunOptions({ ...raw, models: [raw.model], repeats: 1 });
  const show = !options.quiet;
  const backend = await selectBackend(options.backend);
  log(show, backendLogLine(backend));
  const data = await loadRunData(options);
  const work = await prepareWorkFolder(raw.out, false);
  const outcome = await runRepeatWithBars(raw.model, options, data.split, 1, work, '.');
  await writeOverlays(work, raw.model, data.split.test, outcome.predictions, options.size);
  await writeJson(join(work, 'training.json'), {
    model: raw.model, backend: backend.description, data: data.source, train: data.split.train.length, test: data.split.test.length,
    options: { ...options, out: undefined }, ...outcome.result,
  });
  disposeModel(outcome.model);
  await publish(work, raw.out);
  const m = outcome.result.metrics;
  log(show, `saved ${raw.model} to ${raw.out}/ (model.json, weights.bin, training.json); held-out DSC ${m.dice.toFixed(3)}, HD ${m.hausdorff.toFixed(2)} px`);
  return { out: raw.out };
}
