/**
 * Where a U-Net step's 256x256 convolutions lose their time. On the H200 (2026-12-04,
 * measurements/h200-2026-12-04/7-tiling-per-shape/conv-forward.json) a 3x3 convolution of
 * [4, 256, 256, 32] to 32 channels took 1.67 ms of GPU time per call (2.9 TFLOP/s) while one of
 * [4, 256, 256, 64] to 32, twice the work and the same output, took 0.59 ms (16 TFLOP/s), and the
 * same layer at batch 1 took 0.07 ms or less: four times the data, twenty-five times the time.
 * Those calls were timed one at a time, each followed by a read-back of its output, with Dawn's
 * rounded timestamps. The 256x256 convolutions of a step (forward, and the input gradient, which
 * is a convolution too) add up to about 10 of its 35.8 ms of GPU time.
 *
 * This script times one Conv2D call of 3x3 'same' convolutions at `--size` (default 256), batch 1,
 * 2 and 4, input channels 1, 32 and 64, output channels 32 and 64, with the stock kernel and with
 * the package's registered one, two ways: each call followed by a read-back of its output (as
 * gpu-conv-forward.ts timed them on 2026-12-04), and `--runs` calls back to back with one read-back at the end.
 * If the first is slow and the second is not, the time was the GPU waking from the idle gaps, not
 * the kernel. GPU time per call from exact timestamps (setupNodeWebGPU), median of the calls;
 * TFLOP/s from 2 * outputs * 9 * input channels / time.
 *
 * Tested on lavapipe (`--size 32 --runs 2`); on the GPU machine (gpu-session.sh):
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-conv-scaling --out $OUT/conv-scaling.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
// Not part of the package's API: the stock kernel ours replaced.
import { requireStockKernel } from '../../tfjs-kernels/src/registry-state.js';
import { percentile } from '@sa-unet/seg-metrics';
import { comparisonOptions, selectWebGPU, useKernel } from './kernel-calls.js';
import { callTimes } from './kernel-totals.js';

const { size, runs, out, values } = comparisonOptions({ runs: 10, rounds: 1 }, { dawn: '' });
const { adapter } = await selectWebGPU(values['dawn']);
const KERNEL = 'Conv2D';
const variants: Record<string, tf.KernelFunc> = {
  stock: requireStockKernel(KERNEL, 'webgpu').kernelFunc,
  'the package\'s': tf.getKernel(KERNEL, 'webgpu')!.kernelFunc,
};

interface Row {
  variant: string;
  batch: number;
  inChannels: number;
  outChannels: number;
  mode: 'read back' | 'back to back';
  gpuMsPerCall: number;
  wallMsPerCall: number;
  tflops: number;
}
const rows: Row[] = [];
const save = () => {
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, size, runs, rows }, null, 2));
};

async function timeShape(batch: number, inChannels: number, outChannels: number): Promise<void> {
  const x = tf.randomUniform([batch, size, size, inChannels], -1, 1, 'float32', 1);
  const filter = tf.randomUniform([3, 3, inChannels, outChannels], -1, 1, 'float32', 2);
  const conv = () => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same');
  const flop = 2 * batch * size * size * outChannels * 9 * inChannels;
  try {
    for (const [variant, kernelFunc] of Object.entries(variants)) {
      useKernel(KERNEL, 'webgpu', kernelFunc);
      const warm = conv();
      await warm.data(); // compiles the shader
      warm.dispose();
      const modes: Array<[Row['mode'], () => Promise<void>]> = [
        ['read back', async () => {
          for (let i = 0; i < runs; i++) {
            const y = conv();
            await y.data();
            y.dispose();
          }
        }],
        ['back to back', async () => {
          const ys = Array.from({ length: runs }, conv);
          await ys[ys.length - 1]!.data();
          tf.dispose(ys);
        }],
      ];
      for (const [mode, run] of modes) {
        const t0 = performance.now();
        await run();
        const wallMsPerCall = (performance.now() - t0) / runs;
        const gpuMsPerCall = percentile(callTimes(await tf.profile(run), KERNEL), 50);
        const row: Row = { variant, batch, inChannels, outChannels, mode, gpuMsPerCall, wallMsPerCall, tflops: flop / (gpuMsPerCall * 1e9) };
        rows.push(row);
        console.log(`${variant.padEnd(14)} [${batch}, ${size}, ${size}, ${inChannels}] -> ${String(outChannels).padStart(2)}, ${mode.padEnd(12)}: ` +
          `GPU ${gpuMsPerCall.toFixed(3)} ms per call (${row.tflops.toFixed(1)} TFLOP/s), wall ${wallMsPerCall.toFixed(2)} ms`);
        save();
      }
    }
  } finally {
    useKernel(KERNEL, 'webgpu', variants['the package\'s']!);
    tf.dispose([x, filter]);
  }
}

console.log(`${adapter}; 3x3 'same' Conv2D at ${size}x${size}, ${runs} calls per timing`);
for (const batch of [1, 2, 4]) {
  for (const inChannels of [1, 32, 64]) await timeShape(batch, inChannels, 32);
  await timeShape(batch, 32, 64);
}
save();
