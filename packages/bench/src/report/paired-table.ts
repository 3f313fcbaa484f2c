/** table.md's section of SA-U-Net against each model, paired by repeat (`paired` of results.json). */
import { MODEL_TITLES } from './paper.js';
import { pValue, signedMeanSd } from './format.js';
import type { AggregatedMetric, CompareResults } from './results.js';
import { PAIRED_METRICS } from '../eval/paired.js';

/** The paired metrics' names in the table, as Table 3 writes them. */
const METRIC_TITLES: Partial<Record<AggregatedMetric, string>> = { dice: 'DSC', hausdorff: 'HD (px)' };

/**
 * SA-U-Net against each model, paired by repeat (DSC and HD: the metrics of Table 3): whether one
 * run's ranking holds over the repeats. Nothing where no pair has two repeats.
 */
export function pairedSection(r: CompareResults): string[] {
  const paired = r.paired ?? [];
  if (!paired.some((c) => c.difference.count >= 2)) return [];
  const header = PAIRED_METRICS.map(({ metric, higherIsBetter }) => `${METRIC_TITLES[metric] ?? metric}: SA-U-Net − model | SA-U-Net ${higherIsBetter ? 'higher' : 'lower'} | p`);
  // Parameter counts beside the differences: a comparison at about equal counts (--base-filters unet=4) reads as one.
  const params = (model: string) => r.models.find((m) => m.model === model)?.params.toLocaleString('en-US') ?? 'n/a';
  const lines = [`## ${MODEL_TITLES['sa-unet']} against each model, paired by repeat`, '',
    `| model | parameters (SA-U-Net: ${params('sa-unet')}) | ${header.join(' | ')} |`, `|---|---:|${PAIRED_METRICS.map(() => '---|---|---|').join('')}`];
  for (const model of new Set(paired.map((c) => c.model))) {
    const cells = PAIRED_METRICS.map(({ metric }) => {
      const c = paired.find((p) => p.model === model && p.metric === metric);
      return c === undefined ? ['n/a', 'n/a', 'n/a'] : [signedMeanSd(c.difference, 3), `${c.referenceBetter} of ${c.difference.count}`, pValue(c.signedRank.pValue)];
    });
    lines.push(`| ${MODEL_TITLES[model]} | ${params(model)} | ${cells.flat().join(' | ')} |`);
  }
  lines.push('');
  lines.push('Repeat r of every model has the same seed, so the same batch order and shears on the same split: each repeat gives one paired ' +
    'difference: mean ± SD over the repeats; p: the two-sided Wilcoxon signed-rank test of those differences (exact; zero differences dropped). ' +
    'With n repeats no p falls below 2/2^n (3: 0.25, 5: 0.0625, 6: 0.031): fewer than 6 repeats cannot show a difference at the 5% level. The paper ran 20.');
  lines.push('');
  return lines;
}
