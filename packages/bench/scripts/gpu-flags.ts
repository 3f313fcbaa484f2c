/**
 * tfjs-backend-webgpu's own tuning flags against its defaults, on a GPU machine, in one run: the
 * forward pass (batch 1) and the Adam step (batch 4) of each model under each setting, in
 * alternating rounds (wall times drift between calls). The settings:
 * - WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (default 15): how many dispatches tfjs records before it
 *   submits them to the GPU. An SA-U-Net step makes about 1,200 dispatches and spends half of its
 *   wall time outside GPU kernels (H200, 2026-12-04): fewer, larger submits may cost less CPU time,
 *   or leave the GPU idle longer.
 * - WEBGPU_CONV_SEPARATE_IM2COL_SHADER: every convolution as an im2col pass and a matrix product
 *   instead of the one-pass conv2d_mm shader that the forward pass and the composed input gradient use.
 * - WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL (the backend uses 8, 16 on recent Intel):
 *   below how many 32x32 tiles a matrix product or convolution switches to a program with more,
 *   smaller workgroups (and a convolution to im2col).
 * Whatever wins would be set by the bench (and recommended to users) with tf.env().set. On an H200
 * (2026-12-04, measurements/h200-2026-12-04/6-tilings/flags.json) none was faster than the defaults
 * in both of two rounds for both networks' steps, within the rounds' own spread: none is set. Lavapipe (a CPU)
 * cannot tell, it only runs the script:
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-flags --size 256 --out $OUT/flags.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backend.js';
import type { LatencyRow } from '../src/commands/latency.js';
import { comparisonOptions, latencyPerVariant } from './kernel-calls.js';

const { size, baseFilters, runs, steps, rounds, models, out } = comparisonOptions({ runs: 30, rounds: 2 });

const { description: adapter } = await selectBackend('webgpu'); // our kernels; a clear error without an adapter

const SETTINGS: Record<string, Record<string, number | boolean>> = {
  defaults: {},
  'submit every 5 dispatches': { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 5 },
  'submit every 60 dispatches': { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 60 },
  'submit every 250 dispatches': { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 250 },
  'im2col convolutions': { WEBGPU_CONV_SEPARATE_IM2COL_SHADER: true },
  'more workgroups below 64 tiles': { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 64 },
};
const defaults = Object.fromEntries(Object.keys(Object.assign({}, ...Object.values(SETTINGS))).map((flag) => [flag, tf.env().get(flag)]));

const rows: Array<LatencyRow & { round: number; variant: string }> = [];
const apply = (flags: Record<string, number | boolean>) => () => {
  for (const [flag, value] of Object.entries({ ...defaults, ...flags })) tf.env().set(flag, value);
};
await latencyPerVariant(Object.fromEntries(Object.entries(SETTINGS).map(([setting, flags]) => [setting, apply(flags)])),
  { models, size, baseFilters, runs, steps, rounds }, (row) => {
    rows.push(row);
    if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, settings: SETTINGS, defaults, rows }, null, 2));
  });
for (const [flag, value] of Object.entries(defaults)) tf.env().set(flag, value);
