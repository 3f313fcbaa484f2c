/** `train`: one model on one dataset, saved as model.json + weights.bin with its training log. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isModelName, MODEL_NAMES, type ModelName } from '@sa-unet/unet-zoo';
import { backendLogLine, selectBackend } from '../backend.js';
import { checkOutFree, writeJson, writeResultFolder } from '../output.js';
import { log } from '../progress.js';
import { loadRunData } from './data.js';
import { buildSavedModel, readSavedModel } from './saved-model.js';
import { resolveRunOptions, type RawRunOptions } from './options.js';
import { checkResumable, RESUME_CONFIG, runConfig } from './resume.js';
import { disposeModel, removeTrainingStates, runRepeatWithBars, trainingStateDir, writeOverlays } from './run-model.js';
import { savedEpochs } from '../train/training-state.js';

/** Options of {@link runTrain} (`sa-unet-bench train`). */
export interface TrainCommandOptions extends RawRunOptions {
  /** The model to train: one of the zoo's names. */
  model: string;
  /** Folder to save the trained model in (must not exist yet). */
  out: string;
  /** Folder of a saved model of the same architecture and base width to start from (fine-tuning); its input size is the default --size. */
  init?: string;
}

/**
 * What a failed `train` keeps of its partial folder: the folder, where the run saved a training
 * state (an error raised after some epochs; an interrupted process keeps it anyway), and a line
 * for the error saying how to continue.
 */
function keepForResume(name: ModelName) {
  return async (work: string): Promise<string | null> => {
    const epochs = await savedEpochs(trainingStateDir(work, name, 1));
    return epochs > 0 ? `the training state after epoch ${epochs} is kept in ${work}: the same command with --resume continues from it` : null;
  };
}

/**
 * Trains one model with the preset's protocol (one repeat), scores it on the held-out images and
 * saves it as model.json + weights.bin with training.json and overlays. A failed run leaves no
 * folder, except the partial one of a run that saved a training state, which `resume` continues
 * from its last saved epoch.
 */
export async function runTrain(raw: TrainCommandOptions): Promise<{
  /** The folder the model was saved in. */
  out: string;
}> {
  if (!isModelName(raw.model)) throw new Error(`unknown model ${JSON.stringify(raw.model)}; expected one of: ${MODEL_NAMES.join(', ')}`);
  const name: ModelName = raw.model;
  if (typeof raw.out !== 'string' || raw.out === '') throw new Error('--out: give the folder to save the trained model in');
  if (raw.init !== undefined && (typeof raw.init !== 'string' || raw.init === '')) {
    throw new Error(`--init: give the folder of a saved model, got ${JSON.stringify(raw.init)}`);
  }
  const checked = resolveRunOptions({ ...raw, models: [name], repeats: 1 });
  await checkOutFree(raw.out, checked.resume ? `To train it further, give --init ${raw.out} and a new --out.` : undefined);
  const show = !checked.quiet;
  const initFiles = raw.init === undefined ? undefined : await readSavedModel(raw.init);
  const backend = await selectBackend(checked.backend);
  log(show, backendLogLine(backend));
  const init = initFiles && { dir: initFiles.dir, ...await buildSavedModel(initFiles) };
  try {
    const options = init !== undefined && raw.size === undefined ? { ...checked, size: init.size } : checked;
    const data = await loadRunData(options);
    const metrics = await writeResultFolder(raw.out, async (work) => {
      await checkResumable(work, { ...runConfig(options, 'train', backend.name), model: name, init: raw.init ?? null }, options.resume, RESUME_CONFIG);
      const saved = options.resume ? await savedEpochs(trainingStateDir(work, name, 1)) : 0;
      if (saved > 0) log(show, `resuming: ${name} continues after epoch ${saved} of ${options.epochs}`);
      const outcome = await runRepeatWithBars(name, options, data.split, 1, work, { checkpoint: '.', init });
      await removeTrainingStates(work);
      await rm(join(work, RESUME_CONFIG), { force: true });
      try {
        await writeOverlays(work, name, data.split.test, outcome.predictions, options.size);
        await writeJson(join(work, 'training.json'), {
          model: name, backend: backend.description, data: data.source, train: data.split.train.length, trainAvailable: data.trainAvailable, test: data.split.test.length,
          init: raw.init ?? null, options: { ...options, out: undefined }, ...outcome.result,
        });
      } finally {
        disposeModel(outcome.model);
      }
      return outcome.result.metrics;
    }, { resume: options.resume, keep: keepForResume(name) });
    const area = metrics.areaBiasMm2 === undefined ? '' : `, area bias (prediction − mask) ${metrics.areaBiasMm2.toFixed(2)} mm²`;
    log(show, `saved ${name} to ${raw.out}/ (model.json, weights.bin, training.json); held-out DSC ${metrics.dice.toFixed(3)}, HD ${metrics.hausdorff.toFixed(2)} px${area}`);
    return { out: raw.out };
  } finally {
    init?.model.dispose();
  }
}
