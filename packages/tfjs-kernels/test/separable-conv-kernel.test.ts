/**
 * The webgpu separable-convolution kernels (src/webgpu/separable-conv.ts) against the cpu
 * backend's depthwiseConv2d then conv2d (plus bias), the training form's depthwise output too, on the shapes the scale-attentional layer
 * gives it and around them: output channels not a multiple of four, 5x5 and 3x5 kernels,
 * dilation, borders wider than the image. On Dawn (in CI on Mesa's lavapipe); skipped with a
 * message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL, hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { channelSlices } from '../src/webgpu/separable-conv-programs.js';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { countDispatches, inSerialLayout, intStoredFloat, nodeWebGPU, storageDtype } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the separable-convolution kernel tests');

/** [name, x's shape, depthwise kernel [kh, kw], output channels, dilation, with a bias]. */
const CASES: Array<[string, [number, number, number, number], [number, number], number, number, boolean]> = [
  ['a cascade stage: 8 to 8 channels, 3x3', [2, 9, 7, 8], [3, 3], 8, 1, false],
  ['with a bias', [1, 6, 6, 8], [3, 3], 8, 1, true],
  ['one channel in, 5 out (a partial block of four)', [2, 5, 5, 1], [3, 3], 5, 1, true],
  ['70 channels to 3', [1, 4, 6, 70], [3, 3], 3, 1, false],
  ['5x5', [1, 8, 8, 4], [5, 5], 8, 1, false],
  ['3x5, dilation 2', [2, 7, 9, 3], [3, 5], 6, 2, true],
  ['a kernel wider than the image (7x7 on 2x3)', [1, 2, 3, 4], [7, 7], 4, 1, false],
  ['1,024 pixels of 32 channels', [1, 32, 32, 32], [3, 3], 32, 1, false],
  // A deep stage's shape: few pixels, wide input, so that 8 threads share each pixel's channels (channelSlices).
  ['64 pixels of 128 channels', [1, 8, 8, 128], [3, 3], 128, 1, true],
];

describe.runIf(adapter)('the separable-convolution kernel on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered for webgpu only', () => {
    for (const name of [SEPARABLE_CONV_KERNEL, SEPARABLE_CONV_TRAINING_KERNEL]) {
      expect(hasTrainingKernel(name, 'webgpu'), name).toBe(true);
      expect(tf.getKernel(name, 'cpu'), name).toBeUndefined();
    }
  });

  it('split a stage\'s input channels among threads where its pixels are few and its input wide (not in the \'serial\' layout)', async () => {
    const g = (batch: number, side: number, inChannels: number, outChannels: number) =>
      ({ batch, height: side, width: side, inChannels, outChannels, kernelHeight: 3, kernelWidth: 3, dilation: 1 });
    // [geometry, slices]: SA-U-Net's stages at 256x256, base 32 (forward at batch 1, training at batch 4), and the cases below.
    const expected: Array<[ReturnType<typeof g>, number]> = [
      [g(1, 256, 8, 8), 1], [g(1, 64, 32, 32), 2], [g(1, 32, 64, 64), 4], [g(1, 16, 128, 128), 8], [g(4, 16, 128, 128), 4],
      [g(1, 32, 32, 32), 2], [g(1, 8, 128, 128), 8], [g(1, 4, 70, 3), 4], [g(1, 8, 8, 4), 1],
    ];
    expect(expected.map(([geometry]) => channelSlices(geometry))).toEqual(expected.map(([, slices]) => slices));
    await inSerialLayout(() => expect(expected.map(([geometry]) => channelSlices(geometry))).toEqual(expected.map(() => 1)));
  });

  it.each(CASES.filter(([name]) => /pixels|70 channels/.test(name)))('%s, in the \'serial\' reduction layout: the same within 1e-5', async (_, shape, kernel, outChannels, dilation, withBias) => {
    await inSerialLayout(() => matchesCpu(shape, kernel, outChannels, dilation, withBias));
  });

  it.each(CASES)('%s: equals depthwiseConv2d then conv2d on the cpu backend within 1e-5', async (_, shape, kernel, outChannels, dilation, withBias) => {
    await matchesCpu(shape, kernel, outChannels, dilation, withBias);
  });

  async function matchesCpu(shape: [number, number, number, number], [kh, kw]: [number, number], outChannels: number, dilation: number, withBias: boolean): Promise<void> {
    await tf.setBackend('cpu');
    const channels = shape[3];
    const operands = tf.tidy(() => ({
      x: seededUniform(shape, 3, -1, 1),
      depthwise: seededUniform([kh, kw, channels, 1], 4, -1, 1),
      pointwise: seededUniform([1, 1, channels, outChannels], 5, -1, 1),
      bias: seededUniform([outChannels], 6, -1, 1),
    }));
    const expected = tf.tidy(() => {
      const d = tf.depthwiseConv2d(operands.x as tf.Tensor4D, operands.depthwise as tf.Tensor4D, 1, 'same', 'NHWC', dilation);
      const y = tf.conv2d(d, operands.pointwise as tf.Tensor4D, 1, 'same');
      return [withBias ? tf.add(y, operands.bias) : y, d];
    });
    const values = await Promise.all(Object.values(operands).map((t) => t.data()));
    const [expectedY, expectedD] = await Promise.all(expected.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([...expected, ...Object.values(operands)]);

    await tf.setBackend('webgpu');
    const [x, depthwise, pointwise, bias] = Object.values(operands).map((t, i) => tf.tensor(values[i]!, t.shape));
    await Promise.all([x!, depthwise!, pointwise!, bias!].map((t) => t.data())); // uploaded before counting
    const before = tf.memory().numTensors;
    const inputs = { x: x!, depthwise: depthwise!, pointwise: pointwise!, ...(withBias ? { bias: bias! } : {}) };
    const y = tf.engine().runKernel(SEPARABLE_CONV_KERNEL, inputs, { dilation }) as tf.Tensor;
    const training = countDispatches(() => tf.engine().runKernel(SEPARABLE_CONV_TRAINING_KERNEL, inputs, { dilation }) as tf.Tensor[]);
    expect(training.dispatches).toBe(1);
    const [yTraining, d] = training.result;
    expect(y.shape).toEqual([shape[0], shape[1], shape[2], outChannels]);
    expect(yTraining!.shape).toEqual(y.shape);
    expect(d!.shape).toEqual(shape);
    const yValues = (await y.data()) as Float32Array;
    expect(differenceRelativeToLargest(yValues, expectedY!)).toBeLessThan(1e-5);
    expect(await yTraining!.data(), 'training output: the inference kernel\'s values').toEqual(yValues);
    expect(differenceRelativeToLargest((await d!.data()) as Float32Array, expectedD!), 'depthwise output').toBeLessThan(1e-5);
    tf.dispose([y, ...training.result]);
    expect(tf.memory().numTensors, 'tensors left').toBe(before);
    tf.dispose([x!, depthwise!, pointwise!, bias!]);
    await tf.setBackend('cpu');
  }

  it('take x stored as int32 under float32 (as the stock Cast from bool leaves it) as its float values', async () => {
    await tf.setBackend('webgpu');
    const u = seededUniform([1, 5, 5, 3], 7);
    const mask = tf.greater(u, 0.5);
    const cast = intStoredFloat(mask); // as the stock Cast makes it
    const float = tf.cast(mask, 'float32');
    expect(storageDtype(cast), 'the case under test: int32 storage').not.toBe('float32');
    const depthwise = seededUniform([3, 3, 3, 1], 8, -1, 1);
    const pointwise = seededUniform([1, 1, 3, 4], 9, -1, 1);
    const run = (x: tf.Tensor) => [
      tf.engine().runKernel(SEPARABLE_CONV_KERNEL, { x, depthwise, pointwise }, {}) as tf.Tensor,
      ...(tf.engine().runKernel(SEPARABLE_CONV_TRAINING_KERNEL, { x, depthwise, pointwise }, {}) as tf.Tensor[]),
    ];
    const [fromCast, fromFloat] = [run(cast), run(float)];
    for (const [i, name] of ['inference', 'training', 'depthwise'].entries()) {
      expect(await fromCast[i]!.data(), name).toEqual(await fromFloat[i]!.data());
    }
    tf.dispose([u, mask, cast, float, depthwise, pointwise, ...fromCast, ...fromFloat]);
    await tf.setBackend('cpu');
  });

  it('rejects inputs it cannot convolve, naming the kernel, the input and what it expected', async () => {
    await tf.setBackend('webgpu');
    const run = (inputs: Record<string, tf.Tensor>, attrs = {}) => () => tf.engine().runKernel(SEPARABLE_CONV_KERNEL, inputs, attrs);
    const x = tf.zeros([1, 4, 4, 2]);
    const depthwise = tf.zeros([3, 3, 2, 1]);
    const pointwise = tf.zeros([1, 1, 2, 5]);
    expect(run({ x, depthwise })).toThrow(`${SEPARABLE_CONV_KERNEL}: missing input 'pointwise'`);
    expect(run({ x: tf.zeros([4, 4, 2]), depthwise, pointwise }))
      .toThrow(`${SEPARABLE_CONV_KERNEL}: x must be [batch, height, width, channels] with no empty axis, got shape [4, 4, 2]`);
    expect(run({ x, depthwise: tf.zeros([2, 2, 2, 1]), pointwise }))
      .toThrow(`${SEPARABLE_CONV_KERNEL}: depthwise must be [kh, kw, 2, 1] with kh and kw odd, got shape [2, 2, 2, 1]`);
    expect(run({ x, depthwise: tf.zeros([3, 3, 2, 2]), pointwise }))
      .toThrow(`${SEPARABLE_CONV_KERNEL}: depthwise must be [kh, kw, 2, 1] with kh and kw odd, got shape [3, 3, 2, 2]`);
    expect(run({ x, depthwise, pointwise: tf.zeros([1, 1, 3, 5]) }))
      .toThrow(`${SEPARABLE_CONV_KERNEL}: pointwise must be [1, 1, 2, outChannels], got shape [1, 1, 3, 5]`);
    expect(run({ x, depthwise, pointwise, bias: tf.zeros([4]) })).toThrow(`${SEPARABLE_CONV_KERNEL}: bias must be [5], got shape [4]`);
    expect(run({ x: tf.zeros([1, 4, 4, 2], 'int32'), depthwise, pointwise })).toThrow(`${SEPARABLE_CONV_KERNEL}: x must be float32, got int32`);
    expect(run({ x, depthwise, pointwise }, { dilation: 0 })).toThrow(`${SEPARABLE_CONV_KERNEL}: dilation must be a positive integer, got 0`);
    expect(() => tf.engine().runKernel(SEPARABLE_CONV_TRAINING_KERNEL, { x, depthwise, pointwise: tf.zeros([1, 1, 3, 5]) }, {}))
      .toThrow(`${SEPARABLE_CONV_TRAINING_KERNEL}: pointwise must be [1, 1, 2, outChannels], got shape [1, 1, 3, 5]`);
    await tf.setBackend('cpu');
  });
});
