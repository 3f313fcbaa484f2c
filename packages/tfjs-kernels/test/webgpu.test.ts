/**
 * The training kernels on the webgpu backend (Dawn; in CI on Mesa's lavapipe, installed by
 * .ci/run) against the stock cpu gradients and finite differences, as on cpu and wasm. Where no
 * WebGPU adapter exists the tests are skipped with a message, unless SA_UNET_REQUIRE_WEBGPU=1
 * (set by CI), which makes a missing adapter a failure.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_CACHED_CONSTANTS,
  describeWebGPUAdapter,
  hasTrainingKernel,
  registerTrainingKernels,
  residentConstantCount,
  unregisterTrainingKernels,
} from '@sa-unet/tfjs-kernels';
import { BILINEAR_CASES, NEAREST_CASES, bilinearGradientAndExact, caseLabel, halfPixelRowGradient, nearestGradientAndExact } from './resize-cases.js';
import { CASES, analyticGrads, label, operands, referenceGrads, relativeError, runsOn } from './parity-cases.js';
import { differenceRelativeToLargest, withSeed } from '../../../test-utils/numeric.js';
import { DEPTH_TO_SPACE_CASES, depthToSpaceGradientOfIndices } from './depth-to-space-cases.js';
import { STRIDED_SLICE_CASES, iota, numpySlice, stridedSliceGradient, stridedSliceOfIota } from './strided-slice-cases.js';
import { GATHER_ND_CASE, gatherNdGradient } from './gather-nd-case.js';
import { CUMSUM_CASES, cumsumGradient } from './cumsum-cases.js';
import { PROD_CASES, prodGradient } from './prod-cases.js';
import { BINCOUNT_CASES } from './bincount-cases.js';
import { IMAGES_SHAPE, TRANSFORM_ROWS, nearestReference, warp } from './transform-cases.js';
import { resultOn, stockResultOn } from './backend-results.js';
import { nodeWebGPU, onGPU, recordShaderKeys } from '../../../test-utils/webgpu.js';
import { webgpuConv2dBackpropFilterWith } from '../src/webgpu/kernels.js';
import { webgpuConvForwardWith } from '../src/webgpu/conv-forward.js';
import { PRODUCT_TILINGS, type ProductTiling } from '../src/webgpu/product-tiling.js';

const adapter = await nodeWebGPU('the training kernels\' webgpu tests');

afterAll(() => registerTrainingKernels());

/** body() with `replace(the registered kernelFunc)` registered as `name` on webgpu; afterwards the kernel before it, and the cpu backend. */
async function withWebGPUKernel(name: string, replace: (registered: tf.KernelFunc) => tf.KernelFunc, body: () => Promise<void>): Promise<void> {
  const registered = tf.getKernel(name, 'webgpu')!;
  try {
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ ...registered, kernelFunc: replace(registered.kernelFunc) });
    await body();
  } finally {
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel(registered);
    await tf.setBackend('cpu');
  }
}

describe.runIf(adapter)('training kernels on webgpu', () => {
  it('the adapter says whether it is software (lavapipe) or a GPU', async () => {
    const adapter = await describeWebGPUAdapter();
    expect(adapter).not.toBeNull();
    expect(adapter!.description.length).toBeGreaterThan(0);
    expect(typeof adapter!.software).toBe('boolean');
    if (/llvmpipe/.test(adapter!.description)) expect(adapter!.software).toBe(true);
  });

  it('in Node, tfjs\'s device may bind as many storage buffers per shader stage as the adapter allows', async () => {
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const adapter = await navigator.gpu.requestAdapter();
    // lavapipe's adapter allows 16, WebGPU's default device 8.
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(adapter!.limits.maxStorageBuffersPerShaderStage);
    await tf.setBackend('cpu');
  });

  it('in Node, tf.profile\'s kernel times are exact, not multiples of Dawn\'s 65.536 microseconds', async () => {
    await tf.setBackend('webgpu');
    const x = tf.randomNormal([1, 32, 32, 8]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 8, 8]) as tf.Tensor4D;
    const info = await tf.profile(async () => {
      const y = tf.relu(tf.add(tf.conv2d(x, w, 1, 'same'), 1));
      await y.data();
      return y;
    });
    const times = info.kernels.map((k) => k.kernelTimeMs as number);
    expect(times.length).toBeGreaterThanOrEqual(3);
    // Rounded, every time is k * 0.065536 ms; exact, none of them is (to 1 ns: chance 1 in 65,536 each).
    const quantum = 65536;
    const offGrid = times.filter((ms) => Math.round(ms * 1e6) % quantum !== 0);
    expect(offGrid.length, `kernel times ${times.join(', ')} ms`).toBeGreaterThan(0);
    tf.dispose([x, w]);
    await tf.setBackend('cpu');
  });

  it('are registered for webgpu', () => {
    expect(registerTrainingKernels()).toContain('webgpu');
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      expect(hasTrainingKernel(k, 'webgpu'), k).toBe(true);
    }
  });

  describe.each(CASES.map((k, i) => [label(k), k, i] as const).filter(([, k]) => runsOn(k, 'webgpu')))('%s', (_, k, index) => {
    it('matches the reference within 1e-4', async () => {
      await tf.setBackend('cpu');
      const { x, f, r } = operands(k, index);
      const reference = await referenceGrads(k, x, f, r);
      const values = await Promise.all([x, f, r].map((t) => t.data()));
      await tf.setBackend('webgpu');
      const [xb, fb, rb] = [x, f, r].map((t, i) => tf.tensor(values[i], t.shape));
      const [gx, gf] = await analyticGrads(k, xb, fb, rb);
      expect(relativeError(gx, reference[0]), 'dx').toBeLessThan(1e-4);
      expect(relativeError(gf, reference[1]), 'dfilter').toBeLessThan(1e-4);
      tf.dispose([xb, fb, rb]);
      await tf.setBackend('cpu');
      tf.dispose([x, f, r]);
    });
  });

  describe('Conv2DBackpropFilter with every tiling of its matrix product', () => {
    // Partial tiles (rows and channels not multiples of 32 or 64), strides, dilations, 'same' and
    // 'valid' padding, NCHW, and an output 1 pixel wide (the loaders' k steps wrap a row at once).
    const SHAPES = [
      { x: [2, 9, 11, 5], filter: [3, 3, 5, 7], strides: [1, 1], pad: 'same', dilations: [1, 1] },
      { x: [1, 12, 10, 24], filter: [3, 2, 24, 70], strides: [2, 3], pad: 'valid', dilations: [1, 1] },
      { x: [3, 10, 9, 3], filter: [3, 3, 3, 40], strides: [1, 1], pad: 'same', dilations: [2, 2] },
      { x: [2, 7, 1, 33], filter: [2, 1, 33, 9], strides: [1, 1], pad: 'valid', dilations: [1, 1] },
      { x: [2, 6, 8, 10], filter: [1, 1, 10, 65], strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NCHW' },
    ];
    it('has a shader for 8 tilings', () => expect(PRODUCT_TILINGS).toHaveLength(8));

    it.each(PRODUCT_TILINGS.map((t) => [JSON.stringify(t), t] as const))('%s equals the cpu backend\'s within 1e-5 of the largest', async (_, tiling) => {
      registerTrainingKernels(); // the stock cpu kernel ignores dilations
      await withWebGPUKernel('Conv2DBackpropFilter', () => webgpuConv2dBackpropFilterWith(tiling) as tf.KernelFunc, async () => {
        for (const [i, { x: xShape, filter, dataFormat = 'NHWC', ...conv }] of SHAPES.entries()) {
          await tf.setBackend('cpu');
          const x = tf.randomUniform(xShape, -1, 1, 'float32', 10 + i);
          const zeros = tf.zeros<tf.Rank.R4>(filter as [number, number, number, number]);
          const y = tf.conv2d(x as tf.Tensor4D, zeros, conv.strides as [number, number], conv.pad as 'same', 'NHWC', conv.dilations as [number, number]);
          const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 20 + i);
          const [xValues, dyValues] = await Promise.all([x.data(), dy.data()]);
          const yShape = y.shape;
          tf.dispose([x, zeros, y, dy]);
          const attrs = { ...conv, filterShape: filter, dataFormat, dimRoundingMode: undefined };
          const toFormat = (t: tf.Tensor) => (dataFormat === 'NCHW' ? tf.transpose(t, [0, 3, 1, 2]) : t);
          const on = (backend: string) => resultOn(backend, () => tf.engine().runKernel('Conv2DBackpropFilter',
            { x: toFormat(tf.tensor(xValues, xShape)), dy: toFormat(tf.tensor(dyValues, yShape)) }, attrs as never) as tf.Tensor);
          const expected = await on('cpu');
          const actual = await on('webgpu');
          expect(actual.shape, `shape ${i}`).toEqual(filter);
          expect(differenceRelativeToLargest(actual.values, expected.values), `shape ${i}`).toBeLessThan(1e-5);
        }
      });
    });

    it('rejects a tiling it has no shader for, naming it', () => {
      expect(() => webgpuConv2dBackpropFilterWith({ tile: 48, rowsPerThread: 4, tileK: 16 } as never))
        .toThrow(/tiling \{"tile":48,"rowsPerThread":4,"tileK":16\}: expected tile 32 or 64/);
    });
  });

  describe('the forward convolution as a tiled product (measured against the stock shader by the bench)', () => {
    type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
    type Shape = { x: number[]; filter: number[]; strides: [number, number]; pad: Pad; dilations: [number, number] };
    // Every tiling runs these, which share one shader (tfjs's shader key also has the inputs'
    // broadcast dimensions against the output, and whether one row of workgroups covers it: each
    // new key compiles for seconds on lavapipe): partial tiles, strides, dilation, 'same' and 'valid'.
    const SHAPES: Shape[] = [
      { x: [2, 9, 11, 5], filter: [3, 3, 5, 7], strides: [1, 1], pad: 'same', dilations: [1, 1] },
      { x: [2, 20, 25, 24], filter: [3, 2, 24, 70], strides: [2, 3], pad: 'valid', dilations: [1, 1] },
      { x: [3, 10, 9, 3], filter: [3, 3, 3, 40], strides: [1, 1], pad: 'same', dilations: [2, 2] },
    ];
    // One tiling runs these too: an output one pixel wide, one input channel, 1x1, explicit padding,
    // fewer output pixels than a tile.
    const MORE_SHAPES: Shape[] = [
      { x: [2, 7, 1, 33], filter: [2, 1, 33, 9], strides: [1, 1], pad: 'valid', dilations: [1, 1] },
      { x: [1, 16, 16, 1], filter: [3, 3, 1, 32], strides: [1, 1], pad: 'same', dilations: [1, 1] },
      { x: [2, 6, 8, 10], filter: [1, 1, 10, 65], strides: [1, 1], pad: 'valid', dilations: [1, 1] },
      { x: [2, 8, 9, 3], filter: [3, 3, 3, 2], strides: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]], dilations: [1, 1] },
      { x: [1, 5, 3, 4], filter: [3, 3, 4, 6], strides: [2, 2], pad: 'same', dilations: [1, 1] },
    ];

    /** FusedConv2D of every shape on webgpu through our program with `tiling` against the cpu backend (largest difference over largest value). */
    async function differences(tiling: ProductTiling, bias: boolean, activation: string, shapes = SHAPES): Promise<number[]> {
      const out: number[] = [];
      await withWebGPUKernel('FusedConv2D', (stock) => webgpuConvForwardWith(tiling, stock) as tf.KernelFunc, async () => {
        for (const [i, { x: xShape, filter: filterShape, ...conv }] of shapes.entries()) {
          await tf.setBackend('cpu');
          const operands = [tf.randomUniform(xShape, -1, 1, 'float32', 30 + i), tf.randomUniform(filterShape, -1, 1, 'float32', 40 + i),
            tf.randomUniform([filterShape[3]!], -1, 1, 'float32', 50 + i)];
          const [xValues, filterValues, biasValues] = await Promise.all(operands.map((t) => t.data()));
          tf.dispose(operands);
          const attrs = { ...conv, dataFormat: 'NHWC', dimRoundingMode: undefined, activation, leakyreluAlpha: 0.2 };
          const on = (backend: string) => resultOn(backend, () => tf.engine().runKernel('FusedConv2D', {
            x: tf.tensor(xValues!, xShape), filter: tf.tensor(filterValues!, filterShape), ...(bias && { bias: tf.tensor(biasValues!, [filterShape[3]!]) }),
          }, attrs as never) as tf.Tensor);
          const expected = await on('cpu');
          const actual = await on('webgpu');
          expect(actual.shape, `shape ${i}`).toEqual(expected.shape);
          out.push(differenceRelativeToLargest(actual.values, expected.values));
        }
      });
      return out;
    }

    // Bias and ReLU with every tiling; the epilogue without them is the same for all, tested once.
    it.each(PRODUCT_TILINGS.map((t) => [JSON.stringify(t), t] as const))('%s, with bias and ReLU, equals the cpu backend\'s within 1e-5 of the largest', async (_, tiling) => {
      for (const d of await differences(tiling, true, 'relu')) expect(d).toBeLessThan(1e-5);
    });

    it.each([
      ['32x32 tiles, 3 splits of 48 (the last partial), bias and ReLU', PRODUCT_TILINGS[0]!, 3, 48, true, 'relu'],
      ['64x64 tiles, 2 splits of 80, no bias, linear', { tile: 64, rowsPerThread: 4, tileK: 16 } as ProductTiling, 2, 80, false, 'linear'],
      ['32x32 tiles 32 deep, 5 splits of 32', { tile: 32, rowsPerThread: 8, tileK: 32 } as ProductTiling, 5, 32, true, 'linear'],
    ] as const)('split along the reduction (partial sums, then their sum): %s, equals the cpu backend\'s', async (_, tiling, splits, chunk, bias, activation) => {
      const shapes: Shape[] = [
        { x: [1, 6, 5, 15], filter: [3, 3, 15, 40], strides: [1, 1], pad: 'same', dilations: [1, 1] }, // r = 135
        { x: [2, 4, 4, 16], filter: [3, 3, 16, 70], strides: [1, 1], pad: 'valid', dilations: [1, 1] }, // r = 144
      ];
      const split = () => ({ splits, chunk });
      const out: number[] = [];
      await withWebGPUKernel('FusedConv2D', (stock) => webgpuConvForwardWith(tiling, stock, () => true, split) as tf.KernelFunc, async () => {
        for (const [i, { x: xShape, filter: filterShape, ...conv }] of shapes.entries()) {
          await tf.setBackend('cpu');
          const operands = [tf.randomUniform(xShape, -1, 1, 'float32', 90 + i), tf.randomUniform(filterShape, -1, 1, 'float32', 91 + i),
            tf.randomUniform([filterShape[3]!], -1, 1, 'float32', 92 + i)];
          const [xValues, filterValues, biasValues] = await Promise.all(operands.map((t) => t.data()));
          tf.dispose(operands);
          const attrs = { ...conv, dataFormat: 'NHWC', dimRoundingMode: undefined, activation, leakyreluAlpha: 0.2 };
          const on = (backend: string) => resultOn(backend, () => tf.engine().runKernel('FusedConv2D', {
            x: tf.tensor(xValues!, xShape), filter: tf.tensor(filterValues!, filterShape), ...(bias && { bias: tf.tensor(biasValues!, [filterShape[3]!]) }),
          }, attrs as never) as tf.Tensor);
          const expected = await on('cpu');
          await tf.setBackend('webgpu'); // (recordShaderKeys watches the active backend)
          const { result: actual, keys } = await recordShaderKeys(() => on('webgpu'));
          expect(keys.filter((k) => k.startsWith('saunet_conv2d')).map((k) => k.replace(/_\d.*$/, '').replace(/_(true|false).*$/, ''))).toEqual(
            ['saunet_conv2dForwardSplit', 'saunet_conv2dSplitSum']);
          expect(actual.shape, `shape ${i}`).toEqual(expected.shape);
          out.push(differenceRelativeToLargest(actual.values, expected.values));
        }
      });
      for (const d of out) expect(d).toBeLessThan(1e-5);
    });

    it('rejects a split that leaves rows of the reduction out or breaks the tile depth, naming it', () => {
      const args = { inputs: { x: { shape: [1, 4, 4, 16], dtype: 'float32' }, filter: { shape: [3, 3, 16, 8], dtype: 'float32' } },
        backend: {}, attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC' } } as never;
      const stock = () => {
        throw new Error('the stock kernel');
      };
      const withSplit = (splits: number, chunk: number) => webgpuConvForwardWith(PRODUCT_TILINGS[0]!, stock, () => true, () => ({ splits, chunk }));
      expect(() => withSplit(2, 64)(args)).toThrow(/split \{"splits":2,"chunk":64\} of a reduction of 144 with 16-deep tiles: expected chunks that are a multiple of 16 and cover it/);
      expect(() => withSplit(3, 50)(args)).toThrow(/split \{"splits":3,"chunk":50\}/);
    });

    it('with one tiling, on more shapes, equals the cpu backend\'s', async () => {
      for (const d of await differences(PRODUCT_TILINGS[0]!, true, 'relu', MORE_SHAPES)) expect(d).toBeLessThan(1e-5);
    });

    it('without bias or activation equals the cpu backend\'s; an activation it does not apply and NCHW go to the stock kernel', async () => {
      for (const d of await differences(PRODUCT_TILINGS[0]!, false, 'linear')) expect(d).toBeLessThan(1e-5);
      const ours = webgpuConvForwardWith(PRODUCT_TILINGS[0]!, () => {
        throw new Error('the stock kernel');
      });
      const args = (dataFormat: string, activation?: string, x = [1, 4, 5, 6]) => ({
        inputs: { x: { shape: x, dtype: 'float32' }, filter: { shape: [3, 3, 6, 8], dtype: 'float32' } },
        backend: {}, attrs: { strides: 1, pad: 'same', dataFormat, activation },
      }) as never;
      expect(() => ours(args('NCHW'))).toThrow('the stock kernel');
      expect(() => ours(args('NHWC', 'sigmoid'))).toThrow('the stock kernel');
      // 65,536 tiles of 32 output pixels: more workgroups than one dispatch dimension allows.
      expect(() => ours(args('NHWC', 'relu', [2, 1024, 1024, 6]))).toThrow('the stock kernel');
      expect(() => ours(args('NHWC'))).toThrow(/runWebGPUProgram/); // ours, on a backend without programs
    });
  });

  it('registered, the convolutions pick their program by shape (tiling-choice.ts) and equal the cpu backend\'s', async () => {
    registerTrainingKernels();
    const attrs = { strides: [1, 1], pad: 'same', dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined, activation: 'relu' };
    // [kernel, x, filter or filter shape, the program ours runs (undefined: the stock kernel)]
    const CALLS = [
      ['FusedConv2D', [1, 128, 128, 2], [3, 3, 2, 64], 'saunet_conv2dForward_64_4_16_true_relu'], // 2^20 outputs, 64 channels
      ['FusedConv2D', [1, 16, 16, 2], [3, 3, 2, 64], undefined], // too few outputs
      // 4 tiles of 32x32, a reduction of 1,152: split in 4 (forwardSplit), then summed with the bias and ReLU.
      ['FusedConv2D', [1, 8, 8, 128], [3, 3, 128, 64], ['saunet_conv2dForwardSplit_32_4_16', 'saunet_conv2dSplitSum_true_relu']],
      ['FusedConv2D', [1, 256, 256, 2], [3, 3, 2, 16], undefined], // too few channels
      ['Conv2DBackpropFilter', [1, 8, 8, 4], [3, 3, 4, 32], 'saunet_conv2dFilterGrad_splitK_64_4_16'], // 36 x 32, split
      ['Conv2DBackpropFilter', [1, 8, 8, 4], [1, 1, 4, 32], 'saunet_conv2dFilterGrad_splitK_32_4_16'], // 4 rows
    ] as const;
    try {
      for (const [i, [kernel, xShape, filterShape, program]] of CALLS.entries()) {
        const x = tf.randomUniform(xShape as unknown as number[], -1, 1, 'float32', 60 + i);
        const second = tf.randomUniform(kernel === 'FusedConv2D' ? filterShape as unknown as number[] : [...xShape.slice(0, 3), filterShape[3]], -1, 1, 'float32', 70 + i);
        const bias = tf.randomUniform([filterShape[3]], -1, 1, 'float32', 80 + i);
        const [xValues, secondValues, biasValues] = await Promise.all([x.data(), second.data(), bias.data()]);
        const secondShape = second.shape;
        tf.dispose([x, second, bias]);
        const call = () => tf.engine().runKernel(kernel, kernel === 'FusedConv2D'
          ? { x: tf.tensor(xValues, xShape as unknown as number[]), filter: tf.tensor(secondValues, secondShape), bias: tf.tensor(biasValues, [filterShape[3]]) }
          : { x: tf.tensor(xValues, xShape as unknown as number[]), dy: tf.tensor(secondValues, secondShape) },
        { ...attrs, filterShape } as never) as tf.Tensor;
        const expected = await resultOn('cpu', call);
        await tf.setBackend('webgpu');
        const { result: actual, keys: programs } = await recordShaderKeys(() => resultOn('webgpu', call));
        expect(programs.filter((key) => key.startsWith('saunet_conv2d')), `${kernel} ${i}`).toEqual(program === undefined ? [] : [program].flat());
        expect(differenceRelativeToLargest(actual.values, expected.values), `${kernel} ${i}`).toBeLessThan(1e-5);
      }
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('Conv2DBackpropInput of a 3x3 filter: the stock kernel for a few pixels, for more the filter flipped in one dispatch and a convolution, equal to the cpu backend', async () => {
    const attrs = { strides: [1, 1], pad: 'same', dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined };
    // 2 x 4x4 = 32 pixels: a few (the composition would take its per-tap form, ~20 dispatches); 2 x 8x8 = 128: more.
    for (const [inputShape, stockExpected] of [[[2, 4, 4, 5], true], [[2, 8, 8, 5], false]] as const) {
      const dyShape = [...inputShape.slice(0, 3), 6];
      const dyValues = Array.from({ length: dyShape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i));
      const filterValues = Array.from({ length: 3 * 3 * 5 * 6 }, (_, i) => Math.cos(i));
      const call = () => tf.engine().runKernel('Conv2DBackpropInput',
        { dy: tf.tensor(dyValues, dyShape), filter: tf.tensor(filterValues, [3, 3, 5, 6]) }, { ...attrs, inputShape } as never) as tf.Tensor;
      const expected = await stockResultOn('cpu', call);
      await tf.setBackend('webgpu');
      const { result: actual, keys } = await recordShaderKeys(() => resultOn('webgpu', call));
      // The composition: the filter flipped in one program, then the stock forward convolution's
      // programs (whichever tfjs picks for the shape), no gather or transpose of the filter.
      const label = `programs for [${inputShape.join(', ')}]: ${keys.join(', ')}`;
      if (stockExpected) expect(keys.map((key) => key.split('_')[0]), label).toEqual(['conv2DDerInput']);
      else {
        expect(keys[0], label).toBe('saunet_flippedFilter');
        expect(keys.slice(1).filter((key) => /^(saunet|gather|transpose|conv2DDerInput)/i.test(key)), label).toEqual([]);
      }
      expect(differenceRelativeToLargest(actual.values, expected.values)).toBeLessThan(1e-5);
      await tf.setBackend('cpu');
    }
  });

  it('the gradients of a convolution with an empty output are zeros', async () => {
    await tf.setBackend('webgpu');
    const x = tf.ones([2, 4, 9, 2]);
    const dy = tf.zeros([2, 0, 7, 3]); // a 5x3 'valid' filter on 4 rows
    const depthwiseDy = tf.zeros([2, 0, 7, 2]);
    const filter = tf.ones([5, 3, 2, 3]);
    const depthwiseFilter = tf.ones([5, 3, 2, 1]);
    const attrs = { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined };
    const before = tf.memory().numTensors;
    const run = (name: string, inputs: Record<string, tf.Tensor>, extra: Record<string, unknown>) =>
      tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as never) as tf.Tensor;
    const results = [
      run('Conv2DBackpropFilter', { x, dy }, { filterShape: [5, 3, 2, 3] }),
      run('Conv2DBackpropInput', { dy, filter }, { inputShape: [2, 4, 9, 2] }),
      run('DepthwiseConv2dNativeBackpropFilter', { x, dy: depthwiseDy }, { filterShape: [5, 3, 2, 1] }),
      run('DepthwiseConv2dNativeBackpropInput', { dy: depthwiseDy, filter: depthwiseFilter }, { inputShape: [2, 4, 9, 2] }),
    ];
    expect(results.map((t) => t.shape)).toEqual([[5, 3, 2, 3], [2, 4, 9, 2], [5, 3, 2, 1], [2, 4, 9, 2]]);
    for (const t of results) expect(Array.from(await t.data()).every((v) => v === 0)).toBe(true);
    tf.dispose(results);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy, depthwiseDy, filter, depthwiseFilter]);
    await tf.setBackend('cpu');
  });

  it('a small conv net trains with model.fit on webgpu', async () => {
    await tf.setBackend('webgpu');
    const model = withSeed(5, () => {
      const input = tfl.input({ shape: [16, 16, 1] });
      let y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
      y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
      y = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(y) as tfl.SymbolicTensor;
      const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(y) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out });
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const x = tf.randomUniform([8, 16, 16, 1], 0, 1, 'float32', 1);
    const target = tf.cast(tf.greater(x, 0.5), 'float32');
    const history = await model.fit(x, target, { epochs: 15, batchSize: 4, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);
    tf.dispose([x, target]);
  });

  it('conv3dTranspose gets the gradient tfjs lacks: on webgpu it equals the cpu backend\'s', async () => {
    registerTrainingKernels();
    const grads = async (backend: 'cpu' | 'webgpu') => {
      await tf.setBackend(backend);
      const [dy, df] = tf.tidy(() => {
        const filter = tf.randomUniform([3, 3, 3, 2, 4], -1, 1, 'float32', 2) as tf.Tensor5D;
        const loss = (t: tf.Tensor, f: tf.Tensor) => tf.sum(tf.square(tf.conv3dTranspose(t as tf.Tensor5D, f as tf.Tensor5D, [1, 6, 5, 7, 2], 2, 'same')));
        return tf.grads(loss)([tf.randomUniform([1, 3, 3, 4, 4], -1, 1, 'float32', 1), filter]);
      });
      const values = [Float32Array.from(await dy!.data()), Float32Array.from(await df!.data())];
      tf.dispose([dy!, df!]);
      return values;
    };
    const [cpu, webgpu] = [await grads('cpu'), await grads('webgpu')];
    for (const i of [0, 1]) expect(relativeError(webgpu[i]!, cpu[i]!)).toBeLessThan(1e-4);
  });

  it.each(STRIDED_SLICE_CASES)('stridedSlice takes NumPy\'s values and has the exact gradient on webgpu: %s', async (_label, shape, index) => {
    registerTrainingKernels();
    const expected = numpySlice(shape, index);
    const forward = await resultOn('webgpu', () => stridedSliceOfIota(shape, index));
    expect(forward.shape).toEqual(expected.shape);
    expect(forward.values).toEqual(expected.sources);
    const gradient = stridedSliceGradient(shape, index);
    expect((await resultOn('webgpu', gradient.got)).values).toEqual(gradient.expected);
  });

  it('stridedSlice of a tensor on the GPU that drops an axis and strides another: the stock shader does not compile (its output unwritten), ours is right', async () => {
    const shape = [2, 33, 34, 3];
    const index = [{}, { step: 2 }, { step: 2 }, 1];
    const onGpu = () => tf.add(iota(shape), 0); // a kernel's output, large enough to stay on the GPU
    const sliceOf = (x: tf.Tensor) => tf.stridedSlice(x, [0, 0, 0, 1], [0, 0, 0, 2], [1, 2, 2, 1], 0b0111, 0b0111, 0, 0, 0b1000);
    const expected = numpySlice(shape, index as never);
    unregisterTrainingKernels();
    try {
      const stock = await resultOn('webgpu', () => sliceOf(onGpu()));
      expect(stock.values).not.toEqual(expected.sources); // unwritten: zeros, or a reused buffer's values
    } finally {
      registerTrainingKernels();
    }
    const ours = await resultOn('webgpu', () => sliceOf(onGpu()));
    expect(ours.shape).toEqual(expected.shape);
    expect(ours.values).toEqual(expected.sources);
  });

  it.each(CUMSUM_CASES)('cumsum\'s gradient is exact on webgpu: %s', async (...testCase) => {
    registerTrainingKernels();
    const { got, expected } = cumsumGradient(testCase);
    expect((await resultOn('webgpu', got)).values).toEqual(expected);
  });

  it('reverse cumsum and cumprod: the stock shader, cached without the axis length, is wrong for a second length; ours is right', async () => {
    /** Reverse running sums or products along the last axis of 1, 2, 3, ... shaped [2, n], in JS. */
    const expected = (n: number, op: 'cumsum' | 'cumprod') => [0, 1].flatMap((row) => Array.from({ length: n }, (_, k) => {
      const tail = Array.from({ length: n - k }, (_, j) => row * n + k + j + 1);
      return op === 'cumsum' ? tail.reduce((a, b) => a + b, 0) : tail.reduce((a, b) => a * b, 1);
    }));
    const run = (n: number, op: 'cumsum' | 'cumprod') => () => tf[op](tf.tensor2d(Array.from({ length: 2 * n }, (_, i) => i + 1), [2, n]), 1, false, true);
    for (const op of ['cumsum', 'cumprod'] as const) {
      const stock = [(await stockResultOn('webgpu', run(3, op))).values, (await stockResultOn('webgpu', run(5, op))).values];
      expect(stock[0]!.join() === expected(3, op).join() && stock[1]!.join() === expected(5, op).join(), op).toBe(false);
      for (const n of [3, 5, 4]) expect((await resultOn('webgpu', run(n, op))).values, `${op}, length ${n}`).toEqual(expected(n, op));
    }
  });

  it('image.transform of a batch with one transform row for all: the stock kernel samples the later images with a zero row; ours warps them all', async () => {
    const oneRow = [TRANSFORM_ROWS[0]!];
    const imageSize = IMAGES_SHAPE.slice(1).reduce((p, d) => p * d, 1);
    const stock = await stockResultOn('webgpu', warp(oneRow, 'nearest'));
    expect(stock.values.slice(imageSize)).not.toEqual(nearestReference(oneRow).slice(imageSize));
    registerTrainingKernels();
    for (const rows of [oneRow, TRANSFORM_ROWS]) expect((await resultOn('webgpu', warp(rows, 'nearest'))).values).toEqual(nearestReference(rows));
  });

  it.each(PROD_CASES)('prod\'s gradient (exclusive running products both ways) is exact on webgpu: %s', async (...testCase) => {
    registerTrainingKernels();
    const { got, expected } = prodGradient(testCase);
    expect((await resultOn('webgpu', got)).values).toEqual(expected);
  });

  it.each(BINCOUNT_CASES)('bincount of any rank (the stock shader does not compile above rank 1) equals the cpu backend\'s: %s', async (_label, op) => {
    registerTrainingKernels();
    expect(await resultOn('webgpu', op)).toEqual(await resultOn('cpu', op));
  });

  it('image.cropAndResize of boxes into images past the number of boxes: the stock shader leaves them unwritten; ours equals the cpu backend\'s', async () => {
    const images = () => tf.reshape(tf.range(1, 4 * 3 * 4 * 2 + 1), [4, 3, 4, 2]) as tf.Tensor4D;
    const crop = (boxes: number[][], boxInd: number[]) => () =>
      tf.image.cropAndResize(images(), tf.tensor2d(boxes), tf.tensor1d(boxInd, 'int32'), [3, 2], 'bilinear', 7);
    const cases = [crop([[0, 0, 1, 1]], [1]), crop([[0.1, -0.2, 0.9, 0.8], [0, 0, 1, 1]], [3, 0]), crop([[0, 0, 1, 1]], [0])];
    // Unwritten: zeros in a fresh buffer, whatever a reused one held otherwise.
    const stock = await stockResultOn('webgpu', cases[0]!);
    expect(differenceRelativeToLargest(stock.values, (await resultOn('cpu', cases[0]!)).values)).toBeGreaterThan(0.01);
    registerTrainingKernels();
    for (const [k, f] of cases.entries()) {
      const [webgpu, cpu] = [await resultOn('webgpu', f), await resultOn('cpu', f)];
      expect(webgpu.shape, `case ${k}`).toEqual(cpu.shape);
      expect(differenceRelativeToLargest(webgpu.values, cpu.values), `case ${k}`).toBeLessThan(1e-6);
    }
  });

  it('gatherND gets the gradient tfjs lacks: dy scattered back, summed where a coordinate repeats, on webgpu', async () => {
    registerTrainingKernels();
    expect((await resultOn('webgpu', gatherNdGradient)).values).toEqual(GATHER_ND_CASE.expected);
  });

  it.each(DEPTH_TO_SPACE_CASES)('depthToSpace gets the gradient tfjs lacks, exact on webgpu: %s', async (_label, shape, blockSize, format) => {
    registerTrainingKernels();
    const { values, shape: gradShape } = await resultOn('webgpu', () => depthToSpaceGradientOfIndices(shape, blockSize, format));
    expect(gradShape).toEqual(shape);
    expect(values).toEqual(values.map((_, i) => i));
  });

  describe('ResizeBilinearGrad', () => {
    it('the stock kernel ignores halfPixelCenters; ours does not', async () => {
      await tf.setBackend('webgpu');
      unregisterTrainingKernels();
      try {
        expect(await halfPixelRowGradient()).toEqual([2, 2, 8, 8]);
      } finally {
        registerTrainingKernels();
      }
      expect(hasTrainingKernel('ResizeBilinearGrad', 'webgpu')).toBe(true);
      expect(await halfPixelRowGradient()).toEqual([3.25, 3.25, 6.75, 6.75]);
      await tf.setBackend('cpu');
    });

    it('of empty tensors is empty or zeros', async () => {
      await tf.setBackend('webgpu');
      const attrs = { alignCorners: false, halfPixelCenters: false };
      const before = tf.memory().numTensors;
      for (const [images, dy] of [[[0, 2, 2, 1], [0, 4, 4, 1]], [[2, 2, 2, 1], [2, 0, 4, 1]]]) {
        const [x, g] = [tf.ones(images!), tf.ones(dy!)];
        const dx = tf.engine().runKernel('ResizeBilinearGrad', { images: x, dy: g }, attrs as never) as tf.Tensor;
        expect(dx.shape).toEqual(images);
        expect(Array.from(await dx.data()).every((v) => v === 0)).toBe(true);
        tf.dispose([x, g, dx]);
      }
      expect(tf.memory().numTensors).toBe(before);
      await tf.setBackend('cpu');
    });

    it.each(BILINEAR_CASES.map((c) => [caseLabel(c), c] as const))('%s: the exact gradient', async (_, c) => {
      await tf.setBackend('webgpu');
      const before = tf.memory().numTensors;
      const { got, exact } = await bilinearGradientAndExact(c);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(exact.length);
      expect(relativeError(got, exact)).toBeLessThan(1e-5);
      await tf.setBackend('cpu');
    });
  });

  describe('ResizeNearestNeighborGrad', () => {
    it.each(NEAREST_CASES.map((c) => [caseLabel(c), c] as const))('%s: the exact gradient', async (_, c) => {
      await tf.setBackend('webgpu');
      const before = tf.memory().numTensors;
      const { got, exact } = await nearestGradientAndExact(c);
      expect(got).toEqual(exact);
      expect(tf.memory().numTensors).toBe(before);
      await tf.setBackend('cpu');
    });

    it('the stock kernel misplaces gradients with halfPixelCenters and with alignCorners on an axis of size 1 (why ours exists)', async () => {
      await tf.setBackend('webgpu');
      // Two of the half-pixel cases and both alignCorners cases with an input axis of size 1.
      const wrongInStock = [2, 4, 5, 8].map((i) => NEAREST_CASES[i]!);
      unregisterTrainingKernels();
      try {
        for (const c of wrongInStock) {
          const { got, exact } = await nearestGradientAndExact(c);
          expect(got, caseLabel(c)).not.toEqual(exact);
        }
      } finally {
        registerTrainingKernels();
        await tf.setBackend('cpu');
      }
    });

    it.each([
      ['the zoo\'s 2x upsampling', [2, 8, 8, 16], [16, 16], 'saunet_nearestBlockGrad_2x2'],
      ['4x rows, 2x columns', [1, 2, 3, 3], [8, 6], 'saunet_nearestBlockGrad_4x2'],
      ['3x (not a power of two): the stock kernel', [2, 2, 3, 1], [6, 9], undefined],
      ['downsampling: the stock kernel', [1, 4, 4, 2], [2, 2], undefined],
    ] as const)('nearest-neighbour resize, %s: a block sum per input pixel, the stock kernel\'s values bit for bit', async (_, shape, size, program) => {
      await tf.setBackend('webgpu');
      const images = tf.zeros([...shape]);
      const dy = tf.randomUniform([shape[0], size[0], size[1], shape[3]], -1, 1, 'float32', 17);
      const gradient = () => tf.engine().runKernel('ResizeNearestNeighborGrad', { images, dy }, { alignCorners: false, halfPixelCenters: false } as never) as tf.Tensor;
      const { result: ours, keys } = await recordShaderKeys(async () => gradient());
      expect(keys.filter((key) => key.startsWith('saunet_')), 'programs').toEqual(program === undefined ? [] : [program]);
      unregisterTrainingKernels();
      let stock: tf.Tensor;
      try {
        stock = gradient();
      } finally {
        registerTrainingKernels();
      }
      expect(ours.shape).toEqual([...shape]);
      expect(await ours.data()).toEqual(await stock.data());
      tf.dispose([images, dy, ours, stock]);
      await tf.setBackend('cpu');
    });
  });

  it('Sum and Mean gradients (a broadcast on webgpu) equal tfjs-core\'s exactly', async () => {
    await tf.setBackend('webgpu');
    const x = tf.randomUniform([2, 3, 4, 5], 0, 1, 'float32', 1);
    const gradients = async () => {
      const out: number[][] = [];
      for (const op of ['sum', 'mean'] as const) {
        for (const [axis, keepDims] of [[[0, 1, 2], false], [1, true], [-1, false]] as const) {
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf[op](t, axis as number | number[], keepDims), 1.5)))(x);
          out.push(Array.from(await g.data()));
          g.dispose();
        }
      }
      return out;
    };
    unregisterTrainingKernels();
    const stock = await gradients();
    registerTrainingKernels();
    const before = tf.memory().numTensors;
    expect(await gradients()).toEqual(stock);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    await tf.setBackend('cpu');
  });

  it('Sum and Mean gradients of an empty tensor are empty, in its shape (tfjs-core\'s broadcastTo of [1] to [0] gave [1])', async () => {
    registerTrainingKernels();
    for (const [shape, axis] of [[[0], 0], [[2, 0, 3], 1], [[0, 4], null]] as const) {
      for (const op of ['sum', 'mean'] as const) {
        const g = await resultOn('webgpu', () => tf.grad((t: tf.Tensor) => tf.sum(tf[op](t, axis ?? undefined)))(tf.zeros([...shape])));
        expect(g.shape, `${op} of [${shape.join(', ')}]`).toEqual(shape);
      }
    }
  });

  describe('small CPU constants served from the GPU', () => {
    /** Counts the GPU buffers the webgpu backend creates while `fn` runs. */
    async function countBufferCreations(fn: () => Promise<void>): Promise<number> {
      const device = (tf.backend() as unknown as { device: { createBuffer: (...a: unknown[]) => unknown } }).device;
      const original = device.createBuffer;
      let created = 0;
      device.createBuffer = (...a: unknown[]) => {
        created++;
        return original.apply(device, a);
      };
      try {
        await fn();
      } finally {
        device.createBuffer = original;
      }
      return created;
    }

    function smallModel(): tfl.LayersModel {
      return withSeed(7, () => {
        const input = tfl.input({ shape: [8, 8, 1] });
        let y = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
        y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
        y = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(y) as tfl.SymbolicTensor;
        const out = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(y) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: out });
      });
    }

    /** Buffers created by 3 Adam steps after 2 warm-up steps, tensors those steps left behind, and the final loss. */
    async function adamSteps(): Promise<{ created: number; tensorsAdded: number; loss: number }> {
      const model = smallModel();
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3);
      const target = tf.cast(tf.greater(x, 0.5), 'float32');
      for (let i = 0; i < 2; i++) await model.trainOnBatch(x, target);
      let loss = 0;
      const before = tf.memory().numTensors;
      const created = await countBufferCreations(async () => {
        for (let i = 0; i < 3; i++) loss = (await model.trainOnBatch(x, target)) as number;
      });
      const tensorsAdded = tf.memory().numTensors - before;
      model.optimizer.dispose();
      model.dispose();
      tf.dispose([x, target]);
      return { created, tensorsAdded, loss };
    }

    // Stock kernels upload each of Adam's scalars anew for every variable. Ours upload only the two
    // bias corrections that tfjs-core computes afresh on the CPU each step (1 - beta1^t, 1 - beta2^t):
    // each a staging buffer plus a pooled GPU buffer, so at most 4 buffers per step, whatever the model.
    it('after warm-up, Adam steps create at most 4 GPU buffers per step (stock: several per variable), with the same loss', async () => {
      await tf.setBackend('webgpu');
      unregisterTrainingKernels();
      const stock = await adamSteps();
      registerTrainingKernels();
      const ours = await adamSteps();
      expect(ours.tensorsAdded).toBe(0);
      expect(ours.created).toBeLessThanOrEqual(4 * 3);
      expect(stock.created).toBeGreaterThan(5 * 4 * 3);
      expect(Math.abs(ours.loss - stock.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(stock.loss)));
      await tf.setBackend('cpu');
    });

    it('keeps 0 and -0 apart, and matches the stock kernels on every wrapped binary op', async () => {
      await tf.setBackend('webgpu');
      registerTrainingKernels();
      const a = tf.tensor1d([1, -2, 0.5, 3]);
      const ops = {
        add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum, pow: tf.pow,
        squaredDifference: tf.squaredDifference,
      } as const;
      const results = async () => {
        const out: Record<string, number[]> = {};
        for (const [name, op] of Object.entries(ops)) {
          for (const s of [0.5, 2, -1]) {
            const t = tf.tidy(() => op(a, tf.scalar(s)));
            out[`${name} ${s}`] = Array.from(await t.data());
            t.dispose();
          }
        }
        for (const z of [0, -0]) {
          const t = tf.tidy(() => tf.div(a, tf.scalar(z)));
          out[`div ${Object.is(z, -0) ? '-0' : '0'}`] = Array.from(await t.data());
          t.dispose();
        }
        return out;
      };
      const ours = await results();
      unregisterTrainingKernels();
      const stock = await results();
      registerTrainingKernels();
      expect(ours).toEqual(stock);
      expect(ours['div 0']![0]).toBe(Infinity);
      expect(ours['div -0']![0]).toBe(-Infinity);
      a.dispose();
      await tf.setBackend('cpu');
    });

    it('leaves ops on CPU-only inputs to the stock kernel, and bounds its cache', async () => {
      await tf.setBackend('webgpu');
      registerTrainingKernels();
      const backend = tf.backend();
      const start = residentConstantCount(backend);
      const cpuOnly = tf.tidy(() => tf.add(tf.scalar(12345.5), tf.scalar(1))); // both on the CPU: no GPU copy needed
      expect(await cpuOnly.data()).toEqual(new Float32Array([12346.5]));
      expect(residentConstantCount(backend)).toBe(start);
      const gpu = tf.tidy(() => tf.relu(tf.randomUniform([4], 0, 1, 'float32', 1)));
      await gpu.data(); // computed on the CPU (small inputs), so put it on the GPU explicitly
      onGPU(gpu);
      const before = tf.memory().numTensors;
      for (let i = 0; i < MAX_CACHED_CONSTANTS + 10; i++) {
        const t = tf.tidy(() => tf.add(gpu, tf.scalar(1000 + i)));
        if (i === MAX_CACHED_CONSTANTS + 9) expect((await t.data())[0]).toBeCloseTo(1000 + i + (await gpu.data())[0]!, 3);
        t.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(residentConstantCount(backend)).toBe(MAX_CACHED_CONSTANTS);
      tf.dispose([cpuOnly, gpu]);
      await tf.setBackend('cpu');
    });
  });
});

