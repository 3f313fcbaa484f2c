/**
 * `recalibrate`: a saved model's batch-norm statistics re-estimated from a folder of images, no
 * masks needed (unet-zoo's recalibrateBatchNorm), saved as a new model. On the training images it
 * removes the lag of the moving statistics behind the final weights; on images of another scanner
 * it adapts the statistics to them (AdaBN, Li et al. 2016), the weights unchanged.
 */
import { join } from 'node:path';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { recalibrateBatchNorm, type Recalibration } from '@sa-unet/unet-zoo';
import { listImages } from '../data/dataset.js';
import { readGrayImage } from '../data/decode.js';
import { resizeBilinear } from '../data/resize.js';
import { stackImages } from '../train/batches.js';
import { checkOutFree, writeJson, writeResultFolder } from '../output.js';
import { log, progressBar } from '../progress.js';
import { readSavedModel, withSavedModel } from './saved-model.js';
import { checkBackend, checkInteger } from './options.js';

/** Options of {@link runRecalibrate} (`sa-unet-bench recalibrate`). */
export interface RecalibrateCommandOptions {
  /** Folder of the saved model. */
  model: string;
  /** Folder of PNG/JPEG images (or a dataset folder: its images/). */
  images: string;
  /** Folder for the recalibrated model. */
  out: string;
  /** Images per batch (default 4: the paper's training batch). */
  batchSize?: number;
  /** tfjs backend, one of {@link BACKEND_CHOICES} (default 'auto'). */
  backend?: string;
  /** No progress bar or logs. */
  quiet?: boolean;
}

/** What {@link runRecalibrate} did. */
export interface RecalibrateResult extends Recalibration {
  /** The folder of the recalibrated model. */
  out: string;
  /** Images read. */
  count: number;
  /** Side the images were resized to (the model's input). */
  size: number;
}

/** Saves a copy of a model whose batch-norm statistics are re-estimated from a folder of images. */
export async function runRecalibrate(opts: RecalibrateCommandOptions): Promise<RecalibrateResult> {
  const show = !opts.quiet;
  const batchSize = checkInteger(opts.batchSize ?? 4, '--batch-size', 1);
  const choice = checkBackend(opts.backend);
  if (typeof opts.out !== 'string' || opts.out === '') throw new Error('--out: give the folder to save the recalibrated model in');
  await checkOutFree(opts.out);
  const files = await listImages(opts.images);
  const saved = await readSavedModel(opts.model);
  return withSavedModel(saved, choice, async ({ model, size }, backend) => {
    const bar = progressBar(`reading |{bar}| {value}/{total} images`, show);
    bar.start(files.length);
    const resized: Array<{ image: Float32Array }> = [];
    try {
      for (const file of files) {
        const image = await readGrayImage(file);
        resized.push({ image: await resizeBilinear(image.data, image.width, image.height, size) });
        bar.update(resized.length);
      }
    } finally {
      bar.stop();
    }
    const images = stackImages(resized, size);
    let recalibration: Recalibration;
    try {
      recalibration = recalibrateBatchNorm(model, images, { batchSize });
    } finally {
      images.dispose();
    }
    if (recalibration.layers === 0) throw new Error(`model ${opts.model} has no batch-normalization layer: there is nothing to recalibrate`);
    await writeResultFolder(opts.out, async (work) => {
      await model.save(fileSystem(work));
      await writeJson(join(work, 'recalibration.json'), {
        model: opts.model, images: opts.images, count: files.length, size, batchSize, backend: backend.description, ...recalibration,
      });
    });
    log(show, `recalibrated the ${recalibration.layers} batch-norm layers of ${opts.model} over ${recalibration.batches} batch(es) of ` +
      `${Math.min(batchSize, files.length)} of the ${files.length} images of ${opts.images} at ${size}x${size}; saved to ${opts.out}/`);
    return { out: opts.out, count: files.length, size, ...recalibration };
  });
}
