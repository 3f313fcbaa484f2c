/** loss.svg: each model's training loss per epoch, to show whether training had converged. */
import { summarize } from '@sa-unet/seg-metrics';
import { renderLineChartSvg } from './line-chart.js';
import { MODEL_TITLES } from './paper.js';
import type { CompareResults } from './results.js';
import { counted } from '../plural.js';

/** loss.svg: the mean training loss of each epoch, averaged over repeats, one curve per model. */
export function renderLossSvg(r: CompareResults): Promise<string> {
  const epochs = r.config.epochs;
  const points = r.models.flatMap((m) => Array.from({ length: epochs }, (_, e) => ({
    series: MODEL_TITLES[m.model],
    x: e + 1,
    // NaN-skipping: a diverged repeat (NaN loss) leaves the others' mean; an epoch with none is left out.
    y: summarize(m.repeats.map((rep) => rep.epochLosses[e] ?? NaN)).mean,
  })).filter((p) => Number.isFinite(p.y)));
  return renderLineChartSvg({
    title: `Training loss per epoch (mean over ${counted(r.config.repeats, 'repeat')})`,
    x: { title: 'Epoch', domain: [1, Math.max(epochs, 2)], tickMinStep: 1 },
    y: { title: 'Dice loss on the training batches (1 - soft Dice)', domain: [0, 1] },
    points,
    dots: epochs <= 30,
    legend: 'top-right',
  });
}
