/**
 * Random convolution configurations beyond the parity tests' fixed cases: our training kernels'
 * gradients on cpu, wasm and (where an adapter exists) webgpu against the cpu backend's stock
 * gradients, or central differences where a dilation exceeds 1 (tfjs has no correct kernel then).
 * Strides 1 to 3 and dilations 1 to 3 per axis, 'same', 'valid' and explicit padding, filters 1x1
 * to 5x5, 1 to 9 channels (`--max-channels`), conv2d, depthwise and transposed convolutions,
 * drawn from a seed.
 *
 *   pnpm --filter @sa-unet/tfjs-kernels random-parity [--seed 1] [--cases 100] [--max-channels 9]
 *
 * Prints each configuration whose gradients differ by 1e-4 or more (relative to the largest
 * value) or that throws, then a count; exits 1 if any did. Configurations tfjs itself rejects
 * (a dilated filter larger than its input) are drawn again.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels, setupNodeWebGPU } from '@sa-unet/tfjs-kernels';
import {
  analyticGrads,
  finiteDifferenceGrads,
  label,
  operands,
  referenceGrads,
  relativeError,
  runsOn,
  type Case,
  type Pad,
  type Pair,
} from '../test/parity-cases.js';
import { randomSweep } from '../../../test-utils/random-sweep.js';

const { seed, count, maxChannels, random, int, oneOf, widthBound } = randomSweep('random-parity', 100);

function randomCase(): Case {
  const op = oneOf(['conv2d', 'conv2d', 'depthwise', 'conv2dTranspose'] as const);
  const filter: Pair = [int(1, 5), int(1, 5)];
  const x = [int(1, 3), int(3, 24), int(3, 24), int(1, maxChannels)];
  if (op === 'conv2dTranspose') {
    const strides: Pair = [int(1, 3), int(1, 3)];
    const pad = oneOf(['same', 'valid'] as const);
    const out = (axis: 0 | 1) => (pad === 'same' ? x[axis + 1]! * strides[axis] : (x[axis + 1]! - 1) * strides[axis] + filter[axis]);
    const outChannels = int(1, widthBound(6));
    return { op, x, filter: [...filter, outChannels, x[3]!], strides, pad, dilations: [1, 1], outShape: [x[0]!, out(0), out(1), outChannels] };
  }
  // tfjs allows a stride or a dilation above 1, not both.
  const dilations: Pair = random() < 0.25 ? [int(1, 3), int(1, 3)] : [1, 1];
  const strides: Pair = dilations.some((d) => d > 1) ? [1, 1] : [int(1, 3), int(1, 3)];
  const kind = oneOf(['same', 'valid', 'explicit'] as const);
  const pad: Pad = kind === 'explicit' ? [[0, 0], [int(0, 2), int(0, 2)], [int(0, 2), int(0, 2)], [0, 0]] : kind;
  return { op, x, filter: [...filter, x[3]!, op === 'conv2d' ? int(1, maxChannels) : int(1, 3)], strides, pad, dilations };
}

/** tfjs' own shape check of the case (a dilated filter larger than its input has a negative size). */
function valid(k: Case): boolean {
  if (k.op === 'conv2dTranspose') return true;
  const info = tf.backend_util.computeConv2DInfo(k.x as [number, number, number, number], k.filter as [number, number, number, number],
    k.strides, k.dilations, k.pad, undefined, k.op === 'depthwise');
  return info.outShape.every((d) => d >= 0);
}

const webgpu = await setupNodeWebGPU();
if (webgpu) await import('@tensorflow/tfjs-backend-webgpu');
registerTrainingKernels();
const backends = ['cpu', 'wasm', ...(webgpu ? ['webgpu'] : [])];

let failures = 0;
for (let i = 0; i < count; i++) {
  let k = randomCase();
  while (!valid(k)) k = randomCase();
  const name = `${label(k)} (strides ${k.strides.join('x')}, dilations ${k.dilations.join('x')})`;
  await tf.setBackend('cpu');
  const { x, f, r } = operands(k, 1000 * seed + i);
  const reference = k.dilations.some((d) => d > 1) ? await finiteDifferenceGrads(k, x, f, r) : await referenceGrads(k, x, f, r);
  const values = await Promise.all([x, f, r].map((t) => t.data()));
  for (const backend of backends.filter((b) => runsOn(k, b))) {
    await tf.setBackend(backend);
    const [xb, fb, rb] = [x, f, r].map((t, j) => tf.tensor(values[j]!, t.shape));
    try {
      const [dx, dfilter] = await analyticGrads(k, xb!, fb!, rb!);
      const errors = [relativeError(dx, reference[0]), relativeError(dfilter, reference[1])];
      if (!errors.every((e) => e < 1e-4)) {
        failures++;
        console.log(`differs on ${backend}: ${name}: dx ${errors[0]!.toExponential(2)}, dfilter ${errors[1]!.toExponential(2)}`);
      }
    } catch (err) {
      failures++;
      console.log(`throws on ${backend}: ${name}: ${(err as Error).message.split('\n')[0]}`);
    }
    tf.dispose([xb!, fb!, rb!]);
  }
  await tf.setBackend('cpu');
  tf.dispose([x, f, r]);
}
console.log(`seed ${seed}: ${count} configurations on ${backends.join(', ')}, ${failures} failing`);
process.exitCode = failures > 0 ? 1 : 0;
