/**
 * `@sa-unet/scale-attn-conv/node`: save and load tfjs models as model.json + weights.bin on
 * disk, in Node, without tfjs-node (whose `file://` handler needs a native binary).
 *
 * Kept out of the main entry point so that browser bundles never see `node:fs`.
 *
 * @packageDocumentation
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { io } from '@tensorflow/tfjs-core';

/** File name of the topology and weights manifest written by {@link fileSystem}. */
export const MODEL_JSON = 'model.json';
/** File name of the weights written by {@link fileSystem}. */
export const WEIGHTS_BIN = 'weights.bin';

/**
 * An IOHandler that saves a model to, and loads it from, a folder on disk (`model.json` and
 * `weights.bin`, the layout of `tf.io.browserHTTPRequest` and tfjs-node's `file://`).
 *
 * `path` is the folder; to load, it may also be the path of a `model.json` file (whose weight
 * files are then read from the same folder). Saving creates the folder if needed and writes each
 * file under a temporary name first, so a failed save never leaves a half-written model behind.
 *
 * ```ts
 * await model.save(fileSystem('models/sa-unet'));
 * const loaded = await tf.loadLayersModel(fileSystem('models/sa-unet'));
 * ```
 */
export function fileSystem(path: string): io.IOHandler {
  if (typeof path !== 'string' || path.length === 0) {
    throw new Error(`fileSystem: 'path' must be a non-empty folder path, got ${JSON.stringify(path)}`);
  }
  const modelJsonPath = path.endsWith('.json') ? path : join(path, MODEL_JSON);
  const folder = dirname(modelJsonPath);

  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystem: only a JSON model topology can be saved; save a tf.LayersModel');
      }
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0)
        : io.CompositeArrayBuffer.join(artifacts.weightData);
      const weightsName = modelJsonPath === join(folder, MODEL_JSON) ? WEIGHTS_BIN
        : `${basename(modelJsonPath, '.json')}.weights.bin`;
      const modelJSON: io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig !== undefined) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature !== undefined) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata !== undefined) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer !== undefined) modelJSON.modelInitializer = artifacts.modelInitializer;

      await mkdir(folder, { recursive: true });
      // Weights first, model.json last: a folder whose model.json exists is complete.
      await writeAtomically(join(folder, weightsName), new Uint8Array(weightData));
      await writeAtomically(modelJsonPath, JSON.stringify(modelJSON));
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(modelJsonPath, 'utf8');
      } catch (err) {
        throw new Error(`fileSystem: cannot read ${modelJsonPath}: ${(err as Error).message}`);
      }
      let modelJSON: io.ModelJSON;
      try {
        modelJSON = JSON.parse(text) as io.ModelJSON;
      } catch (err) {
        throw new Error(`fileSystem: ${modelJsonPath} is not valid JSON: ${(err as Error).message}`);
      }
      if (modelJSON === null || typeof modelJSON !== 'object' || modelJSON.modelTopology === undefined) {
        throw new Error(`fileSystem: ${modelJsonPath} has no 'modelTopology': not a tfjs model.json`);
      }
      return io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const file of group.paths) {
            const weightsPath = join(folder, file);
            let bytes: Buffer;
            try {
              bytes = await readFile(weightsPath);
            } catch (err) {
              throw new Error(`fileSystem: cannot read weights file ${weightsPath} named in ${modelJsonPath}: ${(err as Error).message}`);
            }
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`fileSystem: cannot write ${path}: ${(err as Error).message}`);
  }
}
