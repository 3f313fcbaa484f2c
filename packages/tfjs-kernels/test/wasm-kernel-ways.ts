/**
 * The three ways the wasm copy and reduction tests run a computation: with the stock kernels, with
 * ours working in the WebAssembly heap module, and with ours in JavaScript (as where the module
 * cannot run); and the set-up the heap module's tests share.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { useHeapModule } from '../src/wasm/heap-module.js';
import { tensorBits } from '../../../test-utils/numeric.js';

/**
 * `read` run with the stock kernels, with ours using the heap module and with ours in JavaScript,
 * in that order, each leaving no tensor behind; our kernels stay registered, the module allowed.
 */
export async function stockModuleJavaScript<R>(read: () => Promise<R>): Promise<[stock: R, module: R, javascript: R]> {
  const results: R[] = [];
  for (const [ours, heapModule] of [[false, true], [true, true], [true, false]] as const) {
    if (ours) registerTrainingKernels();
    else unregisterTrainingKernels();
    useHeapModule(heapModule);
    const before = tf.memory().numTensors;
    try {
      results.push(await read());
    } finally {
      useHeapModule(true);
    }
    expect(tf.memory().numTensors).toBe(before);
  }
  return results as [R, R, R];
}

/**
 * The hooks of a heap-module test file: wasm with our training kernels before its tests, spies
 * restored after each, the heap module allowed again after them all.
 */
export function onWasmWithOurKernels(): void {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerTrainingKernels();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => useHeapModule(true));
}

export type Shape4 = [number, number, number, number];

/** A 2-D convolution's padding as tfjs takes it (NHWC). */
export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/**
 * `run` with the heap module allowed, then without it (allowed again after): each result's float32
 * bits, the results disposed.
 */
export async function bitsWithAndWithoutModule(run: () => tf.Tensor): Promise<[withModule: number[], without: number[]]> {
  const withModule = run();
  useHeapModule(false);
  let without: tf.Tensor;
  try {
    without = run();
  } finally {
    useHeapModule(true);
  }
  const bits: [number[], number[]] = [await tensorBits(withModule), await tensorBits(without)];
  tf.dispose([withModule, without]);
  return bits;
}
