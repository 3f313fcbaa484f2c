/** The fastest tfjs backend this browser has: WebGPU, then WebGL, then WebAssembly, then plain JS. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

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
