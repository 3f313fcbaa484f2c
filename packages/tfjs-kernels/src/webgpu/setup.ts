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
  /**
   * Exact GPU timestamps for `tf.profile` and `tf.time`. Dawn rounds each timestamp down to a
   * multiple of 65.536 microseconds unless told otherwise (a browser's defence against timing
   * attacks), so a kernel's time reads 0 or 0.0655 ms or a multiple, however long it ran; in a Node
   * process there is no page to defend against. Default true: Dawn's `timestamp_quantization`
   * toggle is disabled (added to any `disable-dawn-features` flag in `dawnFlags`); false keeps it.
   */
  exactTimestamps?: boolean;
}

/** Dawn's toggle that rounds timestamp queries to 65.536 microseconds. */
const TIMESTAMP_QUANTIZATION = 'timestamp_quantization';
const DISABLE_FEATURES = 'disable-dawn-features=';

/**
 * The flags {@link setupNodeWebGPU} passes to Dawn's `create()`. Dawn keeps the last flag of each
 * name, so the toggle joins the comma-separated list of a `disable-dawn-features` flag already
 * there instead of being a second one.
 */
export function dawnCreateFlags(options: SetupNodeWebGPUOptions = {}): string[] {
  const flags = [...(options.dawnFlags ?? [])];
  if (options.exactTimestamps === false) return flags;
  const at = flags.map((flag) => flag.startsWith(DISABLE_FEATURES)).lastIndexOf(true);
  if (at === -1) return [...flags, DISABLE_FEATURES + TIMESTAMP_QUANTIZATION];
  const disabled = flags[at]!.slice(DISABLE_FEATURES.length).split(',').filter((name) => name !== '');
  if (!disabled.includes(TIMESTAMP_QUANTIZATION)) disabled.push(TIMESTAMP_QUANTIZATION);
  flags[at] = DISABLE_FEATURES + disabled.join(',');
  return flags;
}

let cached: Promise<boolean> | null = null;

/**
 * Makes `navigator.gpu` available in Node (from the npm package `webgpu`, which the app installs
 * beside this one) and resolves to whether a GPU adapter exists. In a browser, or when
 * `navigator.gpu` is already set, it only checks for an adapter. Resolves to false (never throws) when the package or an adapter is missing; rejects, naming the option, for options it does not take.
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
  // A wrong argument is the caller's to fix, not a missing GPU: it rejects instead of resolving to false.
  const problem = optionsProblem(options);
  if (problem !== null) return Promise.reject(new Error(`setupNodeWebGPU: ${problem}`));
  cached ??= setup(options);
  return cached;
}

/** What is wrong with setupNodeWebGPU's options, in words, or null. */
function optionsProblem(options: unknown): string | null {
  if (options === null || typeof options !== 'object') return `options must be an object such as { dawnFlags: [...] }, got ${String(options)}`;
  const { dawnFlags, exactTimestamps } = options as SetupNodeWebGPUOptions;
  if (dawnFlags !== undefined && (!Array.isArray(dawnFlags) || dawnFlags.some((flag) => typeof flag !== 'string' || !/^[^=]+=/.test(flag)))) {
    return `dawnFlags must be an array of 'name=value' strings (e.g. ['enable-dawn-features=allow_unsafe_apis']), got ${JSON.stringify(dawnFlags)}`;
  }
  if (exactTimestamps !== undefined && typeof exactTimestamps !== 'boolean') return `exactTimestamps must be a boolean, got ${JSON.stringify(exactTimestamps)}`;
  return null;
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
    const gpu = withAdapterStorageBufferLimit(dawn.create(dawnCreateFlags(options)));
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
