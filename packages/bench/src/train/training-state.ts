/**
 * A training run's state between two epochs, kept on disk so that an interrupted run continues
 * from its last saved epoch (`compare --resume`) instead of from its first: the model's weights
 * (batch-norm statistics included), the optimizer's (Adam's step count and moments) and the
 * record of the epochs done. The trainer replays the batch order and shears of those epochs from
 * the seed, so the continued run gives the uninterrupted run's weights bit for bit.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { errorMessage } from '../errors.js';
import { exists, readJson, writeJson } from '../output.js';
import { copyWeights } from './initial-weights.js';

/** The record of the epochs a run has done. */
export interface EpochsDone {
  /** Mean training loss of each epoch done. */
  epochLosses: number[];
  /** Wall-clock seconds of each epoch done. */
  epochSeconds: number[];
  /** Highest resident memory seen so far, MiB. */
  peakRssMB: number;
}

const PROGRESS = 'progress.json';
const OPTIMIZER_SPECS = 'optimizer.json';
const OPTIMIZER_WEIGHTS = 'optimizer.bin';
const MODEL = 'model';

type OptimizerWeights = Awaited<ReturnType<tf.Optimizer['getWeights']>>;

function optimizerOf(model: tfl.LayersModel): tf.Optimizer {
  if (model.optimizer == null) throw new Error(`training state of ${model.name}: the model must be compiled first`);
  return model.optimizer;
}

/**
 * Saves the state into `dir`, whole or not at all: written beside it, then swapped in (the previous
 * state stays as `dir`.old until the new one is in place).
 */
export async function saveTrainingState(dir: string, model: tfl.LayersModel, done: EpochsDone): Promise<void> {
  const temporary = `${dir}.${process.pid}.tmp`;
  await rm(temporary, { recursive: true, force: true });
  try {
    await model.save(fileSystem(join(temporary, MODEL)));
    const weights = await optimizerOf(model).getWeights();
    try {
      const { data, specs } = await tf.io.encodeWeights(weights);
      await writeFile(join(temporary, OPTIMIZER_WEIGHTS), new Uint8Array(data));
      await writeJson(join(temporary, OPTIMIZER_SPECS), specs);
    } finally {
      // getWeights() returns the moments' own variables and a new tensor of the step count.
      tf.dispose(weights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
    }
    await writeJson(join(temporary, PROGRESS), done);
  } catch (err) {
    await rm(temporary, { recursive: true, force: true });
    throw new Error(`cannot save the training state of ${model.name} in ${dir}: ${errorMessage(err)}`);
  }
  const previous = `${dir}.old`;
  await rm(previous, { recursive: true, force: true });
  if (await exists(dir)) await rename(dir, previous);
  await rename(temporary, dir);
  await rm(previous, { recursive: true, force: true });
}

/**
 * Restores the state saved in `dir` (or in `dir`.old, where an interruption fell between the two
 * renames of a save) into a compiled `model` of the same architecture, and returns the record of
 * the epochs done; null where no state was saved.
 */
export async function loadTrainingState(dir: string, model: tfl.LayersModel): Promise<EpochsDone | null> {
  const optimizer = optimizerOf(model);
  const found = await stateFolder(dir);
  if (found === null) return null;
  try {
    const saved = await tfl.loadLayersModel(fileSystem(join(found, MODEL)));
    try {
      copyWeights(saved, model, `the training state in ${found}`);
    } finally {
      saved.dispose();
    }
    const specs = await readJson<tf.io.WeightsManifestEntry[]>(join(found, OPTIMIZER_SPECS));
    const bytes = await readFile(join(found, OPTIMIZER_WEIGHTS));
    const named = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), specs);
    // Adam's weights are positional (step count, first moments, second moments): keep the saved order.
    const weights: OptimizerWeights = specs.map((spec) => ({ name: spec.name, tensor: named[spec.name]! }));
    try {
      await optimizer.setWeights(weights);
    } finally {
      tf.dispose(Object.values(named));
    }
    return await readJson<EpochsDone>(join(found, PROGRESS));
  } catch (err) {
    throw new Error(`cannot continue from the training state in ${found}: ${errorMessage(err)}; remove that folder to start the run over`);
  }
}

/** The folder holding the state saved for `dir`: itself, or `dir`.old where a save was cut short between its two renames. */
async function stateFolder(dir: string): Promise<string | null> {
  for (const candidate of [dir, `${dir}.old`]) {
    if (await exists(join(candidate, PROGRESS))) return candidate;
  }
  return null;
}

/** How many epochs the state saved in `dir` has done (0: no state, or one that cannot be read). */
export async function savedEpochs(dir: string): Promise<number> {
  const found = await stateFolder(dir);
  const done = found === null ? null : await readJson<Partial<EpochsDone>>(join(found, PROGRESS)).catch(() => null);
  return Array.isArray(done?.epochLosses) ? done.epochLosses.length : 0;
}

/** Removes a run's saved state (once the run is finished). */
export async function removeTrainingState(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}.old`, { recursive: true, force: true });
}
