/**
 * WebGPU in Node: Dawn's binding (the npm package `webgpu`, an optional peer dependency) exposed as
 * `navigator.gpu` before `@tensorflow/tfjs-backend-webgpu` is imported, since that package
 * registers its backend at import time only if `navigator.gpu` exists.
 */

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Options of {@link setupNodeWebGPU}. */
export interface SetupNodeWebGPUOptions {
  /** Dawn toggles / flags passed to `create()` (e.g. `['enable-dawn-features=allow_unsafe_apis']`). Default none. */
  dawnFlags?: string[];
}

let cached: Promise<boolean> | null = null;

/**
 * Makes `navigator.gpu` available in Node (from the npm package `webgpu`, which the app installs
 * beside this one) and resolves to whether a GPU adapter exists. In a browser, or when
 * `navigator.gpu` is already set, it only checks for an adapter. Resolves to false (never throws) when the package or an adapter is missing.
 * Call it before importing `@tensorflow/tfjs-backend-webgpu`:
 *
 * ```ts
 * if (await setupNodeWebGPU()) {
 *   await import('@tensorflow/tfjs-backend-webgpu');
 *   registerTrainingKernels();
 *   await tf.setBackend('webgpu');
 * }
 * ```
 */
export function setupNodeWebGPU(options: SetupNodeWebGPUOptions = {}): Promise<boolean> {
  cached ??= setup(options);
  return cached;
}

async function setup(options: SetupNodeWebGPUOptions): Promise<boolean> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu === undefined) {
    let dawn: DawnModule;
    try {
      const specifier = 'webgpu';
      dawn = (await import(/* @vite-ignore */ specifier)) as DawnModule;
    } catch {
      return false;
    }
    Object.assign(globalThis, dawn.globals);
    const gpu = withAdapterStorageBufferLimit(dawn.create(options.dawnFlags ?? []));
    if (g.navigator === undefined) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    }
  }
  return (await webgpuAdapter()) !== null;
}

/**
 * Devices requested from this GPU's adapters get the adapter's own limit of storage buffers per
 * shader stage (16 on lavapipe) instead of WebGPU's default 8, which tfjs-backend-webgpu keeps:
 * fusedAdam's in-place update then binds four variables per dispatch instead of two. Only here, where
 * this package creates `navigator.gpu`; browsers keep their defaults.
 */
function withAdapterStorageBufferLimit(gpu: GPU): GPU {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await requestAdapter(options);
    if (adapter === null) return null;
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = (descriptor?: GPUDeviceDescriptor) => requestDevice({
      ...descriptor,
      requiredLimits: {
        ...descriptor?.requiredLimits,
        maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
      },
    });
    return adapter;
  };
  return gpu;
}

/** What {@link describeWebGPUAdapter} reports. */
export interface WebGPUAdapterDescription {
  /** Vendor, architecture and device as the adapter reports them. */
  description: string;
  /**
   * A software (CPU) implementation, such as Mesa's lavapipe: exact, but slower than the wasm
   * backend; fine for tests, not for training.
   */
  software: boolean;
}

async function webgpuAdapter(): Promise<GPUAdapter | null> {
  try {
    return (await (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu?.requestAdapter()) ?? null;
  } catch {
    return null;
  }
}

/** The WebGPU adapter this process would use (after {@link setupNodeWebGPU}), or null if none. */
export async function describeWebGPUAdapter(): Promise<WebGPUAdapterDescription | null> {
  const adapter = await webgpuAdapter();
  if (adapter === null) return null;
  type Info = { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  const withInfo = adapter as unknown as { info?: Info; requestAdapterInfo?: () => Promise<Info> };
  const info: Info = withInfo.info ?? (await withInfo.requestAdapterInfo?.()) ?? {};
  const description = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ');
  const software = info.isFallbackAdapter === true || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(description);
  return { description, software };
}
