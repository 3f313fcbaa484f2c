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

      try {
        await mkdir(folder, { recursive: true });
      } catch (err) {
        throw new Error(`fileSystem: cannot create the folder ${folder}: ${(err as Error).message}`);
      }
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
          let groupBytes = 0;
          for (const file of group.paths) {
            const weightsPath = join(folder, file);
            let bytes: Buffer;
            try {
              bytes = await readFile(weightsPath);
            } catch (err) {
              throw new Error(`fileSystem: cannot read weights file ${weightsPath} named in ${modelJsonPath}: ${(err as Error).message}`);
            }
            groupBytes += bytes.byteLength;
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
          // A truncated or mismatched file would otherwise fail deep in tfjs ("the tensor should
          // have 36 values but has 30"), naming neither the file nor the cause.
          const expected = weightGroupBytes(group.weights);
          if (expected !== null && expected !== groupBytes) {
            const files = group.paths.map((file) => join(folder, file)).join(', ');
            throw new Error(`fileSystem: weights file ${files} holds ${groupBytes} bytes, but the weights manifest of ${modelJsonPath} ` +
              `describes ${expected}: the file is truncated or belongs to another model`);
          }
        }
        return [specs, io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Bytes per stored value of a weights-manifest dtype (quantized weights store their quantization dtype). */
const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** The bytes a weight group's entries occupy, or null where that is not fixed by the manifest (strings, unknown dtypes). */
function weightGroupBytes(entries: readonly io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const entry of entries) {
    const perValue = BYTES_PER_VALUE[entry.quantization?.dtype ?? entry.dtype];
    if (perValue === undefined) return null;
    total += entry.shape.reduce((a, b) => a * b, 1) * perValue;
  }
  return total;
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
