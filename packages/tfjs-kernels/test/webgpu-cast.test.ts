/**
 * The webgpu Cast that registerTrainingKernels registers (src/webgpu/cast.ts): int32 and bool to
 * float32 into float32 storage, where the stock kernel keeps the int32 storage under the float32
 * dtype and tfjs's Conv2D shader then fails to compile for it (wrong results, and the rest of its
 * submit batch lost). On Dawn (in CI on Mesa's lavapipe); skipped with a message where no WebGPU
 * adapter exists, unless SA_UNET_REQUIRE_WEBGPU=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { differenceRelativeToLargest, seededUniform } from '../../../test-utils/numeric.js';
import { countDispatches, intStoredFloat, nodeWebGPU, onGPU, storageDtype } from '../../../test-utils/webgpu.js';

const adapter = await nodeWebGPU('the webgpu Cast tests');

describe.runIf(adapter)('Cast on webgpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('webgpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each<[string, () => tf.Tensor]>([
    ['int32', () => tf.tensor(Int32Array.from({ length: 1050 }, (_, i) => ((i * 7919) % 601) - 300), [3, 50, 7], 'int32')],
    ['bool', () => tf.greater(seededUniform([3, 50, 7], 4), 0.5)],
  ])('%s to float32: float32 storage, the same values, one dispatch', async (_, make) => {
    const x = make();
    onGPU(x);
    const before = tf.memory().numTensors;
    const { result: y, dispatches } = countDispatches(() => tf.cast(x, 'float32'));
    expect(dispatches).toBe(1);
    expect(y.dtype).toBe('float32');
    expect(storageDtype(y)).toBe('float32');
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data(), Number));
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('a convolution of an int32 image cast to float32 equals that of the same float32 values (the stock cast gave zeros or stale values)', async () => {
    const image = tf.randomUniform([2, 12, 12, 3], 0, 256, 'int32', 5);
    const filter = seededUniform([3, 3, 3, 16], 6, -1, 1) as tf.Tensor4D;
    const asFloat = tf.tensor4d(Float32Array.from(await image.data()), [2, 12, 12, 3]);
    const [ours, reference] = [tf.cast(image, 'float32') as tf.Tensor4D, asFloat].map((x) => tf.conv2d(x, filter, 1, 'same'));
    const [oursValues, referenceValues] = await Promise.all([ours!.data(), reference!.data()]);
    expect(referenceValues.some((v) => v !== 0)).toBe(true);
    expect(differenceRelativeToLargest(oursValues as Float32Array, referenceValues as Float32Array)).toBeLessThan(1e-6);
    tf.dispose([image, filter, asFloat, ours!, reference!]);
  });

  it('values not yet uploaded are cast on the CPU, into float32 storage once uploaded', async () => {
    const image = tf.tensor(Int32Array.from({ length: 432 }, (_, i) => i % 256), [1, 12, 12, 3], 'int32'); // never on the GPU
    const { result: y, dispatches } = countDispatches(() => tf.cast(image, 'float32'));
    expect(dispatches).toBe(0);
    const filter = seededUniform([3, 3, 3, 4], 8, -1, 1) as tf.Tensor4D;
    const conv = tf.conv2d(y as tf.Tensor4D, filter, 1, 'same');
    const reference = tf.conv2d(tf.tensor4d(Float32Array.from(await image.data()), [1, 12, 12, 3]), filter, 1, 'same');
    expect(storageDtype(y)).toBe('float32');
    expect(differenceRelativeToLargest((await conv.data()) as Float32Array, (await reference.data()) as Float32Array)).toBeLessThan(1e-6);
    tf.dispose([image, y, filter, conv, reference]);
  });

  it('other casts, and small tensors still on the CPU, are the stock kernel\'s', async () => {
    const floats = seededUniform([4, 9], 7, -5, 5);
    await floats.data();
    const ints = tf.cast(floats, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(await ints.data())).toEqual(Array.from(await floats.data(), (v) => Math.trunc(v) | 0));
    const small = tf.tensor1d([1, -2, 3], 'int32'); // on the CPU: cast there, no dispatch
    const { result, dispatches } = countDispatches(() => tf.cast(small, 'float32'));
    expect(dispatches).toBe(0);
    expect(Array.from(await result.data())).toEqual([1, -2, 3]);
    tf.dispose([floats, ints, small, result]);
  });

  it('intStoredFloat (test-utils) still makes the stock kernel\'s int32 storage for kernels that must read it', async () => {
    const ints = tf.tensor1d([1, 2, 3, 4], 'int32');
    const shared = intStoredFloat(ints);
    expect(shared.dtype).toBe('float32');
    expect(storageDtype(shared)).not.toBe('float32');
    tf.dispose([ints, shared]);
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
