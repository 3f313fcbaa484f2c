/**
 * Dispatches as Dawn sees them (GPUComputePassEncoder.dispatchWorkgroups calls, whoever records
 * them), for the GPU scripts: tf.profile's kernel calls also count reshapes and kernels that
 * dispatch nothing, and miss the programs our kernels and fusedAdam record themselves.
 */
import { diceLoss } from '@sa-unet/seg-metrics';
import { fusedAdam } from '@sa-unet/tfjs-kernels';
import type { ModelName } from '@sa-unet/unet-zoo';
import { buildModel } from '../src/commands/run-model.js';
import { trainOneBatch } from './kernel-totals.js';

export interface DispatchCounter {
  /** Dispatches since the last reset (0 where Dawn's classes are not loaded). */
  readonly count: number;
  reset(): void;
  /** Stops counting: dispatches go straight to Dawn again (nothing wrapped left on the timed path). */
  stop(): void;
}

/** Starts counting; call after the webgpu backend is set up (the `webgpu` package defines the class). */
export function countDispatches(): DispatchCounter {
  let count = 0;
  const proto = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => unknown } } })
    .GPUComputePassEncoder?.prototype;
  const dispatch = proto?.dispatchWorkgroups;
  if (proto !== undefined && dispatch !== undefined) {
    proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
      count++;
      return dispatch.apply(this, a);
    };
  }
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    stop() {
      if (proto !== undefined && dispatch !== undefined) proto.dispatchWorkgroups = dispatch;
    },
  };
}

/**
 * `measure(step)` on a freshly built `model` (batch 4; fusedAdam, dice loss) after `warmupSteps`
 * Adam steps, `step` running one more (its batch made on the GPU too); the model is disposed after.
 */
export async function afterSteps<T>(model: ModelName, size: number, baseFilters: number, warmupSteps: number,
  measure: (step: () => Promise<void>) => Promise<T>): Promise<T> {
  const built = buildModel(model, { size, baseFilters }, 1);
  built.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  try {
    for (let i = 0; i < warmupSteps; i++) await trainOneBatch(built, size);
    return await measure(() => trainOneBatch(built, size));
  } finally {
    built.optimizer?.dispose();
    built.dispose();
  }
}

/**
 * Dispatches of one Adam step of a freshly built `model`, after a first step that creates the
 * optimizer's moments, so that the counted one updates them in place.
 */
export async function stepDispatches(model: ModelName, size: number, baseFilters: number): Promise<number> {
  return afterSteps(model, size, baseFilters, 1, async (step) => {
    const counter = countDispatches();
    try {
      await step();
      return counter.count;
    } finally {
      counter.stop();
    }
  });
}
