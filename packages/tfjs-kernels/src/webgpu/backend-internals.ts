/**
 * The parts of tfjs-backend-webgpu 4.x that this package's webgpu code uses: its program
 * description (WebGPUProgram) and the backend's methods for running one and for tensor storage.
 * Declared once here, since the package has the backend only as an optional peer.
 */
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** The fields of tfjs-backend-webgpu's WebGPUProgram that our WGSL programs fill in. */
export interface WebGPUProgramSpec {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  getUserCode(): string;
}

/** A tensor's storage in the backend: CPU values until uploaded, then a GPU resource. */
export interface WebGPUTensorData {
  values: ArrayLike<number> | null;
  resource: unknown;
  dtype: DataType;
}

/** WebGPUBackend, as far as this package calls it. */
export interface WebGPUBackendInternals extends KernelBackend {
  runWebGPUProgram(program: WebGPUProgramSpec, inputs: TensorInfo[], outputDtype: 'float32',
    uniforms?: Array<{ type: string; data: number[] }>): TensorInfo;
  tensorMap: { get(dataId: object): WebGPUTensorData | undefined };
  uploadToGPU(dataId: object): void;
  /** A new tensor of `shape`, with `values` on the CPU (uploaded when first used) or else GPU storage to come. */
  makeTensorInfo(shape: number[], dtype: DataType, values?: ArrayLike<number>): TensorInfo;
  /** Whether the stock kernels compute these inputs on the CPU instead (all on the CPU and small). */
  shouldExecuteOnCPU(inputs: TensorInfo[]): boolean;
}
