/** Arrays and tensors agree; thresholds are respected; bad input names the argument. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  averageSurfaceDistance,
  boundaryOf,
  confusion,
  crossSectionalArea,
  dice,
  evaluate,
  hausdorffDistance,
  hausdorffFromDistances,
  MetricAccumulator,
  mmPerPixel,
  percentile,
  precision,
  rocAuc,
  softDice,
  spacingAfterResize,
  squaredDistanceTransform,
  surfaceDice,
  surfaceDiceFromDistances,
  surfaceDistances,
  zeroOverlap,
  zeroOverlapRate,
  type ImageArray,
} from '@sa-unet/seg-metrics';
import { disc } from './helpers.js';

beforeAll(() => tf.setBackend('cpu'));

const W = 20;
const H = 16;
const truth = disc(W, H, 8, 9, 5);
const scores: ImageArray = {
  data: Float32Array.from(truth.data, (v, i) => (v ? 0.55 + 0.4 * ((i * 37) % 11) / 11 : 0.45 * ((i * 13) % 7) / 7)),
  width: W,
  height: H,
};

describe('tensors and arrays', () => {
  it('give identical results for [h, w] and [h, w, 1] tensors', () => {
    const s2 = tf.tensor2d(scores.data as Float32Array, [H, W]);
    const s3 = tf.tensor3d(scores.data as Float32Array, [H, W, 1]);
    const t2 = tf.tensor2d(truth.data as Uint8Array, [H, W], 'int32');
    for (const s of [s2, s3]) {
      expect(confusion(s, t2)).toEqual(confusion(scores, truth));
      expect(hausdorffDistance(s, t2, { spacing: [0.3, 0.2] })).toBe(hausdorffDistance(scores, truth, { spacing: [0.3, 0.2] }));
      expect(rocAuc(s, t2)).toBe(rocAuc(scores, truth));
    }
    expect(evaluate([s2], [t2]).records[0]).toEqual(evaluate([scores], [truth]).records[0]);
    tf.dispose([s2, s3, t2]);
  });
});

describe('thresholds', () => {
  it('value > threshold is foreground (equal is background)', () => {
    const s: ImageArray = { data: [0.2, 0.5, 0.7, 0.9], width: 4, height: 1 };
    const t: ImageArray = { data: [0, 1, 1, 1], width: 4, height: 1 };
    expect(confusion(s, t)).toEqual({ tp: 2, fp: 0, fn: 1, tn: 1 });
    expect(confusion(s, t, { threshold: 0.1 })).toEqual({ tp: 3, fp: 1, fn: 0, tn: 0 });
    expect(confusion(s, t, { threshold: 0.8 })).toEqual({ tp: 1, fp: 0, fn: 2, tn: 1 });
    expect(dice(s, t, { threshold: 0.8 })).toBe(0.5);
  });
});

describe('bad input throws an Error naming the argument', () => {
  const small: ImageArray = { data: [0, 1, 1, 0], width: 2, height: 2 };
  it.each<[string, () => unknown, RegExp]>([
    ['size mismatch', () => dice(small, truth), /pred is 2x2 \(width x height\) but truth is 20x16: sizes must match/],
    ['data length', () => dice({ data: [0, 1, 0], width: 2, height: 2 }, small), /pred: data has 3 values but width x height = 2 x 2 = 4/],
    ['NaN in pred', () => dice({ data: [0, NaN, 1, 0], width: 2, height: 2 }, small), /pred: NaN at index 1 \(x 1, y 0\)/],
    ['NaN score', () => rocAuc({ data: [0, NaN, 1, 0], width: 2, height: 2 }, small), /scores: scores must be finite numbers, found NaN at index 1/],
    ['infinite score', () => rocAuc({ data: [0, Infinity, 1, 0], width: 2, height: 2 }, small), /scores: .* found Infinity at index 1/],
    ['truth not binary', () => dice(small, { data: [0, 255, 1, 0], width: 2, height: 2 }), /truth: must be binary \(every value 0 or 1\), found 255 at index 1/],
    ['wrong rank', () => dice(tf.zeros([1, 2, 2, 1]), small), /pred: expected a tensor of shape \[h, w\] or \[h, w, 1\], got \[1, 2, 2, 1\]/],
    ['zero spacing', () => hausdorffDistance(small, small, { spacing: [0, 1] }), /spacing: expected \[dy, dx\] with two finite numbers > 0, got \[0,1\]/],
    ['bad percentile', () => hausdorffDistance(small, small, { percentile: 101 }), /percentile: expected a number from 0 to 100, got 101/],
    ['zero dpi', () => crossSectionalArea(small, { dpi: 0 }), /dpi: expected a finite number > 0, got 0/],
    ['negative spacing for area', () => crossSectionalArea(small, { spacingMm: [-1, 1] }), /spacingMm: expected \[dy, dx\] in mm per pixel/],
    ['not a mask', () => dice(42 as never, small), /pred: expected \{ data, width, height \} or a tf.Tensor, got number/],
    ['a bare typed array', () => dice(new Float32Array(4) as never, small), /pred: expected \{ data, width, height \} or a tf.Tensor, got a bare Float32Array of length 4 \(give its shape: \{ data, width, height \}\)/],
    ['percentile above 100', () => percentile([1, 2, 3], 101), /percentile: expected a number from 0 to 100, got 101/],
    ['negative percentile', () => percentile([1, 2, 3], -5), /percentile: expected a number from 0 to 100, got -5/],
    ['data not an array', () => dice({ data: 7, width: 1, height: 1 } as never, small), /pred: 'data' must be an array or typed array, got number/],
    ['neither spacing nor dpi for area', () => crossSectionalArea(small, {} as never), /pixel size: expected exactly one of spacingMm, spacing \(mm per pixel\) or dpi, got none/],
    ['spacing and dpi for area', () => crossSectionalArea(small, { dpi: 96, spacingMm: [0.1, 0.1] } as never),
      /pixel size: expected exactly one of spacingMm, spacing \(mm per pixel\) or dpi, got dpi and spacingMm/],
    ['unknown pixel-size key', () => crossSectionalArea(small, { spacingUm: [100, 100] } as never),
      /pixel size: unknown key 'spacingUm'; expected \{ spacingMm: \[dy, dx\] \} \(mm per pixel\) or \{ dpi \}/],
    ['a bare spacing array for area', () => crossSectionalArea(small, [0.1, 0.1] as never), /pixel size: expected \{ spacingMm: \[dy, dx\] \} \(mm per pixel\) or \{ dpi \}, got \[0.1,0.1\]/],
    ['bad spacing for area', () => crossSectionalArea(small, { spacing: [0.1] } as never), /spacing: expected \[dy, dx\] in mm per pixel, two finite numbers > 0, got \[0.1\]/],
    ['softDice of different shapes', () => softDice(tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 3, 1])), /softDice: yTrue shape \[1, 2, 2, 1\] differs from yPred shape \[1, 2, 3, 1\]/],
    ['negative smooth', () => softDice(tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), { smooth: -1 }), /smooth: expected a number >= 0, got -1/],
    ['bad width', () => dice({ data: [1], width: 0, height: 1 }, small), /pred: width and height must be integers >= 1, got width 0 and height 1/],
    ['list lengths', () => zeroOverlapRate([small], []), /preds and truths must be arrays of the same length, got 1 and 0/],
    ['evaluate pairing', () => evaluate([small, small], [small]), /got 2 preds but 1 truths/],
    ['surface Dice without a tolerance', () => surfaceDice(small, small, {} as never),
      /surfaceDice: tolerance is required: the largest boundary distance that counts as agreement, in spacing units/],
    ['negative tolerance', () => surfaceDice(small, small, { tolerance: -1 }), /surfaceDice: tolerance: expected a finite number >= 0 \(in spacing units\), got -1/],
    ['NaN tolerance', () => surfaceDiceFromDistances(surfaceDistances(small, small), { tolerance: NaN }), /surfaceDiceFromDistances: tolerance: expected a finite number >= 0/],
    ['evaluate: bad surface-Dice tolerance', () => evaluate([small], [small], { surfaceDiceTolerance: Infinity }), /surfaceDiceTolerance: expected a finite number >= 0 \(in spacing units\), got null/],
    ['distance transform of too few sources', () => squaredDistanceTransform(new Uint8Array(4), 3, 3),
      /squaredDistanceTransform: sources must be a Uint8Array of width x height = 3 x 3 = 9 values, got length 4/],
    ['distance transform of a plain array', () => squaredDistanceTransform([1, 0] as never, 2, 1), /sources must be a Uint8Array .* got Array/],
    ['distance transform of width 0', () => squaredDistanceTransform(new Uint8Array(0), 0, 3), /squaredDistanceTransform: width must be an integer >= 1, got 0/],
    ['distance transform with spacing 0', () => squaredDistanceTransform(new Uint8Array(9), 3, 3, 0), /squaredDistanceTransform: dy must be a finite number > 0, got 0/],
    ['distance transform with a NaN spacing', () => squaredDistanceTransform(new Uint8Array(9), 3, 3, 1, NaN), /squaredDistanceTransform: dx must be a finite number > 0, got null/],
    ['boundary of a number', () => boundaryOf(3 as never), /boundaryOf: expected a binary mask \{ data: Uint8Array of width x height values, width, height \}, got 3/],
    ['boundary of too few values', () => boundaryOf({ data: new Uint8Array(3), width: 2, height: 2 }), /boundaryOf: .* got width 2, height 2 and 3 values/],
    ['boundary of a plain array', () => boundaryOf({ data: [1, 0] as never, width: 2, height: 1 }), /boundaryOf: .* got width 2, height 1 and no Uint8Array data/],
    ['evaluate names the image', () => evaluate([small, { data: [0, 0.5, 2, 0], width: 2, height: 2 }], [small, { data: [0, 2, 0, 0], width: 2, height: 2 }]),
      /truths\[1\]: must be binary/],
  ])('%s', (_, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('a misspelt policy fails on every input, not only where it would apply', () => {
  // The empty policy applies at a zero denominator, the miss penalty when one mask is empty: a
  // typo must not pass on the images where neither happens and fail later, or never.
  it.each<[string, () => unknown, RegExp]>([
    ['dice of two non-empty masks', () => dice(truth, truth, { empty: 'skip' as 'nan' }), /empty: expected 'nan', 'one' or 'zero', got "skip"/],
    ['surfaceDice of two non-empty masks', () => surfaceDice(truth, truth, { tolerance: 1, empty: 'skip' as 'nan' }), /empty: expected 'nan', 'one' or 'zero', got "skip"/],
    ['surfaceDice with an empty prediction', () => surfaceDice({ ...truth, data: new Uint8Array(W * H) }, truth, { tolerance: 1, empty: 'skip' as 'nan' }), /empty: expected 'nan', 'one' or 'zero'/],
    ['surfaceDiceFromDistances with an empty prediction', () => surfaceDiceFromDistances(surfaceDistances({ ...truth, data: new Uint8Array(W * H) }, truth), { tolerance: 1, empty: 'skip' as 'nan' }),
      /empty: expected 'nan', 'one' or 'zero'/],
    ['hausdorffDistance of two non-empty masks', () => hausdorffDistance(truth, truth, { missPenalty: 'diag' as 'diagonal' }),
      /missPenalty: expected 'infinity' or 'diagonal', got "diag"/],
    ['averageSurfaceDistance of two non-empty masks', () => averageSurfaceDistance(truth, truth, { missPenalty: 'diag' as 'diagonal' }), /missPenalty: expected/],
    ['MetricAccumulator before any image: empty', () => new MetricAccumulator({ empty: 'skip' as 'nan' }), /empty: expected 'nan', 'one' or 'zero'/],
    ['MetricAccumulator before any image: missPenalty', () => new MetricAccumulator({ missPenalty: 'diag' as 'diagonal' }), /missPenalty: expected/],
    ['MetricAccumulator before any image: hausdorffPercentile', () => new MetricAccumulator({ hausdorffPercentile: 950 }), /percentile: expected a number from 0 to 100, got 950/],
    ['MetricAccumulator before any image: spacing', () => new MetricAccumulator({ spacing: [1] as never }), /spacing: expected \[dy, dx\]/],
    ['MetricAccumulator before any image: threshold', () => new MetricAccumulator({ threshold: '0.5' as never }), /threshold: expected a number, got "0.5"/],
    ['MetricAccumulator before any image: auc', () => new MetricAccumulator({ auc: 'yes' as never }), /auc: expected true or false, got "yes"/],
    ['evaluate of an empty list', () => evaluate([], [], { empty: 'skip' as 'nan' }), /empty: expected 'nan', 'one' or 'zero'/],
  ])('%s', (_, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('options a function does not take throw, naming the function and its options', () => {
  const empty = { data: new Uint8Array(W * H), width: W, height: H };
  const t = tf.tensor4d(Float32Array.from(truth.data), [1, H, W, 1]);
  it.each<[string, () => unknown, string]>([
    ['confusion', () => confusion(scores, truth, { empty: 'one' } as object), "confusion: unknown option 'empty'; it takes threshold"],
    ['dice', () => dice(scores, truth, { treshold: 0.3 } as object), "dice: unknown option 'treshold'; it takes threshold, empty"],
    ['precision', () => precision(scores, truth, { spacing: [1, 1] } as object), "precision: unknown option 'spacing'; it takes threshold, empty"],
    ['hausdorffDistance with the area\'s spacingMm', () => hausdorffDistance(scores, truth, { spacingMm: [0.1, 0.1] } as object),
      "hausdorffDistance: unknown option 'spacingMm' (distances take 'spacing' [dy, dx], in the unit it is given in: mm per pixel gives mm); " +
        'it takes threshold, spacing, missPenalty, percentile, directed'],
    ['averageSurfaceDistance', () => averageSurfaceDistance(scores, truth, { percentile: 95 } as object), "averageSurfaceDistance: unknown option 'percentile'; it takes threshold, spacing, missPenalty"],
    ['surfaceDistances', () => surfaceDistances(scores, truth, { directed: true } as object), "surfaceDistances: unknown option 'directed'"],
    ['hausdorffFromDistances', () => hausdorffFromDistances(surfaceDistances(scores, truth), { percentille: 95 } as object), "hausdorffFromDistances: unknown option 'percentille'"],
    ['zeroOverlapRate', () => zeroOverlapRate([scores], [truth], { empty: 'one' } as object), "zeroOverlapRate: unknown option 'empty'; it takes threshold"],
    ['zeroOverlap', () => zeroOverlap(empty, truth, { missPenalty: 'diagonal' } as object), "zeroOverlap: unknown option 'missPenalty'"],
    ['crossSectionalArea', () => crossSectionalArea(truth, { dpi: 96 }, { spacingMm: [0.1, 0.1] } as object), "crossSectionalArea: unknown option 'spacingMm'; it takes threshold"],
    ['evaluate', () => evaluate([scores], [truth], { hausdorff95: true } as object),
      "evaluate: unknown option 'hausdorff95'; it takes threshold, empty, spacing, missPenalty, hausdorffPercentile, surfaceDiceTolerance, auc"],
    ['surfaceDice', () => surfaceDice(scores, truth, { tolerance: 1, missPenalty: 'diagonal' } as never), "surfaceDice: unknown option 'missPenalty'; it takes tolerance, threshold, spacing, empty"],
    ['surfaceDiceFromDistances', () => surfaceDiceFromDistances(surfaceDistances(scores, truth), { tolerance: 1, tolerence: 2 } as never), "surfaceDiceFromDistances: unknown option 'tolerence'"],
    ['MetricAccumulator', () => new MetricAccumulator({ spacingMm: [1, 1] } as object), "MetricAccumulator: unknown option 'spacingMm' (distances take 'spacing'"],
    ['softDice', () => softDice(t, t, { epsilon: 1e-6 } as object), "softDice: unknown option 'epsilon'; it takes smooth"],
    ['an options value that is not an object', () => dice(scores, truth, 0.3 as unknown as object), 'dice: options must be an object, got 0.3'],
  ])('%s', (_, call, message) => {
    expect(call).toThrow(message);
  });

  it('an option given as undefined is absent, as with every default', () => {
    expect(dice(scores, truth, { threshold: undefined, spacingMm: undefined } as object)).toBe(dice(scores, truth));
  });
});

describe('cross-sectional area', () => {
  it('pixel count times dy * dx, or (25.4 / dpi)^2', () => {
    const mask = disc(W, H, 8, 9, 5);
    const pixels = Array.from(mask.data).filter((v) => v === 1).length;
    expect(crossSectionalArea(mask, { spacingMm: [0.1, 0.2] })).toBeCloseTo(pixels * 0.02, 12);
    expect(crossSectionalArea(mask, { dpi: 150 })).toBeCloseTo(pixels * (25.4 / 150) ** 2, 12);
    expect(crossSectionalArea(scores, { dpi: 96 }, { threshold: 0.9 })).toBeLessThan(crossSectionalArea(scores, { dpi: 96 }));
  });

  it('takes { spacing } as mm per pixel too, the name of the first API, and undefined keys as absent', () => {
    const mask = disc(W, H, 8, 9, 5);
    const area = crossSectionalArea(mask, { spacingMm: [0.1, 0.2] });
    expect(crossSectionalArea(mask, { spacing: [0.1, 0.2] })).toBe(area);
    expect(crossSectionalArea(mask, { spacingMm: [0.1, 0.2], dpi: undefined } as never)).toBe(area);
    expect(mmPerPixel({ spacing: [0.3, 0.4] })).toEqual([0.3, 0.4]);
  });

  it('of a mask predicted on a resized image: spacingAfterResize scales the spacing back', () => {
    // A 534x512 image at 0.1 mm/pixel, segmented at 128x128: each mask pixel is 0.4 x 0.417 mm.
    const [dy, dx] = spacingAfterResize({ spacingMm: [0.1, 0.1] }, { width: 534, height: 512 }, { width: 128, height: 128 });
    expect(dy).toBeCloseTo(0.4, 12);
    expect(dx).toBeCloseTo(0.1 * 534 / 128, 12);
    const mask = disc(128, 128, 64, 64, 20);
    const pixels = Array.from(mask.data).filter((v) => v === 1).length;
    expect(crossSectionalArea(mask, { spacingMm: [dy, dx] })).toBeCloseTo(pixels * dy * dx, 9);
    expect(() => spacingAfterResize({ dpi: 96 }, { width: 0, height: 1 }, { width: 1, height: 1 })).toThrow(/original\.width must be an integer >= 1/);
  });
});
