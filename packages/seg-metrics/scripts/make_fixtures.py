#!/usr/bin/env python3
"""Reference values for @sa-unet/seg-metrics, computed with numpy, scipy and scikit-learn.

Usage (Debian: apt-get install python3-scipy python3-sklearn):
    /usr/bin/python3 scripts/make_fixtures.py test/fixtures/reference.json

Each case has a score map (pred = score > 0.5), a binary truth and a pixel spacing [dy, dx], and
the expected confusion counts, ratios (NaN when the denominator is 0), Hausdorff distance, HD95,
average symmetric surface distance (Infinity when one mask is empty, NaN when both are), surface
Dice at tolerances 0, 1 and 2 spacing units (0 when one mask is empty, NaN when both are), and the
ROC curve and AUC (NaN when truth has a single class). Definitions:
  boundary = mask & ~binary_erosion(mask, 4-connected cross, border_value=0)
  directed distances = distance_transform_edt(~boundary_other, sampling=spacing) at boundary pixels
  HD = max of both directed maxima; HD95 = max of both directed np.percentile(..., 95) (linear)
  ASSD = mean of both directed distance sets concatenated
  surface Dice at t = (#(d_pred->truth <= t) + #(d_truth->pred <= t)) / (#boundary pred + #boundary truth)
  AUC = sklearn.metrics.roc_auc_score; ROC = sklearn.metrics.roc_curve(drop_intermediate=False)
"""
import json
import sys

import numpy as np
from scipy import ndimage
from sklearn.metrics import roc_auc_score, roc_curve

CROSS = ndimage.generate_binary_structure(2, 1)


def boundary(mask):
    return mask & ~ndimage.binary_erosion(mask, structure=CROSS, border_value=0)


TOLERANCES = (0.0, 1.0, 2.0)


def surface(pred, truth, spacing):
    """HD, HD95, ASSD and the surface Dice at each of TOLERANCES."""
    bp, bt = boundary(pred), boundary(truth)
    if not bp.any() and not bt.any():
        return float('nan'), float('nan'), float('nan'), [float('nan')] * len(TOLERANCES)
    if not bp.any() or not bt.any():
        return float('inf'), float('inf'), float('inf'), [0.0] * len(TOLERANCES)
    d_pt = ndimage.distance_transform_edt(~bt, sampling=spacing)[bp]
    d_tp = ndimage.distance_transform_edt(~bp, sampling=spacing)[bt]
    hd = max(d_pt.max(), d_tp.max())
    hd95 = max(np.percentile(d_pt, 95), np.percentile(d_tp, 95))
    assd = np.concatenate([d_pt, d_tp]).mean()
    nsd = [float(((d_pt <= t).sum() + (d_tp <= t).sum()) / (d_pt.size + d_tp.size)) for t in TOLERANCES]
    return float(hd), float(hd95), float(assd), nsd


def ratio(num, den):
    return float(num) / den if den else float('nan')


def disc(h, w, cy, cx, r):
    y, x = np.mgrid[0:h, 0:w]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def number(v):
    if np.isnan(v):
        return 'NaN'
    if np.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return float(v)


def make_case(name, scores, truth, spacing):
    pred = scores > 0.5
    truth = truth.astype(bool)
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    tn = int((~pred & ~truth).sum())
    hd, hd95, assd, nsd = surface(pred, truth, spacing)
    case = {
        'name': name,
        'height': int(truth.shape[0]),
        'width': int(truth.shape[1]),
        'spacing': [float(s) for s in spacing],
        'scores': [round(float(v), 4) for v in scores.ravel()],
        'truth': ''.join('1' if v else '0' for v in truth.ravel()),
        'expected': {
            'tp': tp, 'fp': fp, 'fn': fn, 'tn': tn,
            'precision': number(ratio(tp, tp + fp)),
            'recall': number(ratio(tp, tp + fn)),
            'specificity': number(ratio(tn, tn + fp)),
            'dice': number(ratio(2 * tp, 2 * tp + fp + fn)),
            'iou': number(ratio(tp, tp + fp + fn)),
            'hausdorff': number(hd),
            'hausdorff95': number(hd95),
            'assd': number(assd),
            'surfaceDice': {'tolerances': list(TOLERANCES), 'values': [number(v) for v in nsd]},
        },
    }
    y = truth.ravel().astype(int)
    s = np.round(scores.ravel().astype(np.float64), 4)
    if 0 < y.sum() < y.size:
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        case['expected']['auc'] = float(roc_auc_score(y, s))
        # scikit-learn 1.2 puts max(score) + 1 first; 1.3+ puts inf: compare from index 1.
        case['expected']['roc'] = {'fpr': [round(v, 10) for v in fpr.tolist()], 'tpr': [round(v, 10) for v in tpr.tolist()],
                                   'thresholds': thr[1:].tolist()}
    else:
        case['expected']['auc'] = 'NaN'
    return case


def main(out):
    rng = np.random.default_rng(20261126)
    cases = []
    spacings = [(1.0, 1.0), (0.5, 1.25), (2.0, 0.75)]
    # Random masks and scores, with ties (scores quantised) and without.
    for i in range(150):
        h, w = int(rng.integers(3, 25)), int(rng.integers(3, 25))
        density = rng.uniform(0.05, 0.6)
        truth = rng.random((h, w)) < density
        noise = rng.random((h, w))
        scores = np.clip(0.6 * truth + 0.7 * noise - 0.15, 0, 1)
        if i % 2 == 0:
            scores = np.round(scores * 8) / 8  # many ties
        cases.append(make_case(f'random-{i}', scores, truth, spacings[i % 3]))
    # Structured: discs of varying size and place, predictions shifted, scaled or missed.
    for i in range(90):
        h, w = int(rng.integers(10, 25)), int(rng.integers(10, 25))
        r = rng.uniform(1, min(h, w) / 3)
        cy, cx = rng.uniform(0, h - 1), rng.uniform(0, w - 1)
        truth = disc(h, w, cy, cx, r)
        kind = i % 6
        if kind == 0:
            pred = disc(h, w, cy + rng.integers(-3, 4), cx + rng.integers(-3, 4), r)
        elif kind == 1:
            pred = disc(h, w, cy, cx, r * rng.uniform(0.5, 1.5))
        elif kind == 2:
            pred = disc(h, w, rng.uniform(0, h - 1), rng.uniform(0, w - 1), rng.uniform(1, 4))  # often disjoint
        elif kind == 3:
            pred = truth.copy()
        elif kind == 4:
            pred = np.zeros((h, w), bool)  # missed nerve
        else:
            pred = ndimage.binary_dilation(truth, iterations=int(rng.integers(1, 3)))
        scores = np.where(pred, rng.uniform(0.51, 1.0, (h, w)), rng.uniform(0.0, 0.5, (h, w)))
        cases.append(make_case(f'disc-{i}-kind{kind}', scores, truth, spacings[i % 3]))
    # Every empty-mask combination, on a few sizes, and masks filling the image or touching its border.
    for h, w in [(1, 1), (5, 7), (12, 9)]:
        empty = np.zeros((h, w), bool)
        full = np.ones((h, w), bool)
        blob = np.zeros((h, w), bool)
        blob[: max(1, h // 2), : max(1, w // 2)] = True
        for name, pred, truth in [('both-empty', empty, empty), ('pred-empty', empty, blob), ('truth-empty', blob, empty),
                                  ('both-full', full, full), ('full-vs-blob', full, blob), ('blob-vs-full', blob, full)]:
            scores = np.where(pred, 0.9, 0.1)
            cases.append(make_case(f'{name}-{h}x{w}', scores, truth, (1.0, 1.0)))
    # Constant scores (all ties) and single pixels.
    for i in range(6):
        h, w = 6 + i, 5 + i
        truth = rng.random((h, w)) < 0.3
        cases.append(make_case(f'constant-scores-{i}', np.full((h, w), 0.3 + 0.1 * i), truth, spacings[i % 3]))
        single_t = np.zeros((h, w), bool)
        single_t[int(rng.integers(0, h)), int(rng.integers(0, w))] = True
        single_p = np.zeros((h, w), bool)
        single_p[int(rng.integers(0, h)), int(rng.integers(0, w))] = True
        cases.append(make_case(f'single-pixels-{i}', np.where(single_p, 0.8, 0.2), single_t, spacings[i % 3]))
    with open(out, 'w') as f:
        json.dump({'generator': 'scripts/make_fixtures.py', 'numpy': np.__version__,
                   'cases': cases}, f, separators=(',', ':'))
    print(f'wrote {len(cases)} cases to {out}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/reference.json')
