/**
 * Backend selection. 'auto' takes, in order: tfjs-node(-gpu) if the user installed it, WebGPU if a
 * hardware adapter exists, else wasm (the CPU default: the pure-JS cpu backend is ~30x slower at
 * convolutions, and a software WebGPU adapter such as lavapipe is slower than wasm too).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describeWebGPUAdapter, registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';
import { errorMessage } from './errors.js';

/** The backends by name; `--backend` also takes 'auto' (see {@link BACKEND_CHOICES}). */
export const BACKEND_NAMES = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
/** What `--backend` takes: 'auto' or one of {@link BACKEND_NAMES}. */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
/** One of {@link BACKEND_CHOICES}. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Whether a backend computes on the CPU (wasm, cpu): one core per thread, a 4 GB heap on wasm. */
export function isCpuBackend(name: string): boolean {
  return name === 'wasm' || name === 'cpu';
}

/** The backend a command runs on, as {@link selectBackend} set it up. */
export interface ActiveBackend {
  /** tfjs backend name. */
  name: string;
  /** What it is, for reports. */
  description: string;
  /**
   * With 'auto': the backends it tried before this one, each with why it was passed over (e.g.
   * 'webgpu: a software adapter (llvmpipe ...), slower than wasm'), so that the log explains the
   * choice and any warnings Dawn printed while probing.
   */
  passedOver?: string[];
}

/** The log line of a chosen backend: its description, and what 'auto' passed over on the way. */
export function backendLogLine(backend: ActiveBackend): string {
  const passed = backend.passedOver?.length ? ` (auto passed over ${backend.passedOver.join('; ')})` : '';
  return `backend: ${backend.description}${passed}`;
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ specifier);
    return true;
  } catch {
    return false;
  }
}

/** A backend that could not be used: why, in a few words. */
interface Unavailable {
  reason: string;
}

const NO_ADAPTER = 'no WebGPU adapter (it needs the npm package webgpu and a Vulkan, Metal or D3D12 driver)';

async function useTensorflow(): Promise<ActiveBackend | Unavailable> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await tryImport(pkg)) {
      await tf.setBackend('tensorflow');
      return { name: 'tensorflow', description: `tensorflow (${pkg}, native libtensorflow)` };
    }
  }
  return { reason: 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed' };
}

/** WebGPU through Dawn; with `hardwareOnly`, not on a software adapter (lavapipe is slower than wasm). */
async function useWebGPU(hardwareOnly: boolean): Promise<ActiveBackend | Unavailable> {
  if (!(await setupNodeWebGPU())) return { reason: NO_ADAPTER };
  const adapter = await describeWebGPUAdapter();
  if (adapter === null) return { reason: NO_ADAPTER };
  if (hardwareOnly && adapter.software) return { reason: `a software adapter (${adapter.description}), slower than wasm` };
  // A literal specifier (a dependency of the bench, unlike tfjs-node) so that bundlers include it:
  // the GPU machine runs an esbuild bundle with no node_modules beside it.
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch {
    return { reason: '@tensorflow/tfjs-backend-webgpu is not installed' };
  }
  registerTrainingKernels();
  if (!(await tf.setBackend('webgpu'))) return { reason: `the backend failed to initialise on ${adapter.description}` };
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
      if ('reason' in active) throw new Error(`tensorflow backend unavailable: ${active.reason} (npm i @tensorflow/tfjs-node)`);
      return active;
    }
    case 'webgpu': {
      const active = await useWebGPU(options.softwareWebGPU === false);
      if ('reason' in active) throw new Error(`webgpu backend unavailable: ${active.reason}; on the CPU use wasm`);
      return active;
    }
    case 'auto': {
      const passedOver: string[] = [];
      const attempts: [string, () => Promise<ActiveBackend | Unavailable>][] = [['tensorflow', useTensorflow], ['webgpu', () => useWebGPU(true)]];
      for (const [name, attempt] of attempts) {
        const active = await attempt().catch((err: unknown): Unavailable => ({ reason: errorMessage(err) }));
        if (!('reason' in active)) return { ...active, passedOver };
        passedOver.push(`${name}: ${active.reason}`);
      }
      return { ...(await useWasm()), passedOver };
    }
    default:
      throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  }
}
