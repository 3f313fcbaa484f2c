/**
 * The webgpu channel-attention kernels (src/webgpu/channel-attention.ts) against the cpu backend:
 * pooled channels and y = z * sigmoid(conv1d(pooled)) against tf ops; the gradients for z (whole
 * and by channel blocks, with an addend), the 1-D kernel and the gate's logits against autodiff of
 * the same ops; dz by a block with a depthwise convolution's input gradient added against that
 * block of autodiff's dz plus autodiff's input gradient of the depthwise convolution. On Dawn (in CI on Mesa's lavapipe); skipped with a
 * message where no WebGPU adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ATTENTION_KERNELS, hasTrainingKernel, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { inSerialLayout, nodeWebGPU, recordShaderKeys } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the channel-attention kernel tests');

/** [name, z's shape, k, how many parts z is given in (equal widths along the channels)]. */
const CASES: Array<[string, number[], number, number]> = [
  ['8 channels, k = 3', [2, 5, 6, 8], 3, 1],
  ['8 channels in 4 parts, k = 3', [2, 5, 6, 8], 3, 4],
  ['one channel, k = 1', [1, 3, 3, 1], 1, 1],
  ['70 channels (two channel blocks), k = 5', [2, 4, 3, 70], 5, 1],
  ['70 channels in 2 parts, k = 5', [2, 4, 3, 70], 5, 2],
  ['k wider than the channels (k = 5, 2 channels)', [3, 2, 2, 2], 5, 1],
  ['1,024 pixels (split into chunks), 32 channels, k = 3', [2, 32, 32, 32], 3, 1],
  ['1,024 pixels, 32 channels in 4 parts, k = 3', [2, 32, 32, 32], 3, 4],
  ['12 channels in 6 parts', [1, 4, 4, 12], 3, 6],
  // 64 channels per workgroup, so 4 strands per channel for 6 chunks; 320 terms per tap of the kernel gradient for its 256 threads.
  ['1,600 pixels in 6 chunks, 160 channels in 2 parts (three channel blocks), k = 5', [2, 40, 40, 160], 5, 2],
];

interface Operands {
  z: Float32Array;
  dy: Float32Array;
  kernel: Float32Array;
}

function operands(shape: number[], taps: number, seed: number): Operands {
  return tf.tidy(() => ({
    z: seededUniform(shape, seed, -1, 2).dataSync() as Float32Array,
    dy: seededUniform(shape, seed + 1).dataSync() as Float32Array,
    kernel: seededUniform([taps, 1, 1], seed + 2).dataSync() as Float32Array,
  }));
}

async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
}

/**
 * Reference on the cpu backend: pooled, y, autodiff's gradients of sum(y * dy) for z and the
 * kernel, and that of sum(z * sigmoid(logits) * dy) for the logits.
 */
async function reference(o: Operands, shape: number[], taps: number): Promise<Float32Array[]> {
  const [batch, , , channels] = shape as [number, number, number, number];
  const outs = tf.tidy(() => {
    const z = tf.tensor4d(o.z, shape as [number, number, number, number]);
    const kernel = tf.tensor3d(o.kernel, [taps, 1, 1]);
    const dy = tf.tensor(o.dy, shape);
    const attend = (zv: tf.Tensor, kv: tf.Tensor) => {
      const pooled = tf.mean(zv, [1, 2]);
      const logits = tf.conv1d(tf.reshape(pooled, [batch, channels, 1]) as tf.Tensor3D, kv as tf.Tensor3D, 1, 'same');
      return { pooled, y: tf.mul(zv, tf.reshape(tf.sigmoid(logits), [batch, 1, 1, channels])) };
    };
    const { pooled, y } = attend(z, kernel);
    const grads = tf.grads((zv: tf.Tensor, kv: tf.Tensor) => tf.sum(tf.mul(attend(zv, kv).y, dy)))([z, kernel]);
    const logits = tf.reshape(tf.conv1d(tf.reshape(pooled, [batch, channels, 1]) as tf.Tensor3D, kernel, 1, 'same'), [batch, channels]);
    const logitGrad = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(tf.mul(z, tf.reshape(tf.sigmoid(l), [batch, 1, 1, channels])), dy)))(logits);
    return [pooled, y, ...grads, logitGrad];
  });
  const values = await read(outs);
  tf.dispose(outs);
  return values;
}

/**
 * The kernels on the webgpu backend, in the reference's order; dz whole, then again as channel
 * blocks of at most 3 channels, each with an addend of 0.5 (whose sum must equal dz + 0.5).
 */
async function kernels(o: Operands, shape: number[], taps: number, parts: number): Promise<{ values: Float32Array[]; blocks: Float32Array }> {
  const before = tf.memory().numTensors;
  const [batch, h, w, channels] = shape as [number, number, number, number];
  const z = tf.tensor(o.z, shape);
  const zInputs: Record<string, tf.Tensor> = parts === 1 ? { z } : Object.fromEntries(tf.split(z, parts, 3).map((t, j) => [`z${j}`, t]));
  const kernel = tf.tensor3d(o.kernel, [taps, 1, 1]);
  const dy = tf.tensor(o.dy, shape);
  const forward = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { ...zInputs, kernel }) as tf.Tensor[];
  const [pooled, y] = forward;
  expect(forward.map((t) => t.shape)).toEqual([[batch, channels], shape]);
  const [logitGrad, dKernel] = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.gradient, { dy, ...zInputs, pooled: pooled!, kernel }) as tf.Tensor[];
  expect([logitGrad!.shape, dKernel!.shape]).toEqual([[batch, channels], [taps, 1, 1]]);
  const common = { dy, pooled: pooled!, kernel, logitGrad: logitGrad! };
  const dz = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.inputGrad, common, { channelBegin: 0, channelCount: channels }) as tf.Tensor;
  const blocks: tf.Tensor[] = [];
  for (let begin = 0; begin < channels; begin += 3) {
    const count = Math.min(3, channels - begin);
    const addend = tf.fill([batch, h, w, count], 0.5);
    blocks.push(tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.inputGrad, { ...common, addend }, { channelBegin: begin, channelCount: count }) as tf.Tensor);
    addend.dispose();
  }
  const joined = tf.concat(blocks, 3);
  const values = await read([pooled!, y!, dz, dKernel!, logitGrad!]);
  const blockValues = (await joined.data()) as Float32Array;
  tf.dispose([z, ...(parts === 1 ? [] : Object.values(zInputs)), kernel, dy, ...forward, logitGrad!, dKernel!, dz, ...blocks, joined]);
  expect(tf.memory().numTensors, 'tensors left').toBe(before);
  return { values, blocks: blockValues };
}

describe.runIf(adapter)('channel-attention kernels on webgpu', () => {
  beforeAll(() => {
    registerTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered for webgpu only', () => {
    for (const name of Object.values(CHANNEL_ATTENTION_KERNELS)) {
      expect(hasTrainingKernel(name, 'webgpu'), name).toBe(true);
      expect(tf.getKernel(name, 'cpu'), name).toBeUndefined();
    }
  });

  async function matchesCpu(shape: number[], taps: number, parts: number): Promise<void> {
    await tf.setBackend('cpu');
    const o = operands(shape, taps, 7);
    const expected = await reference(o, shape, taps);
    await tf.setBackend('webgpu');
    const { values, blocks } = await kernels(o, shape, taps, parts);
    await tf.setBackend('cpu');
    for (const [i, name] of ['pooled', 'y', 'dz', 'dkernel', 'dlogits'].entries()) {
      expect(differenceRelativeToLargest(values[i]!, expected[i]!), name).toBeLessThan(1e-4);
    }
    expect(differenceRelativeToLargest(blocks, expected[2]!.map((v) => v + 0.5)), 'dz by blocks, plus the addend').toBeLessThan(1e-4);
  }

  it.each(CASES)('%s: pooled, y and the gradients (dz whole and by blocks) equal the cpu backend\'s within 1e-4', async (_, shape, taps, parts) => {
    await matchesCpu(shape, taps, parts);
  });

  it.each(CASES.filter(([name]) => name.includes('chunks')))('%s, in the \'serial\' reduction layout (the GPU scripts\' comparison): the same', async (_, shape, taps, parts) => {
    await inSerialLayout(() => matchesCpu(shape, taps, parts));
  });

  /** [name, z's shape, k, the block's first channel and width, the depthwise filter's height and width, dilation]. */
  const DEPTHWISE_CASES: Array<[string, number[], number, number, number, number, number, number]> = [
    ['3x3, 8 channels, the block of channels 2..5', [2, 5, 6, 8], 3, 2, 4, 3, 3, 1],
    ['3x3 on a whole 70-channel z', [1, 4, 3, 70], 5, 0, 70, 3, 3, 1],
    ['5x3, dilation 2, the last block of 32 channels', [2, 9, 7, 32], 3, 24, 8, 5, 3, 2],
    ['1x1, one channel', [1, 3, 3, 1], 1, 0, 1, 1, 1, 1],
  ];

  it.each(DEPTHWISE_CASES)('%s: dz\'s block plus the depthwise input gradient equals the cpu backend\'s within 1e-4',
    async (_, shape, taps, begin, count, kh, kw, dilation) => {
      const [batch, h, w] = shape as [number, number, number, number];
      const blockShape = [batch, h, w, count];
      const depthwise = tf.tidy(() => ({
        dy: seededUniform(blockShape, 21).dataSync() as Float32Array,
        filter: seededUniform([kh, kw, count, 1], 22).dataSync() as Float32Array,
      }));
      await tf.setBackend('cpu');
      const o = operands(shape, taps, 11);
      const [, , dz] = await reference(o, shape, taps);
      const expectedTensor = tf.tidy(() => {
        const block = tf.slice(tf.tensor(dz!, shape), [0, 0, 0, begin], blockShape);
        const filter = tf.tensor4d(depthwise.filter, [kh, kw, count, 1]);
        const dD = tf.tensor(depthwise.dy, blockShape);
        const inputGrad = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(p as tf.Tensor4D, filter, 1, 'same', 'NHWC', dilation), dD)))(tf.zeros(blockShape));
        return tf.add(block, inputGrad);
      });
      const expected = (await expectedTensor.data()) as Float32Array;
      expectedTensor.dispose();

      await tf.setBackend('webgpu');
      const before = tf.memory().numTensors;
      const z = tf.tensor(o.z, shape);
      const kernel = tf.tensor3d(o.kernel, [taps, 1, 1]);
      const dy = tf.tensor(o.dy, shape);
      const [pooled, y] = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z, kernel }) as tf.Tensor[];
      const [logitGrad, dKernel] = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.gradient, { dy, z, pooled: pooled!, kernel }) as tf.Tensor[];
      const depthwiseDy = tf.tensor(depthwise.dy, blockShape);
      const depthwiseFilter = tf.tensor4d(depthwise.filter, [kh, kw, count, 1]);
      const block = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.inputGradDepthwise,
        { dy, pooled: pooled!, kernel, logitGrad: logitGrad!, depthwiseDy, depthwiseFilter },
        { channelBegin: begin, channelCount: count, dilation }) as tf.Tensor;
      expect(block.shape).toEqual(blockShape);
      const actual = (await block.data()) as Float32Array;
      tf.dispose([z, kernel, dy, pooled!, y!, logitGrad!, dKernel!, depthwiseDy, depthwiseFilter, block]);
      expect(tf.memory().numTensors, 'tensors left').toBe(before);
      await tf.setBackend('cpu');
      expect(differenceRelativeToLargest(actual, expected)).toBeLessThan(1e-4);
    });

  /** [name, z's shape, k, parts, with scale and shift, activation]. */
  const EPILOGUE_CASES: Array<[string, number[], number, number, boolean, 'linear' | 'relu']> = [
    ['scale and shift, 8 channels', [2, 5, 6, 8], 3, 1, true, 'linear'],
    ['scale, shift and ReLU, 8 channels in 4 parts', [2, 5, 6, 8], 3, 4, true, 'relu'],
    ['ReLU alone, 70 channels in 2 parts', [2, 4, 3, 70], 5, 2, false, 'relu'],
    ['scale, shift and ReLU, 1,024 pixels, 32 channels', [2, 32, 32, 32], 3, 1, true, 'relu'],
  ];

  it.each(EPILOGUE_CASES)('%s: y with its epilogue equals the cpu backend\'s z * gate * scale + shift (then ReLU) within 1e-4, in the same dispatch',
    async (_, shape, taps, parts, affine, activation) => {
      const channels = shape[3]!;
      await tf.setBackend('cpu');
      // Scales of both signs, so that the ReLU has negatives to clear.
      const [scaleValues, shiftValues] = tf.tidy(() => [seededUniform([channels], 31, -2, 2).dataSync(), seededUniform([channels], 32, -1, 1).dataSync()]);
      const o = operands(shape, taps, 13);
      const [expectedPooled, attended] = await reference(o, shape, taps);
      let expected = Float32Array.from(attended!, (v, i) => (affine ? v * scaleValues![i % channels]! + shiftValues![i % channels]! : v));
      if (activation === 'relu') expected = expected.map((v) => Math.max(v, 0));
      expect(expected.some((v) => v === 0) || activation === 'linear', 'the case has values the ReLU clears').toBe(true);

      await tf.setBackend('webgpu');
      const before = tf.memory().numTensors;
      const z = tf.tensor(o.z, shape);
      const zInputs: Record<string, tf.Tensor> = parts === 1 ? { z } : Object.fromEntries(tf.split(z, parts, 3).map((t, j) => [`z${j}`, t]));
      const kernel = tf.tensor3d(o.kernel, [taps, 1, 1]);
      const scale = tf.tensor1d(scaleValues!);
      const shift = tf.tensor1d(shiftValues!);
      const { result: outputs, keys } = await recordShaderKeys(async () => {
        const out = tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { ...zInputs, kernel, ...(affine ? { scale, shift } : {}) },
          { activation } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        return { values: await read(out), shapes: out.map((t) => t.shape), dispose: () => tf.dispose(out) };
      });
      outputs.dispose();
      tf.dispose([z, ...(parts === 1 ? [] : Object.values(zInputs)), kernel, scale, shift]);
      expect(tf.memory().numTensors, 'tensors left').toBe(before);
      await tf.setBackend('cpu');
      expect(outputs.shapes).toEqual([[shape[0], channels], shape]);
      expect(keys.filter((key) => key.startsWith('saunet_attentionAttend'))).toEqual([`saunet_attentionAttend_${parts}_k${taps}${affine ? '_affine' : ''}${activation === 'relu' ? '_relu' : ''}`]);
      expect(differenceRelativeToLargest(outputs.values[0]!, expectedPooled!), 'pooled').toBeLessThan(1e-4);
      expect(differenceRelativeToLargest(outputs.values[1]!, expected), 'y').toBeLessThan(1e-4);
    });

  it('concatenate z\'s parts first where a shader may not bind them all (WebGPU\'s default of 8 storage buffers)', async () => {
    await tf.setBackend('cpu');
    const shape = [1, 4, 4, 12];
    const o = operands(shape, 3, 9);
    const expected = await reference(o, shape, 3);
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const limits = device.limits;
    const narrowed: Record<string, unknown> = {};
    for (const key in limits) narrowed[key] = limits[key as keyof GPUSupportedLimits]; // WebIDL attributes: getters on the prototype
    narrowed.maxStorageBuffersPerShaderStage = 8;
    Object.defineProperty(device, 'limits', { value: narrowed, configurable: true });
    let programs: string[];
    try {
      // The programs run, by shader key.
      const { result: { values }, keys } = await recordShaderKeys(() => kernels(o, shape, 3, 6)); // 6 parts + pooled + kernel + output > 8
      programs = keys;
      for (const [i, name] of ['pooled', 'y', 'dz', 'dkernel', 'dlogits'].entries()) {
        expect(differenceRelativeToLargest(values[i]!, expected[i]!), name).toBeLessThan(1e-4);
      }
    } finally {
      Object.defineProperty(device, 'limits', { value: limits, configurable: true });
    }
    const attention = programs.filter((key) => key.startsWith('saunet_attentionPixelSums') || key.startsWith('saunet_attentionAttend'));
    // The forward pass's attend would bind 6 parts + pooled + kernel + output: it reads z whole
    // (concatenated first; on the CPU here, where these small parts live); the gradient's sums,
    // dy + 6 parts + output = 8, read the parts.
    expect(attention).toEqual(['saunet_attentionPixelSums_pool_16_1_256_2', 'saunet_attentionAttend_1_k3', 'saunet_attentionPixelSums_gateGrad_16_6_256_2']);
    await tf.setBackend('cpu');
  });

  it('reject inputs they cannot attend, naming the kernel and the input', async () => {
    await tf.setBackend('webgpu');
    const kernel = tf.zeros([3, 1, 1]);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z: tf.zeros([2, 3, 4]), kernel }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: z must be [batch, height, width, channels] with no empty axis, got shape [2, 3, 4]`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z: tf.zeros([1, 2, 2, 4]), kernel: tf.zeros([2, 1, 1]) }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: kernel must be [k, 1, 1] with k odd, got shape [2, 1, 1]`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.gradient, { dy: kernel, z: kernel }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.gradient}: missing input 'pooled'`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { kernel }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: missing input 'z' (or its parts 'z0', 'z1', ...)`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z0: tf.zeros([1, 2, 2, 2]), z1: tf.zeros([1, 2, 2, 3]), kernel }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: the parts of z must have one shape, got [1, 2, 2, 2] and [1, 2, 2, 3] (z1)`);
    const z = tf.zeros([1, 2, 2, 4]);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z, kernel, scale: tf.ones([4]) }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: give 'scale' and 'shift' together or neither, got only 'scale'`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z, kernel, scale: tf.ones([4]), shift: tf.zeros([3]) }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: shift must be float32 of shape [4] (z's channels), got float32 [3]`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.forward, { z, kernel }, { activation: 'sigmoid' } as unknown as tf.NamedAttrMap))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.forward}: activation must be 'linear' or 'relu', got "sigmoid"`);
    const dy = tf.zeros([1, 2, 2, 4]);
    const inputs = { dy, pooled: tf.zeros([1, 4]), kernel, logitGrad: tf.zeros([1, 4]) };
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.inputGrad, inputs, { channelBegin: 2, channelCount: 3 }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.inputGrad}: channels [2, 5) are not a block of dy's 4`);
    expect(() => tf.engine().runKernel(CHANNEL_ATTENTION_KERNELS.inputGrad, { ...inputs, addend: tf.zeros([1, 2, 2, 3]) }, { channelBegin: 0, channelCount: 2 }))
      .toThrow(`${CHANNEL_ATTENTION_KERNELS.inputGrad}: addend must have the block's shape [1, 2, 2, 2], got [1, 2, 2, 3]`);
    const through = CHANNEL_ATTENTION_KERNELS.inputGradDepthwise;
    const blockAttrs = { channelBegin: 0, channelCount: 2 };
    const depthwiseDy = tf.zeros([1, 2, 2, 2]);
    expect(() => tf.engine().runKernel(through, { ...inputs, depthwiseDy }, blockAttrs)).toThrow(`${through}: missing input 'depthwiseFilter'`);
    expect(() => tf.engine().runKernel(through, { ...inputs, depthwiseDy: tf.zeros([1, 2, 2, 4]), depthwiseFilter: tf.zeros([3, 3, 2, 1]) }, blockAttrs))
      .toThrow(`${through}: depthwiseDy must have the block's shape [1, 2, 2, 2], got [1, 2, 2, 4]`);
    expect(() => tf.engine().runKernel(through, { ...inputs, depthwiseDy, depthwiseFilter: tf.zeros([2, 3, 2, 1]) }, blockAttrs))
      .toThrow(`${through}: depthwiseFilter must be [kh, kw, 2, 1] with kh and kw odd, got shape [2, 3, 2, 1]`);
    expect(() => tf.engine().runKernel(through, { ...inputs, depthwiseDy, depthwiseFilter: tf.zeros([3, 3, 2, 1]) }, { ...blockAttrs, dilation: 0 }))
      .toThrow(`${through}: dilation must be a positive integer, got 0`);
    await tf.setBackend('cpu');
  });
});
