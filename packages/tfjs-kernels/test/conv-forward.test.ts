/**
 * Our wrappers of the wasm forward convolutions (Conv2D, DepthwiseConv2dNative and their fused
 * forms): 'same' padding given to XNNPACK explicitly gives the cpu backend's values where the
 * stock kernels' same-padding flag does not, and an empty output leaves the wasm heap intact.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { WASM_CONV_FORWARD_KERNELS, hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';

afterAll(() => registerTrainingKernels());

type Op = 'conv2d' | 'depthwise' | 'fusedConv2d' | 'fusedDepthwise';
type Pad = 'same' | 'valid';

/** The op on the active backend, from fixed operands (depthwise filters [h, w, 2, 1]). */
function convolve(op: Op, xShape: number[], filterSize: [number, number], strides: [number, number], pad: Pad): tf.Tensor {
  const depthwise = op === 'depthwise' || op === 'fusedDepthwise';
  const x = seededUniform(xShape, 1) as tf.Tensor4D;
  const filter = seededUniform([...filterSize, xShape[3]!, depthwise ? 1 : 3], 2) as tf.Tensor4D;
  const bias = seededUniform([depthwise ? xShape[3]! : 3], 3) as tf.Tensor1D;
  const y = tf.tidy(() => {
    if (op === 'conv2d') return tf.conv2d(x, filter, strides, pad);
    if (op === 'depthwise') return tf.depthwiseConv2d(x, filter, strides, pad);
    if (op === 'fusedConv2d') return tf.fused.conv2d({ x, filter, strides, pad, bias, activation: 'relu' });
    return tf.fused.depthwiseConv2d({ x, filter, strides, pad, bias, activation: 'relu' });
  });
  tf.dispose([x, filter, bias]);
  return y;
}

/** The largest difference between the op on wasm and on cpu. */
async function wasmVersusCpu(...args: Parameters<typeof convolve>): Promise<number> {
  const values: Float32Array[] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const y = convolve(...args);
    values.push((await y.data()) as Float32Array);
    y.dispose();
  }
  expect(values[1]!.length).toBe(values[0]!.length);
  return values[0]!.reduce((worst, v, i) => Math.max(worst, Math.abs(v - values[1]![i]!)), 0);
}

// 'Same' convolutions that stock tfjs-backend-wasm 4.22 gets wrong (found by a sweep of filters,
// strides and sizes), with the filter and strides that make them so.
const WRONG_ON_STOCK: Array<[string, number[], [number, number], [number, number]]> = [
  ['1x2 filter, stride 3 along the height', [2, 9, 8, 2], [1, 2], [3, 1]],
  ['1x3 filter, stride 3', [1, 9, 8, 2], [1, 3], [3, 3]],
  ['2x1 filter, stride 2 along the width', [2, 9, 8, 2], [2, 1], [1, 2]],
  ['2x2 filter, stride 3', [1, 9, 8, 2], [2, 2], [3, 3]],
  ['3x1 filter, strides 2 and 3', [2, 9, 8, 2], [3, 1], [2, 3]],
];

describe('wasm forward convolutions', () => {
  it('are wrapped by registerTrainingKernels and put back by unregister', () => {
    expect(WASM_CONV_FORWARD_KERNELS).toEqual(['Conv2D', 'DepthwiseConv2dNative', 'FusedConv2D', 'FusedDepthwiseConv2D']);
    registerTrainingKernels();
    for (const k of WASM_CONV_FORWARD_KERNELS) expect(hasTrainingKernel(k, 'wasm'), k).toBe(true);
    unregisterTrainingKernels();
    for (const k of WASM_CONV_FORWARD_KERNELS) {
      expect(hasTrainingKernel(k, 'wasm'), k).toBe(false);
      expect(tf.getKernel(k, 'wasm'), `stock ${k} back`).toBeDefined();
    }
    registerTrainingKernels();
  });

  it('the stock kernels compute these \'same\' convolutions wrongly (why the wrappers exist)', async () => {
    unregisterTrainingKernels();
    try {
      for (const [what, xShape, filterSize, strides] of WRONG_ON_STOCK) {
        expect(await wasmVersusCpu('conv2d', xShape, filterSize, strides, 'same'), what).toBeGreaterThan(0.1);
      }
    } finally {
      registerTrainingKernels();
    }
  });

  describe.each(['conv2d', 'depthwise', 'fusedConv2d', 'fusedDepthwise'] as const)('%s', (op) => {
    it.each(WRONG_ON_STOCK)('with ours, %s matches the cpu backend', async (_, xShape, filterSize, strides) => {
      registerTrainingKernels();
      expect(await wasmVersusCpu(op, xShape, filterSize, strides, 'same')).toBeLessThan(1e-5);
    });

    it('with ours, every filter up to 4x4 and stride up to 3 on a 5x7 input matches the cpu backend, same and valid', async () => {
      registerTrainingKernels();
      const wrong: string[] = [];
      for (const pad of ['same', 'valid'] as const) {
        for (let fh = 1; fh <= 4; fh++) for (let fw = 1; fw <= 4; fw++) for (let sh = 1; sh <= 3; sh++) for (let sw = 1; sw <= 3; sw++) {
          const difference = await wasmVersusCpu(op, [1, 5, 7, 2], [fh, fw], [sh, sw], pad);
          if (!(difference < 1e-5)) wrong.push(`${pad} ${fh}x${fw} stride ${sh},${sw}: ${difference}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  });

  it('an empty output (a valid filter taller than the input) is empty, and the heap stays usable', async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    for (const op of ['conv2d', 'depthwise', 'fusedConv2d', 'fusedDepthwise'] as const) {
      const y = convolve(op, [2, 4, 9, 2], [5, 3], [1, 1], 'valid');
      expect(y.shape.slice(0, 3), op).toEqual([2, 0, 7]);
      expect((await y.data()).length).toBe(0);
      y.dispose(); // the stock kernels' corrupted heap failed here, or at a later free
    }
    const z = tf.tidy(() => tf.conv2d(tf.ones([1, 6, 6, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'same'));
    expect(Array.from(await z.data()).slice(0, 3)).toEqual([8, 12, 12]); // corner 2x2x2, edge 2x3x2
    z.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
