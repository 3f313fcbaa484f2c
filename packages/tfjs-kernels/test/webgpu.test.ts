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
import { describeWebGPUAdapter, hasTrainingKernel, registerTrainingKernels, setupNodeWebGPU, unregisterTrainingKernels } from '@sa-unet/tfjs-kernels';
import { CASES, analyticGrads, finiteDifferenceGrads, label, operands, relativeError } from './parity-cases.js';
import { withSeed } from '../../../test-utils/numeric.js';

const adapter = await setupNodeWebGPU();
if (adapter) await import('@tensorflow/tfjs-backend-webgpu');
const required = process.env.SA_UNET_REQUIRE_WEBGPU === '1';
if (!adapter && !required) {
  console.warn('webgpu tests skipped: no WebGPU adapter (run ../shared/gpu/lavapipe.sh for Vulkan on the CPU)');
}

afterAll(() => registerTrainingKernels());

describe('a WebGPU adapter', () => {
  it.runIf(required)('exists where SA_UNET_REQUIRE_WEBGPU=1', () => {
    expect(adapter).toBe(true);
  });
});

describe.runIf(adapter)('training kernels on webgpu', () => {
  it('the adapter says whether it is software (lavapipe) or a GPU', async () => {
    const adapter = await describeWebGPUAdapter();
    expect(adapter).not.toBeNull();
    expect(adapter!.description.length).toBeGreaterThan(0);
    expect(typeof adapter!.software).toBe('boolean');
    if (/llvmpipe/.test(adapter!.description)) expect(adapter!.software).toBe(true);
  });

  it('are registered for webgpu', () => {
    expect(registerTrainingKernels()).toContain('webgpu');
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      expect(hasTrainingKernel(k, 'webgpu'), k).toBe(true);
    }
  });

  describe.each(CASES.map((k, i) => [label(k), k, i] as const))('%s', (_, k, index) => {
    it('matches the reference within 1e-4', async () => {
      await tf.setBackend('cpu');
      const { x, f, r } = operands(k, index);
      let reference: [Float32Array, Float32Array];
      if (k.dilations[0] > 1) {
        reference = await finiteDifferenceGrads(k, x, f, r);
      } else {
        unregisterTrainingKernels();
        reference = await analyticGrads(k, x, f, r);
      }
      registerTrainingKernels();
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
});
