import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';

/** Uses a GPU through WebGPU in Node when there is one (the npm package webgpu, Dawn); returns the backend in use. */
export async function useGpuIfPresent(): Promise<string> {
  if (await setupNodeWebGPU()) {
    await import('@tensorflow/tfjs-backend-webgpu'); // after setupNodeWebGPU: it registers itself only if navigator.gpu exists
    registerTrainingKernels(); // fast filter gradients for 'webgpu' (and the CPU backends)
    if (await tf.setBackend('webgpu')) return 'webgpu';
  }
  await import('@tensorflow/tfjs-backend-wasm');
  registerTrainingKernels();
  await tf.setBackend('wasm');
  return 'wasm';
}
