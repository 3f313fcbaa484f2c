/** roc.svg: one pixel ROC curve per model (as the paper's Fig. 3). */
import { renderLineChartSvg } from './line-chart.js';
import { MODEL_TITLES } from './paper.js';
import type { CompareResults } from './results.js';

/** roc.svg: the pooled pixel ROC curve of each model's first repeat, its AUC in the legend. */
export function renderRocSvg(r: CompareResults): Promise<string> {
  const points = r.models.flatMap((m) => {
    const curve = m.repeats[0]?.roc ?? { fpr: [], tpr: [] };
    const series = `${MODEL_TITLES[m.model]} (AUC ${m.repeats[0]?.metrics.pixelAucMicro.toFixed(4) ?? 'n/a'})`;
    return curve.fpr.map((x, i) => ({ series, x, y: curve.tpr[i] }));
  });
  return renderLineChartSvg({
    title: 'Pixel ROC on the test set (repeat 1, all test pixels pooled)',
    x: { title: 'False-positive rate (1 - specificity)', domain: [0, 1] },
    y: { title: 'True-positive rate (sensitivity)', domain: [0, 1] },
    points,
    reference: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
    legend: 'bottom-right',
  });
}
