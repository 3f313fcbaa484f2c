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

/** 'auto': recompute on wasm (whose heap is 4 GB at most), keep on every other backend. */
export type GradientMemoryMode = 'auto' | 'recompute' | 'keep';

const MODES: readonly GradientMemoryMode[] = ['auto', 'recompute', 'keep'];
/** Backends on which 'auto' recomputes. */
const RECOMPUTING_BACKENDS: ReadonlySet<string> = new Set(['wasm']);

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

/** Whether the layer's gradient recomputes its intermediates on `backend` (default: the active one) in the current mode. */
export function recomputesIntermediates(backend: string = getBackend()): boolean {
  return current === 'auto' ? RECOMPUTING_BACKENDS.has(backend) : current === 'recompute';
}
