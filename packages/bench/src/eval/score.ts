/** Scoring predictions with @sa-unet/seg-metrics, as the paper reports them. */
import { MetricAccumulator, type EvaluationResult, type RocCurve } from '@sa-unet/seg-metrics';
import type { Sample } from '../data/dataset.js';

/** A ROC curve thinned for plotting, as plain arrays (results.json keeps it). */
export interface PlotCurve {
  /** False-positive rates, increasing. */
  fpr: number[];
  /** True-positive rates at the same thresholds. */
  tpr: number[];
}

/** The metrics of one model on one test set (one repeat). */
export interface TestScores {
  /** Every metric per image and summarized over the test set. */
  evaluation: EvaluationResult;
  /** Pixel ROC pooled over the test set, thinned for plotting. */
  roc: PlotCurve;
}

/**
 * Scores probability maps against the samples' masks: threshold 0.5, distances in pixels, a
 * missed (or hallucinated) nerve's Hausdorff distance = the image diagonal, so means stay finite.
 */
export function scorePredictions(maps: readonly Float32Array[], samples: readonly Sample[], size: number): TestScores {
  const accumulator = new MetricAccumulator({ missPenalty: 'diagonal', empty: 'nan', surfaceDiceTolerance: 1 });
  maps.forEach((map, i) => accumulator.add({ data: map, width: size, height: size }, { data: samples[i].mask, width: size, height: size }));
  return { evaluation: accumulator.result(), roc: thinCurve(accumulator.pooledRocCurve(), 300) };
}

/** At most about `points` points of a ROC curve, evenly spaced along it, ends kept. */
export function thinCurve(curve: RocCurve, points: number): PlotCurve {
  const n = curve.fpr.length;
  const step = Math.max(1, Math.floor(n / points));
  const fpr: number[] = [];
  const tpr: number[] = [];
  for (let i = 0; i < n; i += step) {
    fpr.push(curve.fpr[i]);
    tpr.push(curve.tpr[i]);
  }
  if (fpr[fpr.length - 1] !== curve.fpr[n - 1] || tpr[tpr.length - 1] !== curve.tpr[n - 1]) {
    fpr.push(curve.fpr[n - 1]);
    tpr.push(curve.tpr[n - 1]);
  }
  return { fpr, tpr };
}
