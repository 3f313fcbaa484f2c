/**
 * The 3-D kernels (src/volumetric.ts): on wasm the input and filter gradients of conv3d (the input
 * gradient is also conv3dTranspose's forward pass), max pooling and its gradient equal the cpu
 * backend's; on both backends the gradients equal exact ones (derivatives of the linear
 * convolution read off basis vectors, finite differences of max pooling), where the stock kernels
 * are wrong; and a small 3-D conv net trains on wasm as on cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTrainingKernel, registerTrainingKernels, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededRandom, seededUniform, withSeed } from '../../../test-utils/numeric.js';
import { resultOn, stockResultOn } from './backend-results.js';

afterAll(() => registerTrainingKernels());

type Backend = 'cpu' | 'wasm';
type Shape5 = [number, number, number, number, number];
type Triple = [number, number, number];

/** Values of f() on `backend`, checking that nothing is left behind. */
const on = async (backend: Backend, f: () => tf.Tensor): Promise<number[]> => (await resultOn(backend, f)).values;
/** f() on `backend` with the stock kernels. */
const onStock = async (backend: Backend, f: () => tf.Tensor): Promise<number[]> => (await stockResultOn(backend, f)).values;

/** [label, x shape, filter shape, strides, padding]. */
type ConvCase = [string, Shape5, Shape5, Triple, 'valid' | 'same'];
const CONV_CASES: ConvCase[] = [
  ['1x1x1 filter', [1, 3, 4, 5, 2], [1, 1, 1, 2, 3], [1, 1, 1], 'valid'],
  ['3x3x3, same (a 3-D U-Net\'s convolution)', [2, 4, 5, 6, 3], [3, 3, 3, 3, 4], [1, 1, 1], 'same'],
  ['2x3x2, valid', [1, 5, 5, 4, 2], [2, 3, 2, 2, 3], [1, 1, 1], 'valid'],
  ['3x3x3, stride 2, same', [2, 6, 5, 7, 3], [3, 3, 3, 3, 4], [2, 2, 2], 'same'],
  ['2x2x2, strides 1, 2, 3, valid', [1, 5, 6, 7, 2], [2, 2, 2, 2, 3], [1, 2, 3], 'valid'],
];

/** Fixed weights for the output of a conv3d: the loss is sum(conv3d(x, w) * r), linear in x and w. */
function convLoss([, xShape, wShape, strides, pad]: ConvCase) {
  const outShape = tf.backend_util.computeConv3DInfo(xShape, wShape, strides, 1, pad).outShape;
  const r = () => seededUniform(outShape, 3);
  return (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, strides, pad), r()));
}

/** [label, x shape, window, strides, padding]. */
type PoolCase = [string, Shape5, Triple, Triple, 'valid' | 'same'];
const POOL_CASES: PoolCase[] = [
  ['2x2x2, stride 2, valid (a 3-D U-Net\'s pooling)', [2, 4, 6, 4, 3], [2, 2, 2], [2, 2, 2], 'valid'],
  ['2x2x2, stride 2, same, odd sizes', [1, 5, 5, 3, 2], [2, 2, 2], [2, 2, 2], 'same'],
  ['3x3x3, stride 1, same (overlapping windows)', [1, 4, 4, 4, 2], [3, 3, 3], [1, 1, 1], 'same'],
  ['2x2x2, stride 3 (gaps)', [1, 7, 5, 6, 1], [2, 2, 2], [3, 3, 3], 'valid'],
];
/** n values k / 64 (k = 1 - n / 2, ..., n / 2), shuffled with a seeded generator. */
function distinctValues(n: number, seed: number): number[] {
  const values = Array.from({ length: n }, (_, k) => (k + 1 - n / 2) / 64);
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** Windows whose height and width differ (the stock cpu gradient's mistake). */
const NON_CUBIC_POOL_CASES: PoolCase[] = [
  ['1x2x3, strides 1, 2, 3', [1, 3, 4, 6, 2], [1, 2, 3], [1, 2, 3], 'valid'],
  ['2x3x2, stride 1, same', [1, 3, 4, 4, 1], [2, 3, 2], [1, 1, 1], 'same'],
];

/** The weight of output value k in the pooling losses: k + 1. */
const poolWeights = (y: tf.Tensor) => tf.reshape(tf.range(1, y.size + 1), y.shape);

/** sum(maxPool3d(x) * r) for fixed r. */
function poolLoss([, , window, strides, pad]: PoolCase) {
  return (x: tf.Tensor) => {
    const y = tf.maxPool3d(x as tf.Tensor5D, window, strides, pad);
    return tf.sum(tf.mul(y, poolWeights(y)));
  };
}

describe('3-D convolution and max pooling kernels', () => {
  it('are registered on wasm (and the max-pool gradient on cpu) and removed by unregister', () => {
    registerTrainingKernels();
    for (const k of ['Conv3DBackpropInputV2', 'Conv3DBackpropFilterV2', 'MaxPool3D', 'MaxPool3DGrad']) expect(hasTrainingKernel(k, 'wasm'), k).toBe(true);
    expect(hasTrainingKernel('MaxPool3DGrad', 'cpu')).toBe(true);
    expect(hasTrainingKernel('Conv3DBackpropInputV2', 'cpu')).toBe(false); // the cpu kernels are right
    unregisterTrainingKernels();
    expect(hasTrainingKernel('MaxPool3D', 'wasm')).toBe(false);
    expect(hasTrainingKernel('MaxPool3DGrad', 'cpu')).toBe(false);
    registerTrainingKernels();
  });

  describe('the stock kernels are wrong (why ours exist)', () => {
    it('wasm conv3d input gradient, 1x1x1 filter: only the first depth slice gets values', async () => {
      const f = () => tf.grad((x: tf.Tensor) => tf.sum(tf.conv3d(x as tf.Tensor5D, tf.ones([1, 1, 1, 1, 1]) as tf.Tensor5D, 1, 'valid')))(tf.zeros([1, 2, 1, 1, 1]));
      expect(await onStock('wasm', f)).toEqual([1, 0]);
      expect(await onStock('cpu', f)).toEqual([1, 1]);
      expect(await on('wasm', f)).toEqual([1, 1]);
    });

    it('wasm max pooling of a window of negative values gives a tiny positive number, and its gradient to the first voxel', async () => {
      const x = () => tf.tensor([-3, -1, -2, -4, -5, -6, -7, -8], [1, 2, 2, 2, 1]);
      const pool = () => tf.maxPool3d(x() as tf.Tensor5D, 2, 2, 'valid');
      const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')))(x());
      expect(await onStock('wasm', pool)).toEqual([1.1754943508222875e-38]); // FLT_MIN: its maximum starts at the smallest positive float
      expect(await onStock('wasm', grad)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]); // to the window's first voxel
      expect(await on('wasm', pool)).toEqual([-1]);
      expect(await on('wasm', grad)).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    });

    it('cpu max-pool gradient with a 1x2x1 window: the gradient misses the window\'s maximum', async () => {
      const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool3d(t as tf.Tensor5D, [1, 2, 1], [1, 2, 1], 'valid')))(tf.tensor([1, 2, 3, 4], [1, 1, 4, 1, 1]));
      expect(await onStock('cpu', grad)).toEqual([0, 0, 0, 0]);
      expect(await on('cpu', grad)).toEqual([0, 1, 0, 1]);
    });
  });

  describe.each(CONV_CASES)('conv3d, %s', (...c) => {
    const [, xShape, wShape, strides, pad] = c;
    const loss = convLoss(c);
    const x = () => seededUniform(xShape, 1);
    const w = () => seededUniform(wShape, 2);
    const dx = () => tf.grad((t: tf.Tensor) => loss(t, w()))(x());
    const dw = () => tf.grad((t: tf.Tensor) => loss(x(), t))(w());

    it('input and filter gradients on wasm equal the cpu backend\'s', async () => {
      registerTrainingKernels();
      expect(differenceRelativeToLargest(await on('wasm', dx), await onStock('cpu', dx))).toBeLessThan(1e-6);
      expect(differenceRelativeToLargest(await on('wasm', dw), await onStock('cpu', dw))).toBeLessThan(1e-6);
    });

    it('conv3dTranspose on wasm equals the cpu backend\'s', async () => {
      registerTrainingKernels();
      const outShape = tf.backend_util.computeConv3DInfo(xShape, wShape, strides, 1, pad).outShape;
      const transposed = () => tf.conv3dTranspose(seededUniform(outShape, 4) as tf.Tensor5D, w() as tf.Tensor5D, xShape, strides, pad);
      expect(differenceRelativeToLargest(await on('wasm', transposed), await onStock('cpu', transposed))).toBeLessThan(1e-6);
    });

    it.each<Backend>(['cpu', 'wasm'])('on %s conv3dTranspose has a gradient (tfjs has none), the adjoint of its own', async (backend) => {
      registerTrainingKernels();
      // conv3dTranspose is the adjoint of conv3d: <conv3dTranspose(a, w), b> = <a, conv3d(b, w)> for all a, b, w,
      // so the gradient of sum(conv3dTranspose(a, w) * b) with respect to a is conv3d(b, w).
      const outShape = tf.backend_util.computeConv3DInfo(xShape, wShape, strides, 1, pad).outShape;
      const a = () => seededUniform(outShape, 4);
      const b = () => seededUniform(xShape, 5);
      const transposedLoss = (t: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv3dTranspose(t as tf.Tensor5D, f as tf.Tensor5D, xShape, strides, pad), b()));
      const da = await on(backend, () => tf.grad((t: tf.Tensor) => transposedLoss(t, w()))(a()));
      expect(differenceRelativeToLargest(da, await on(backend, () => tf.conv3d(b() as tf.Tensor5D, w() as tf.Tensor5D, strides, pad)))).toBeLessThan(1e-6);
      // and with respect to the filter, the filter gradient of conv3d(b, w) against a.
      const dwT = await on(backend, () => tf.grad((f: tf.Tensor) => transposedLoss(a(), f))(w()));
      const dwConv = await on(backend, () => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv3d(b() as tf.Tensor5D, f as tf.Tensor5D, strides, pad), a())))(w()));
      expect(differenceRelativeToLargest(dwT, dwConv)).toBeLessThan(1e-6);
    });

    it.each<Backend>(['cpu', 'wasm'])('on %s the gradients are the loss\'s exact derivatives (read off basis vectors)', async (backend) => {
      registerTrainingKernels();
      const gx = await on(backend, dx);
      const gw = await on(backend, dw);
      const xSize = gx.length;
      const wSize = gw.length;
      // The loss is linear in each argument, so its derivative at index i is the loss of the i-th basis vector.
      const basis = (shape: number[], i: number) => tf.reshape(tf.cast(tf.oneHot(tf.tensor1d([i], 'int32'), shape.reduce((a, b) => a * b, 1)), 'float32'), shape);
      for (const i of [0, 1, Math.floor(xSize / 2), xSize - 1]) {
        const exact = (await on(backend, () => loss(basis(xShape, i), w())))[0]!;
        expect(gx[i]).toBeCloseTo(exact, 5);
      }
      for (const i of [0, Math.floor(wSize / 3), wSize - 1]) {
        const exact = (await on(backend, () => loss(x(), basis(wShape, i))))[0]!;
        expect(gw[i]).toBeCloseTo(exact, 4);
      }
    });
  });

  describe.each(POOL_CASES)('maxPool3d, %s', (...c) => {
    const [, xShape, window, strides, pad] = c;
    const x = () => seededUniform(xShape, 5); // in [-1, 1): many windows have a negative maximum
    const pool = () => tf.maxPool3d(x() as tf.Tensor5D, window, strides, pad);
    const grad = () => tf.grad(poolLoss(c))(x());

    it('forward and gradient on wasm equal the cpu backend\'s bit for bit', async () => {
      registerTrainingKernels();
      expect(await on('wasm', pool)).toEqual(await onStock('cpu', pool));
      expect(await on('wasm', grad)).toEqual(await onStock('cpu', grad));
    });
  });

  it('ties: the gradient goes to the last maximum of a window, as the cpu kernel sends it', async () => {
    registerTrainingKernels();
    const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')))(tf.tensor([1, 3, 3, 0, 3, 2, 1, 0], [1, 2, 2, 2, 1]));
    expect(await onStock('cpu', grad)).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
    expect(await on('wasm', grad)).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
  });

  describe.each(NON_CUBIC_POOL_CASES)('maxPool3d gradient, window %s', (...c) => {
    it.each<Backend>(['cpu', 'wasm'])('on %s equals central differences', async (backend) => {
      registerTrainingKernels();
      const [, xShape, window, strides, pad] = c;
      // Distinct values at least 1/64 apart, so that no maximum moves when one value moves by eps.
      const x0 = distinctValues(xShape.reduce((a, b) => a * b, 1), 6);
      const grad = await on(backend, () => tf.grad(poolLoss(c))(tf.tensor(x0, xShape)));
      const pooled = async (values: number[]) => on(backend, () => tf.maxPool3d(tf.tensor(values, xShape) as tf.Tensor5D, window, strides, pad));
      const eps = 1 / 256; // the pooled values are inputs, exact; the weighted sum is taken in double
      const numeric: number[] = [];
      for (let i = 0; i < x0.length; i++) {
        const plus = x0.slice(); plus[i]! += eps;
        const minus = x0.slice(); minus[i]! -= eps;
        const [yPlus, yMinus] = [await pooled(plus), await pooled(minus)];
        numeric.push(yPlus.reduce((sum, v, k) => sum + (k + 1) * (v - yMinus[k]!), 0) / (2 * eps));
      }
      expect(grad).toEqual(numeric);
    });
  });

  it('a small 3-D conv net (conv3d, maxPooling3d, a strided conv3d, conv3dTranspose) trains on wasm as on cpu, its loss falling', async () => {
    registerTrainingKernels();
    const histories: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const model = withSeed(7, () => tfl.sequential({
        layers: [
          tfl.layers.conv3d({ inputShape: [4, 8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
          tfl.layers.maxPooling3d({ poolSize: 2 }),
          tfl.layers.conv3d({ filters: 4, kernelSize: 3, strides: [1, 2, 1], padding: 'same', activation: 'relu' }),
          tfl.layers.conv3dTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu' }),
          tfl.layers.conv3d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }),
        ],
      }));
      const optimizer = tf.train.adam(0.03);
      model.compile({ optimizer, loss: 'binaryCrossentropy' });
      const xs = seededUniform([2, 4, 8, 8, 1], 8, 0, 1);
      const ys = tf.tidy(() => tf.cast(tf.greater(tf.avgPool3d(xs as tf.Tensor5D, [1, 2, 1], [1, 2, 1], 'valid'), 0.5), 'float32'));
      const history = await model.fit(xs, ys, { epochs: 20, batchSize: 2, verbose: 0, shuffle: false });
      histories.push(history.history['loss'] as number[]);
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    const [cpu, wasm] = histories as [number[], number[]];
    expect(wasm[wasm.length - 1]).toBeLessThan(wasm[0]! * 0.85); // 0.694 to 0.538 in 20 epochs
    expect(differenceRelativeToLargest(wasm, cpu)).toBeLessThan(1e-4);
  });
});

/** [label, x shape, filter shape, strides, padding, dilations]. */
type ForwardCase = [string, Shape5, Shape5, Triple, 'valid' | 'same', Triple];
const FORWARD_CASES: ForwardCase[] = [
  ['3x3x3, same (a 3-D U-Net\'s convolution)', [1, 12, 14, 13, 8], [3, 3, 3, 8, 8], [1, 1, 1], 'same', [1, 1, 1]],
  ['3x2x3, valid, batch 2', [2, 12, 14, 13, 6], [3, 2, 3, 6, 8], [1, 1, 1], 'valid', [1, 1, 1]],
  ['3x3x3, strides [1, 2, 3] in height and width', [1, 16, 24, 24, 8], [3, 3, 3, 8, 8], [1, 2, 3], 'same', [1, 1, 1]],
  ['3x3x3, dilations [2, 1, 2]', [1, 12, 14, 13, 8], [3, 3, 3, 8, 8], [1, 1, 1], 'same', [2, 1, 2]],
  ['2x2x2, stride 2 in depth (the stock kernel runs)', [1, 16, 16, 16, 8], [2, 2, 2, 8, 8], [2, 2, 2], 'valid', [1, 1, 1]],
  ['3x3x3 on a small volume (the stock kernel runs)', [1, 6, 7, 5, 4], [3, 3, 3, 4, 4], [1, 1, 1], 'same', [1, 1, 1]],
];

/** Whether a case takes the decomposition: 2M multiply-adds or more (src/wasm/conv3d-slices.ts), stride 1 in depth. */
function decomposed([, xShape, wShape, strides, pad, dilations]: ForwardCase): boolean {
  const info = tf.backend_util.computeConv3DInfo(xShape, wShape, strides, dilations, pad);
  return strides[0] === 1 && tf.util.sizeFromShape(info.outShape) * wShape[0] * wShape[1] * wShape[2] * wShape[3] >= 2_000_000;
}

describe('Conv3D and its gradients on wasm, as 2-D convolutions of depth slices', () => {
  it('the cases cover the decomposition and the stock kernel', () => {
    expect(FORWARD_CASES.map(decomposed)).toEqual([true, true, true, true, false, false]);
  });

  it.each(FORWARD_CASES)('equals the cpu backend\'s within float32 rounding: %s', async (_label, xShape, wShape, strides, pad, dilations) => {
    registerTrainingKernels();
    expect(hasTrainingKernel('Conv3D', 'wasm')).toBe(true);
    const f = () => tf.conv3d(seededUniform(xShape, 1) as tf.Tensor5D, seededUniform(wShape, 2) as tf.Tensor5D, strides, pad, 'NDHWC', dilations);
    const [cpu, wasm] = [await resultOn('cpu', f), await resultOn('wasm', f)];
    expect(wasm.shape).toEqual(cpu.shape);
    expect(differenceRelativeToLargest(wasm.values, cpu.values)).toBeLessThan(2e-6);
  });

  // tfjs-core's conv3d gradient takes no dilations, so the dilated case has none.
  it.each(FORWARD_CASES.filter(([, , , , , dilations]) => dilations.every((d) => d === 1)))(
    'its input gradient (conv3dTranspose) and filter gradient equal the cpu backend\'s: %s',
    async (_label, xShape, wShape, strides, pad) => {
      registerTrainingKernels();
      const outShape = tf.backend_util.computeConv3DInfo(xShape, wShape, strides, 1, pad).outShape;
      const w = () => seededUniform(wShape, 2) as tf.Tensor5D;
      const dy = () => seededUniform(outShape, 3) as tf.Tensor5D;
      const dx = () => tf.conv3dTranspose(dy(), w(), xShape, strides, pad);
      const dw = () => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv3d(seededUniform(xShape, 1) as tf.Tensor5D, f as tf.Tensor5D, strides, pad), dy())))(w());
      for (const [name, f, tolerance] of [['input', dx, 2e-6], ['filter', dw, 1e-5]] as const) {
        const [cpu, wasm] = [await resultOn('cpu', f), await resultOn('wasm', f)];
        expect(wasm.shape, name).toEqual(cpu.shape);
        // The filter gradient sums over every output position: float32 sums in XNNPACK, double ones on cpu.
        expect(differenceRelativeToLargest(wasm.values, cpu.values), name).toBeLessThan(tolerance);
      }
    },
  );
});
