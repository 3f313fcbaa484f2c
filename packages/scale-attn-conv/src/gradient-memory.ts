/**
 * How the layer's gradient gets the intermediates of its forward pass (the stage outputs, the
 * depthwise outputs, the concatenation and the attention gate): kept from the forward pass, or
 * recomputed from the layer's input in the backward pass (gradient checkpointing).
 *
 * Recomputing keeps about a sixth less memory alive during a training step and costs one more
 * forward pass of each layer (and its kernel dispatches); keeping is the faster choice wherever the
 * memory is there. Measured with SA-U-Net on wasm, one Adam step at batch 4: see the README.
 */
import { getBackend } from '@tensorflow/tfjs-core';

/**
 * 'auto': keep on every backend but wasm (whose heap is 4 GB at most); on wasm, keep for a layer
 * call whose output has at most {@link AUTO_KEEP_MAX_VALUES} values, recompute for a larger one.
 */
export type GradientMemoryMode = 'auto' | 'recompute' | 'keep';

const MODES: readonly GradientMemoryMode[] = ['auto', 'recompute', 'keep'];
/** Backends on which 'auto' recomputes the intermediates of large layer calls. */
const RECOMPUTING_BACKENDS: ReadonlySet<string> = new Set(['wasm']);

/**
 * The largest layer output (values, all images of the batch) whose intermediates 'auto' keeps on
 * wasm: 2^20, e.g. [4, 64, 64, 64] or [4, 128, 128, 16]. Keeping costs about a fifth more memory
 * for the layers it applies to and makes an SA-U-Net Adam step about 1.1x as fast (see the
 * README); with this bound the paper's 256x256, base 32 SA-U-Net recomputes in its two outer levels,
 * which hold most of a step's memory, and keeps only in the smaller inner ones.
 */
export const AUTO_KEEP_MAX_VALUES = 2 ** 20;

let current: GradientMemoryMode = 'auto';

/**
 * Sets, for every ScaleAttentionalConv2D (dilationRate 1) in this program, whether its gradient
 * keeps or recomputes the forward pass's intermediates. Takes effect at the next forward pass; the
 * values and gradients are the same either way. Default 'auto'.
 */
export function setGradientMemoryMode(mode: GradientMemoryMode): void {
  if (!MODES.includes(mode)) {
    throw new Error(`setGradientMemoryMode: 'mode' must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`);
  }
  current = mode;
}

/** The mode set by {@link setGradientMemoryMode} ('auto' unless changed). */
export function getGradientMemoryMode(): GradientMemoryMode {
  return current;
}

/**
 * Whether the layer's gradient recomputes its intermediates on `backend` (default: the active one)
 * in the current mode, for a layer call with `outputValues` values of output (default: unknown,
 * which 'auto' on wasm takes as large).
 */
export function recomputesIntermediates(backend: string = getBackend(), outputValues = Infinity): boolean {
  if (typeof outputValues !== 'number' || Number.isNaN(outputValues) || outputValues < 0) {
    throw new Error(`recomputesIntermediates: 'outputValues' must be a number >= 0 (Infinity for unknown), got ${String(outputValues)}`);
  }
  if (current !== 'auto') return current === 'recompute';
  return RECOMPUTING_BACKENDS.has(backend) && outputValues > AUTO_KEEP_MAX_VALUES;
}
