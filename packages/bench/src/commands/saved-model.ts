/**
 * Saved models (model.json + weights) as evaluate, recalibrate, segment and train use them: read
 * before any backend starts, so that a missing or corrupt model is reported first, then built.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { io } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { modelInputSize } from '@sa-unet/unet-zoo';
import { selectBackend, type ActiveBackend, type BackendChoice } from '../backend.js';
import { errorMessage } from '../errors.js';
import { savedModelsBelow } from './saved-models-below.js';

/** A saved model's files, read by {@link readSavedModel}. */
export interface SavedModelFiles {
  /** The folder they were read from. */
  dir: string;
  /** model.json and its weights. */
  artifacts: io.ModelArtifacts;
}

/** A saved model built by {@link buildSavedModel}. */
export interface SavedModel {
  /** The model, with its weights. */
  model: tfl.LayersModel;
  /** Side n of the [n, n, 1] images it takes. */
  size: number;
}

/**
 * Reads a saved model's files (model.json and its weights) without building it. Needs no backend:
 * the commands read first, so that a missing or corrupt model is reported before a backend starts
 * (probing for WebGPU takes seconds and may print Dawn's warnings). fileSystem's errors name the file.
 */
export async function readSavedModel(dir: string): Promise<SavedModelFiles> {
  try {
    return { dir, artifacts: await fileSystem(dir).load!() };
  } catch (err) {
    // A results folder or its checkpoints/ is what users pass first: name the models inside it
    // (a model.json that is there but unreadable keeps its own error).
    if (existsSync(join(dir, 'model.json'))) throw err;
    const below = await savedModelsBelow(dir);
    if (below.length === 0) throw err;
    const shown = below.slice(0, MODELS_LISTED).join(', ');
    const more = below.length > MODELS_LISTED ? `, ... (${below.length} in all)` : '';
    throw new Error(`model ${dir}: no model.json there, but saved models below it: ${shown}${more}; pass one of those folders`);
  }
}

/** How many saved models the error for a folder above them lists. */
const MODELS_LISTED = 6;

/** Loads a saved model ({@link readSavedModel}, then {@link buildSavedModel}). */
export async function loadSavedModel(dir: string): Promise<SavedModel> {
  return buildSavedModel(await readSavedModel(dir));
}

/** Builds a model from its files on the active backend, checking that it takes square one-channel images. */
export async function buildSavedModel({ dir, artifacts }: SavedModelFiles): Promise<SavedModel> {
  // tfjs-layers' errors for a topology it cannot build name nothing (fileSystem's name the file),
  // so the folder is added to those alone.
  const model = await tfl.loadLayersModel(io.fromMemory(artifacts)).catch((err: unknown) => {
    throw new Error(`model ${dir}: cannot build the model of its model.json: ${errorMessage(err)}`);
  });
  try {
    return { model, size: modelInputSize(model) };
  } catch (err) {
    model.dispose();
    throw new Error(`model ${dir}: ${errorMessage(err)}`);
  }
}

/**
 * Starts the backend `choice`, builds the saved model of `files` on it and runs `use`, freeing the
 * model whatever happens: what evaluate, recalibrate and segment do with a saved model, once its
 * files have been read (so that their errors come before the backend's probe).
 */
export async function withSavedModel<T>(files: SavedModelFiles, choice: BackendChoice, use: (saved: SavedModel, backend: ActiveBackend) => Promise<T>): Promise<T> {
  const backend = await selectBackend(choice);
  const saved = await buildSavedModel(files);
  try {
    return await use(saved, backend);
  } finally {
    saved.model.dispose();
  }
}
