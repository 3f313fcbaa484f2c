/**
 * Backend selection. 'auto' takes, in order: tfjs-node(-gpu) if the user installed it, WebGPU if a
 * hardware adapter exists, else wasm (the CPU default: the pure-JS cpu backend is ~30x slower at
 * convolutions, and a software WebGPU adapter such as lavapipe is slower than wasm too).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describeWebGPUAdapter, registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';

export const BACKEND_CHOICES = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface ActiveBackend {
  /** tfjs backend name. */
  name: string;
  /** What it is, for reports. */
  description: string;
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ specifier);
    return true;
  } catch {
    return false;
  }
}

async function useTensorflow(): Promise<ActiveBackend | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await tryImport(pkg)) {
      await tf.setBackend('tensorflow');
      return { name: 'tensorflow', description: `tensorflow (${pkg}, native libtensorflow)` };
    }
  }
  return null;
}

/** WebGPU through Dawn; with `hardwareOnly`, not on a software adapter (lavapipe is slower than wasm). */
async function useWebGPU(hardwareOnly: boolean): Promise<ActiveBackend | null> {
  if (!(await setupNodeWebGPU())) return null;
  const adapter = await describeWebGPUAdapter();
  if (adapter === null || (hardwareOnly && adapter.software)) return null;
  if (!(await tryImport('@tensorflow/tfjs-backend-webgpu'))) return null;
  registerTrainingKernels();
  if (!(await tf.setBackend('webgpu'))) return null;
  return {
    name: 'webgpu',
    description: `webgpu (Dawn: ${adapter.description}${adapter.software ? ', a software adapter' : ''}) with @sa-unet/tfjs-kernels training kernels`,
  };
}

async function useWasm(): Promise<ActiveBackend> {
  registerTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', description: `wasm (XNNPACK${simd ? ', SIMD' : ''}, one thread) with @sa-unet/tfjs-kernels training kernels` };
}

/**
 * Activates the chosen backend (and the training kernels it needs); a clear Error if it is
 * unavailable. `softwareWebGPU: false` refuses a software WebGPU adapter for 'webgpu' too.
 */
export async function selectBackend(choice: BackendChoice, options: { softwareWebGPU?: boolean } = {}): Promise<ActiveBackend> {
  switch (choice) {
    case 'wasm':
      return useWasm();
    case 'cpu':
      registerTrainingKernels();
      await tf.setBackend('cpu');
      return { name: 'cpu', description: 'cpu (pure JavaScript) with @sa-unet/tfjs-kernels training kernels' };
    case 'tensorflow': {
      const active = await useTensorflow();
      if (active === null) {
        throw new Error('--backend tensorflow needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed (npm i @tensorflow/tfjs-node)');
      }
      return active;
    }
    case 'webgpu': {
      const active = await useWebGPU(options.softwareWebGPU === false);
      if (active === null) {
        throw new Error(options.softwareWebGPU === false
          ? 'webgpu: no hardware WebGPU adapter (a software one such as lavapipe is slower than wasm)'
          : '--backend webgpu: no WebGPU adapter found (install the npm package webgpu and a Vulkan driver, or use --backend wasm)');
      }
      return active;
    }
    case 'auto':
      return (await useTensorflow()) ?? (await useWebGPU(true).catch(() => null)) ?? useWasm();
    default:
      throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  }
}
