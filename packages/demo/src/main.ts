/** The demo page: load the model, take an image, draw the contour, measure the area. */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@sa-unet/scale-attn-conv'; // registers the layer, so the model loads
import { boundaryOf, type PixelSize } from '@sa-unet/seg-metrics';
import { replayPredict } from '@sa-unet/tfjs-kernels';
import { averageDeepSupervision, foldBatchNorm } from '@sa-unet/unet-zoo';
import { chooseBackend } from './backend.js';
import { MACHINE_PRESETS, MAX_SIDE, checkFile, maskFileName, maskRgba, nerveArea, rgbaToGray, segmentGray, warmUp, type NerveSegmentation } from './segment.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const error = $('error');
const canvas = $<HTMLCanvasElement>('view');
const preset = $<HTMLSelectElement>('preset');
const spacing = $<HTMLInputElement>('spacing');
const showProbabilities = $<HTMLInputElement>('show-probabilities');
const downloadMask = $<HTMLAnchorElement>('download-mask');

let model: tfl.LayersModel | null = null;
let predict: ((x: tf.Tensor4D) => tf.Tensor) | undefined;
let current: { bitmap: ImageBitmap; result: NerveSegmentation; width: number; height: number } | null = null;
// An image chosen while the model loads waits for it (the latest one chosen), instead of an error.
let waiting: File | null = null;
// Each image handled gets a number: only the latest one chosen is drawn, whichever finishes last.
let latest = 0;

function fail(message: string): void {
  error.textContent = message;
}

function pixelSize(): PixelSize | null {
  const machine = MACHINE_PRESETS.find((m) => m.id === preset.value);
  if (machine) return machine.size;
  const value = Number(spacing.value);
  if (!(value > 0) || !Number.isFinite(value)) return null;
  return preset.value === 'mm' ? { spacingMm: [value, value] } : { dpi: value };
}

function showArea(): void {
  if (!current) return;
  const size = pixelSize();
  $('csa').textContent = size === null ? '–' : nerveArea(current.result, current, size).toFixed(2);
  if (size === null) fail('Enter a pixel size greater than 0.');
}

function draw(): void {
  if (!current) return;
  const { bitmap, result, width, height } = current;
  const scale = Math.min(1, 640 / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const overlay = ctx.getImageData(0, 0, canvas.width, canvas.height);
  // The mask at display resolution (nearest neighbour), so the contour is one screen pixel wide.
  const W = canvas.width;
  const H = canvas.height;
  const n = result.size;
  const display = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const my = Math.min(n - 1, Math.floor(((y + 0.5) * n) / H));
    for (let x = 0; x < W; x++) {
      const mx = Math.min(n - 1, Math.floor(((x + 0.5) * n) / W));
      display[y * W + x] = result.mask[my * n + mx];
      if (showProbabilities.checked) {
        const p = result.probabilities[my * n + mx];
        const i = 4 * (y * W + x);
        overlay.data[i] = Math.round((1 - 0.6 * p) * overlay.data[i] + 0.6 * p * 255);
        overlay.data[i + 1] = Math.round((1 - 0.6 * p) * overlay.data[i + 1] + 0.6 * p * 200);
        overlay.data[i + 2] = Math.round((1 - 0.6 * p) * overlay.data[i + 2]);
      }
    }
  }
  const contour = boundaryOf({ data: display, width: W, height: H });
  for (let i = 0; i < contour.length; i++) {
    if (!contour[i]) continue;
    overlay.data.set([255, 40, 40, 255], 4 * i);
  }
  ctx.putImageData(overlay, 0, 0);
}

/** The mask of the image as a PNG file (at the image's size) behind the download link. */
async function maskPngUrl(result: NerveSegmentation, width: number, height: number): Promise<string> {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')!.putImageData(new ImageData(await maskRgba(result, width, height), width, height), 0, 0);
  return URL.createObjectURL(await canvas.convertToBlob({ type: 'image/png' }));
}

/** Offers the mask for download, in place of the previous image's (none where it could not be made). */
function offerMask(url: string | Error, imageName: string): void {
  if (downloadMask.href.startsWith('blob:')) URL.revokeObjectURL(downloadMask.href);
  downloadMask.hidden = url instanceof Error;
  if (url instanceof Error) {
    downloadMask.removeAttribute('href');
    return fail(`The mask of ${imageName} could not be prepared for download: ${url.message}`);
  }
  downloadMask.href = url;
  downloadMask.download = maskFileName(imageName);
}

async function handle(file: File): Promise<void> {
  error.textContent = '';
  const problem = checkFile(file);
  if (problem) return fail(problem);
  const ticket = ++latest;
  if (!model) {
    waiting = file;
    status.textContent = `${file.name} will be segmented once the model is ready…`;
    return;
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return fail(`${file.name} could not be decoded: is it a PNG or JPEG image?`);
  }
  if (ticket !== latest) return;
  const { width, height } = bitmap;
  if (width > MAX_SIDE || height > MAX_SIDE) return fail(`${file.name} is ${width}x${height}; the demo takes images up to ${MAX_SIDE} pixels per side`);
  status.textContent = `Segmenting ${file.name}…`;
  const scratch = new OffscreenCanvas(width, height).getContext('2d', { colorSpace: 'srgb', willReadFrequently: true })!;
  scratch.drawImage(bitmap, 0, 0);
  const gray = rgbaToGray(scratch.getImageData(0, 0, width, height).data, width, height);
  let result: NerveSegmentation;
  try {
    result = await segmentGray(model, gray, width, height, predict);
  } catch (err) {
    if (ticket !== latest) return;
    // A backend can fail at run time (a lost WebGL context, GPU memory): say so instead of
    // leaving "Segmenting…" on screen.
    status.textContent = 'Ready.';
    return fail(`Segmenting ${file.name} failed: ${(err as Error).message}`);
  }
  // The download's PNG; a browser that cannot make it (no OffscreenCanvas.convertToBlob) still shows the rest.
  const maskUrl = await maskPngUrl(result, width, height).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  if (ticket !== latest) { // another image was chosen meanwhile: it is drawn instead
    if (typeof maskUrl === 'string') URL.revokeObjectURL(maskUrl);
    return;
  }
  current = { bitmap, result, width, height };
  offerMask(maskUrl, file.name);
  $('pixels').textContent = String(result.maskPixels);
  $('size').textContent = `${result.size}x${result.size}`;
  $('time').textContent = result.inferenceMs.toFixed(1);
  showArea();
  draw();
  status.textContent = `${file.name}: ${width}x${height}` + (result.maskPixels === 0 ? ' (no nerve found)' : '');
  document.body.dataset.state = 'done';
}

async function start(): Promise<void> {
  try {
    const backend = await chooseBackend(new URLSearchParams(location.search).get('backend') ?? undefined);
    $('backend').textContent = backend;
    const trained = await tfl.loadLayersModel(new URL('./model/model.json', location.href).href);
    // The page only infers: batch norms and ReLUs folded into the layers before them, the same
    // predictions from fewer kernels.
    const loaded = foldBatchNorm(trained).model;
    trained.dispose();
    // On WebGPU each image's forward pass is replayed: its recorded GPU commands, without tfjs's
    // work per layer (elsewhere the model's own predict).
    const replay = replayPredict(averageDeepSupervision(loaded));
    predict = (x) => replay.run(x) as tf.Tensor;
    status.textContent = `Preparing the model on ${backend}…` + (waiting ? ` (${waiting.name} is segmented once it is ready)` : '');
    const firstRunMs = await warmUp(loaded, predict);
    model = loaded;
    status.textContent = `Ready: the model runs on ${backend} (first run ${(firstRunMs / 1000).toFixed(1)} s).`;
    document.body.dataset.state = 'ready';
    if (waiting) {
      const file = waiting;
      waiting = null;
      void handle(file);
    }
  } catch (err) {
    status.textContent = 'Not ready.';
    fail((err as Error).message);
  }
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void handle(file);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void handle(file);
});
drop.addEventListener('click', () => $<HTMLInputElement>('file').click());
preset.addEventListener('change', () => {
  const machine = MACHINE_PRESETS.find((m) => m.id === preset.value);
  spacing.disabled = machine !== undefined;
  if (machine && 'dpi' in machine.size) spacing.value = String(machine.size.dpi);
  error.textContent = '';
  showArea();
});
spacing.addEventListener('input', () => {
  error.textContent = '';
  showArea();
});
showProbabilities.addEventListener('change', draw);
spacing.disabled = true;
void start();
