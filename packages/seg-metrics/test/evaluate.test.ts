import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { MetricAccumulator, evaluate, rocAuc, rocCurve, summarize, type ImageArray } from '@sa-unet/seg-metrics';
import { disc, rect } from './helpers.js';

function scoreMap(mask: ImageArray, seed: number): ImageArray {
  return { ...mask, data: Float32Array.from(mask.data, (v, i) => (v ? 0.4 : 0) + (((i + seed) * 2654435761) % 1000) / 1700) };
}

describe('evaluate', () => {
  const truths = [disc(24, 20, 10, 12, 6), disc(24, 20, 6, 6, 4), rect(24, 20, 2, 2, 10, 8)];
  const preds = truths.map((t, i) => scoreMap(t, i));

  it('records equal the single-metric functions; summaries are NaN-skipping mean and sample SD', () => {
    const result = evaluate(preds, truths, { spacing: [0.5, 0.5] });
    expect(result.records).toHaveLength(3);
    result.records.forEach((r, i) => {
      expect(r.index).toBe(i);
      expect(r.auc).toBe(rocAuc(preds[i], truths[i]));
      expect(r.tp + r.fn).toBe(r.truthPixels);
    });
    const dices = result.records.map((r) => r.dice);
    const mean = dices.reduce((a, b) => a + b, 0) / 3;
    expect(result.summary.dice.mean).toBeCloseTo(mean, 12);
    expect(result.summary.dice.sd).toBeCloseTo(Math.sqrt(dices.reduce((a, b) => a + (b - mean) ** 2, 0) / 2), 12);
    expect(result.summary.dice).toMatchObject({ count: 3, nanCount: 0 });
  });

  it('micro AUC pools every pixel; macro AUC averages per-image AUCs', () => {
    const result = evaluate(preds, truths);
    const pooledScores = { data: preds.flatMap((p) => Array.from(p.data)), width: 24 * 3 * 20, height: 1 };
    const pooledTruth = { data: truths.flatMap((t) => Array.from(t.data)), width: 24 * 3 * 20, height: 1 };
    expect(result.pixelAuc.micro).toBeCloseTo(rocAuc(pooledScores, pooledTruth), 12);
    expect(result.pixelAuc.macro.mean).toBeCloseTo(result.records.reduce((a, r) => a + r.auc, 0) / 3, 12);
  });

  it('the accumulator\'s pooled ROC curve is the curve of all pixels', () => {
    const acc = new MetricAccumulator();
    preds.forEach((p, i) => acc.add(p, truths[i]));
    const pooledScores = { data: preds.flatMap((p) => Array.from(p.data)), width: 24 * 3 * 20, height: 1 };
    const pooledTruth = { data: truths.flatMap((t) => Array.from(t.data)), width: 24 * 3 * 20, height: 1 };
    expect(acc.pooledRocCurve()).toEqual(rocCurve(pooledScores, pooledTruth));
    expect(() => new MetricAccumulator({ auc: false }).pooledRocCurve()).toThrow(/created with auc: false/);
  });

  it('the accumulator gives the same result image by image', () => {
    const acc = new MetricAccumulator({ missPenalty: 'diagonal' });
    preds.forEach((p, i) => acc.add(p, truths[i]));
    expect(acc.result()).toEqual(evaluate(preds, truths, { missPenalty: 'diagonal' }));
  });

  it('leaks no tensors when given tensors', () => {
    const p = preds.map((m) => tf.tensor2d(m.data as Float32Array, [20, 24]));
    const t = truths.map((m) => tf.tensor2d(Array.from(m.data), [20, 24]));
    evaluate(p, t);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) evaluate(p, t);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...p, ...t]);
  });
});

describe('summarize', () => {
  it('skips NaN, counts it, and keeps infinities visible', () => {
    expect(summarize([1, NaN, 3])).toEqual({ mean: 2, sd: Math.SQRT2, count: 2, nanCount: 1 });
    expect(summarize([NaN])).toEqual({ mean: NaN, sd: NaN, count: 0, nanCount: 1 });
    expect(summarize([2])).toEqual({ mean: 2, sd: NaN, count: 1, nanCount: 0 });
    expect(summarize([1, Infinity])).toEqual({ mean: Infinity, sd: NaN, count: 2, nanCount: 0 });
    expect(summarize([1, -Infinity])).toEqual({ mean: -Infinity, sd: NaN, count: 2, nanCount: 0 });
    expect(summarize([Infinity, 1, -Infinity])).toEqual({ mean: NaN, sd: NaN, count: 3, nanCount: 0 }); // inf - inf
  });

  it('refuses what is not a number, naming its index (a string or null would not count as skipped NaN)', () => {
    expect(() => summarize([1, '2'] as never)).toThrow('summarize: values must be numbers, found string at index 1');
    expect(() => summarize([null] as never)).toThrow('summarize: values must be numbers, found null at index 0');
  });
});
