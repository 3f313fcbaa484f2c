/** The Markdown of `paired`: two results folders' runs against each other, model by model, paired by seed. */
import type { PairedRuns } from '../commands/paired.js';
import { meanSd, pValue, signedMeanSd } from './format.js';
import { MODEL_TITLES } from './paper.js';
import type { AggregatedMetric } from './results.js';

/** The metrics' names in the table (DSC and HD as Table 3 writes them). */
const METRIC_TITLES: Record<AggregatedMetric, string> = {
  precision: 'precision', recall: 'recall', specificity: 'specificity', dice: 'DSC', iou: 'IoU', hausdorff: 'HD (px)', hausdorff95: 'HD95 (px)',
  assd: 'ASSD (px)', surfaceDice: 'surface Dice (1 px)', pixelAucMicro: 'pixel AUC', pixelAucMacro: 'pixel AUC per image', zeroOverlapRate: 'zero-overlap rate',
};

/** An option's value as a reader expects it: JSON, with null as "none". */
function optionValue(v: unknown): string {
  return v === null || v === undefined ? 'none' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** "8 (2 to 9)" for consecutive seeds, "3 (2, 5, 7)" otherwise. */
function seedList(seeds: readonly number[]): string {
  if (seeds.length === 0) return 'none';
  const consecutive = seeds.every((s, i) => i === 0 || s === seeds[i - 1] + 1);
  return `${seeds.length} (${consecutive && seeds.length > 2 ? `${seeds[0]} to ${seeds.at(-1)}` : seeds.join(', ')})`;
}

/** "2026-12-06 09:13 UTC" from an ISO date. */
function when(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

/** The table of {@link PairedRuns}: the runs and the options they differ in, then each model's metrics, A against B. */
export function renderPairedRuns(p: PairedRuns): string {
  const { a, b } = p.runs;
  const lines = ['## A against B, paired by seed', '', '| | A | B |', '|---|---|---|',
    `| results folder | ${a.dir} | ${b.dir} |`, `| finished | ${when(a.date)} | ${when(b.date)} |`];
  for (const o of p.differingOptions) lines.push(`| ${o.option} | ${optionValue(o.a)} | ${optionValue(o.b)} |`);
  const { source, size, images, label } = p.testSet;
  const tested = `both scored on the same ${images} test images (${size}x${size}, ${source}${label === null ? '' : `, label ${label}`})`;
  lines.push('', p.differingOptions.length === 0
    ? `The same options, ${tested}: differences come from the code or the machine, not the protocol.`
    : `Other options the same; ${tested}.`, '');
  lines.push('| model | parameters (A / B) | seeds | metric | A | B | A − B | A better in | p |', '|---|---:|---|---|---|---|---|---|---|');
  for (const m of p.models) {
    for (const [i, c] of m.metrics.entries()) {
      const head = i === 0 ? [MODEL_TITLES[m.model], `${m.params.a.toLocaleString('en-US')} / ${m.params.b.toLocaleString('en-US')}`, seedList(m.seeds)] : ['', '', ''];
      const count = c.difference.count;
      lines.push(`| ${[...head, METRIC_TITLES[c.metric], meanSd(c.a, 3), meanSd(c.b, 3), signedMeanSd(c.difference, 3),
        count === 0 ? 'n/a' : `${c.aBetter} of ${count}${c.ties > 0 ? ` (${c.ties} equal)` : ''}`, pValue(c.signedRank.pValue)].join(' | ')} |`);
    }
  }
  lines.push('', 'Each pair: one seed\'s run in A and in B (the same split, batch order and shears where the options that decide them agree). ' +
    'A better: higher, or lower for a distance (HD, HD95, ASSD) and the zero-overlap rate. Mean ± SD over the paired seeds; p: the two-sided Wilcoxon signed-rank test of the differences ' +
    '(exact; zero differences dropped). With n seeds no p falls below 2/2^n (5: 0.0625, 6: 0.031, 8: 0.008).', '');
  return lines.join('\n');
}
