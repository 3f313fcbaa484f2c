/** The fastest tfjs backend this browser has: WebGPU, then WebGL, then WebAssembly, then plain JS. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';

const CANDIDATES: Array<[name: string, load: () => Promise<unknown>]> = [
  ['webgpu', () => import('@tensorflow/tfjs-backend-webgpu')],
  ['webgl', () => import('@tensorflow/tfjs-backend-webgl')],
  ['wasm', async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(new URL('./wasm/', location.href).href);
  }],
  ['cpu', async () => undefined],
];

/** Activates the first backend that initialises; returns its name. */
export async function chooseBackend(preferred?: string): Promise<string> {
  const order = preferred ? CANDIDATES.filter(([name]) => name === preferred) : CANDIDATES;
  for (const [name, load] of order) {
    try {
      await load();
      // Before the backend starts, so that their set-up runs with it. Besides gradients, they hold
      // kernels that make inference faster: on WebGPU the scale-attentional layer's separable stages
      // and its channel attention in one dispatch each, on WebAssembly faster concats and slices
      // (the demo's model in headless Chromium: 2.0x faster on wasm, 1.5x on SwiftShader's WebGPU).
      registerTrainingKernels();
      if (tf.findBackendFactory(name) && (await tf.setBackend(name))) {
        await tf.ready();
        return name;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no TensorFlow.js backend could start in this browser (WebGPU, WebGL, WebAssembly and plain JavaScript all failed)');
}
