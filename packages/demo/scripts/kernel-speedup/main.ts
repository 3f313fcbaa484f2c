/**
 * One page load of the measurement: the demo's model, prepared as the demo prepares it (batch norms
 * folded, deep supervision averaged), timed on WebAssembly with or without @sa-unet/tfjs-kernels
 * registered before the backend starts (`?kernels=1`). The result goes to `window.speedup`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@sa-unet/scale-attn-conv';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { averageDeepSupervision, foldBatchNorm } from '@sa-unet/unet-zoo';

async function measure(): Promise<{ kernels: boolean; backend: string; ms: number[] }> {
  const params = new URLSearchParams(location.search);
  const kernels = params.get('kernels') === '1';
  const runs = Number(params.get('runs') ?? '25');
  setWasmPaths(new URL('./wasm/', location.href).href);
  if (kernels) registerTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  await tf.ready();
  const trained = await tfl.loadLayersModel(new URL('./model/model.json', location.href).href);
  const model = averageDeepSupervision(foldBatchNorm(trained).model);
  const [, height, width, channels] = trained.inputs[0].shape as number[];
  const x = tf.randomUniform([1, height, width, channels]);
  const once = async () => {
    const started = performance.now();
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
    return performance.now() - started;
  };
  for (let i = 0; i < 3; i++) await once(); // the first calls compile and allocate
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(await once());
  return { kernels, backend: tf.getBackend(), ms };
}

const page = window as unknown as { speedup?: unknown; speedupError?: string };
measure().then((result) => { page.speedup = result; }, (err: unknown) => { page.speedupError = String(err); });
