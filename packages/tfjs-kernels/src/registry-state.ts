/** Which kernel configs in tfjs's registry are ours, and the stock ones they replaced. */
import { getKernel, type KernelConfig } from '@tensorflow/tfjs-core';

const ours = new Map<string, KernelConfig>();
const stock = new Map<string, KernelConfig | undefined>();

const key = (kernelName: string, backendName: string) => `${backendName}_${kernelName}`;

export function isOurKernel(kernelName: string, backendName: string): boolean {
  const config = ours.get(key(kernelName, backendName));
  return config !== undefined && getKernel(kernelName, backendName) === config;
}

export function rememberOurs(config: KernelConfig, replaced: KernelConfig | undefined): void {
  const k = key(config.kernelName, config.backendName);
  if (!stock.has(k)) stock.set(k, replaced);
  ours.set(k, config);
}

export function stockKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return stock.get(key(kernelName, backendName));
}

/** The stock kernel that ours replaced and wraps; an Error if there was none. */
export function requireStockKernel(kernelName: string, backendName: string): KernelConfig {
  const config = stockKernel(kernelName, backendName);
  if (config === undefined) throw new Error(`@sa-unet/tfjs-kernels: no stock ${backendName} kernel ${kernelName} to wrap`);
  return config;
}

export function forget(kernelName: string, backendName: string): void {
  ours.delete(key(kernelName, backendName));
  stock.delete(key(kernelName, backendName));
}
