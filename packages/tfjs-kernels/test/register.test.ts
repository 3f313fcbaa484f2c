import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  hasTrainingKernel,
  registerTrainingKernels,
  unregisterTrainingKernels,
} from '@sa-unet/tfjs-kernels';
import { seededUniform } from '../../../test-utils/numeric.js';

const KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'];

afterEach(() => {
  vi.restoreAllMocks();
  registerTrainingKernels();
});

describe('registerTrainingKernels', () => {
  it('registers every kernel for cpu and wasm, and the dilation-aware gradients', () => {
    expect(registerTrainingKernels()).toEqual(['cpu', 'wasm']);
    for (const backend of ['cpu', 'wasm']) for (const kernel of KERNELS) expect(hasTrainingKernel(kernel, backend), `${kernel} on ${backend}`).toBe(true);
  });

  it('registering twice changes nothing and warns nothing', () => {
    registerTrainingKernels();
    const before = KERNELS.map((k) => tf.getKernel(k, 'wasm'));
    const gradients = ['Conv2D', 'DepthwiseConv2dNative'].map((k) => tf.getGradient(k));
    const warn = vi.spyOn(console, 'warn');
    registerTrainingKernels();
    expect(KERNELS.map((k) => tf.getKernel(k, 'wasm'))).toEqual(before);
    expect(['Conv2D', 'DepthwiseConv2dNative'].map((k) => tf.getGradient(k))).toEqual(gradients);
    expect(warn).not.toHaveBeenCalled();
  });

  it('unregister restores the stock kernels (and removes those wasm lacks)', () => {
    unregisterTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBeDefined();
    for (const kernel of KERNELS) expect(hasTrainingKernel(kernel, 'cpu')).toBe(false);
  });

  it('rejects an unknown backend by name, and options that are not { backends: [...] }', () => {
    expect(() => registerTrainingKernels({ backends: ['webgl' as 'cpu'] })).toThrow(/unknown backend 'webgl'; supported: cpu, wasm/);
    expect(() => registerTrainingKernels(3 as never)).toThrow("registerTrainingKernels: options must be an object such as { backends: ['wasm'] }, got 3");
    expect(() => registerTrainingKernels(null as never)).toThrow(/options must be an object .*, got null$/);
    expect(() => registerTrainingKernels({ backends: 'wasm' } as never))
      .toThrow('registerTrainingKernels: backends must be an array of backend names (cpu, wasm, webgpu), got "wasm"');
  });

  it('a dilated gradient without our kernels says what to do', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingKernels();
    registerTrainingKernels({ backends: ['wasm'] }); // gradients registered, cpu kernels stock
    const x = seededUniform([1, 6, 6, 2], 1);
    const f = seededUniform([3, 3, 2, 1], 2);
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2)))(x))
      .toThrow(/dilation \[2, 2\] on backend 'cpu' needs the kernels DepthwiseConv2dNativeBackpropInput, DepthwiseConv2dNativeBackpropFilter of @sa-unet\/tfjs-kernels/);
    tf.dispose([x, f]);
  });
});

describe.each(['cpu', 'wasm'])('no leaks on %s', (backend) => {
  it('repeated gradients leave no tensors and no backend buffers behind', async () => {
    await tf.setBackend(backend);
    const x = seededUniform([2, 9, 9, 4], 1);
    const w = seededUniform([3, 3, 4, 3], 2);
    const dw = seededUniform([3, 3, 4, 2], 3);
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.add(
      tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')),
      tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'same', 'NHWC', 2)),
    ));
    const step = () => tf.dispose(tf.grads(loss)([x, w, dw]));
    step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose([x, w, dw]);
  });
});
