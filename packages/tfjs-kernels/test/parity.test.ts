/**
 * Gradients computed with our kernels on cpu and wasm equal the stock cpu gradients (dilation 1)
 * and central finite differences (dilation 2, where tfjs has no correct kernel), within 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { CASES, analyticGrads, label, operands, referenceGrads, relativeError } from './parity-cases.js';

afterAll(() => {
  registerTrainingKernels();
});

describe.each(CASES.map((k, i) => [label(k), k, i] as const))('%s', (_, k, index) => {
  it('our kernels on cpu and wasm match the reference within 1e-4', async () => {
    await tf.setBackend('cpu');
    const { x, f, r } = operands(k, index);
    const reference = await referenceGrads(k, x, f, r);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const [xb, fb, rb] = [x, f, r].map((t) => tf.tensor(t.dataSync(), t.shape));
      const [gx, gf] = await analyticGrads(k, xb, fb, rb);
      expect(relativeError(gx, reference[0]), `dx on ${backend}`).toBeLessThan(1e-4);
      expect(relativeError(gf, reference[1]), `dfilter on ${backend}`).toBeLessThan(1e-4);
      tf.dispose([xb, fb, rb]);
    }
    await tf.setBackend('cpu');
    tf.dispose([x, f, r]);
  });
});
