/** table.md's section on the cross-sectional areas' agreement per model (runs with a pixel size). */
import { describePixelSize } from '../eval/areas.js';
import { meanSd, percent, signed, signedMeanSd } from './format.js';
import { MODEL_TITLES } from './paper.js';
import type { CompareResults } from './results.js';

/**
 * The cross-sectional areas' agreement per model (runs with a pixel size; not one of the paper's
 * tables, but the measurement its clinical purpose needs): nothing for a run without one.
 */
export function areaSection(r: CompareResults): string[] {
  const pixelSize = r.config.pixelSize;
  if (pixelSize == null) return [];
  const lines = ['## Cross-sectional area (mm²)', '',
    '| model | predicted area | bias (prediction − mask) | 95% limits of agreement | absolute error | relative error |', '|---|---|---|---|---|---|'];
  for (const m of r.models) {
    const a = m.areaAggregate;
    if (a === undefined) continue;
    lines.push(`| ${MODEL_TITLES[m.model]} | ${meanSd(a.areaPredictedMm2, 2)} | ${signedMeanSd(a.areaBiasMm2, 2)} | ` +
      `${signed(a.areaLowerLimitMm2.mean, 2)} to ${signed(a.areaUpperLimitMm2.mean, 2)} | ${meanSd(a.areaAbsoluteErrorMm2, 2)} | ${percent(a.areaRelativeError)} |`);
  }
  lines.push('');
  // Every model is tested on the same images: the masks' area is any model's.
  const maskMm2 = r.models.find((m) => m.areaAggregate !== undefined)?.areaAggregate!.areaMaskMm2.mean ?? NaN;
  lines.push(`Areas at ${describePixelSize(pixelSize)} of the original images: each test image's mask and prediction (threshold 0.5) at ` +
    `${r.dataset.size}x${r.dataset.size}, each pixel counted as the original's pixel size scaled by the resize (as \`segment\` measures); ` +
    `the test masks' mean area ${Number.isNaN(maskMm2) ? 'n/a' : maskMm2.toFixed(2)} mm². Means over the test images, then mean ± SD over repeats; ` +
    'the limits of agreement are each repeat\'s bias ± 1.96 SD of its differences (Bland and Altman), averaged over repeats; ' +
    'the relative error counts the test images with a nerve only.');
  lines.push('');
  return lines;
}
