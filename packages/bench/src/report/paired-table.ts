/** table.md's section of SA-U-Net against each model, paired by repeat (`paired` of results.json). */
import { MODEL_TITLES } from './paper.js';
import { pValue, signedMeanSd } from './format.js';
import type { CompareResults } from './results.js';

/**
 * SA-U-Net against each model, paired by repeat (DSC and HD: the metrics of Table 3): whether one
 * run's ranking holds over the repeats. Nothing where no pair has two repeats.
 */
export function pairedSection(r: CompareResults): string[] {
  const paired = r.paired ?? [];
  if (!paired.some((c) => c.difference.count >= 2)) return [];
  const ref = MODEL_TITLES['sa-unet'];
  const lines = [`## ${ref} against each model, paired by repeat`, '',
    '| model | DSC: SA-U-Net − model | SA-U-Net higher | p | HD (px): SA-U-Net − model | SA-U-Net lower | p |', '|---|---|---|---|---|---|---|'];
  const models = [...new Set(paired.map((c) => c.model))];
  for (const model of models) {
    const cells = ['dice', 'hausdorff'].map((metric) => {
      const c = paired.find((p) => p.model === model && p.metric === metric);
      if (c === undefined) return ['n/a', 'n/a', 'n/a'];
      return [signedMeanSd(c.difference, 3), `${c.referenceBetter} of ${c.difference.count}`, pValue(c.signedRank.pValue)];
    });
    lines.push(`| ${MODEL_TITLES[model]} | ${cells.flat().join(' | ')} |`);
  }
  lines.push('');
  lines.push('Repeat r of every model has the same seed, so the same batch order and shears on the same split: each repeat gives one paired ' +
    'difference: mean ± SD over the repeats; p: the two-sided Wilcoxon signed-rank test of those differences (exact; zero differences dropped). ' +
    'With n repeats no p falls below 2/2^n (3: 0.25, 5: 0.0625, 6: 0.031): fewer than 6 repeats cannot show a difference at the 5% level. The paper ran 20.');
  lines.push('');
  return lines;
}
