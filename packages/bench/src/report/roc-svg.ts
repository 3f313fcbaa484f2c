/** roc.svg: one pixel ROC curve per model (as the paper's Fig. 3), rendered by Vega. */
import * as vega from 'vega';
import { MODEL_TITLES } from './paper.js';
import type { CompareResults } from './results.js';

/** roc.svg: the pooled pixel ROC curve of each model's first repeat, its AUC in the legend. */
export async function renderRocSvg(r: CompareResults): Promise<string> {
  const values = r.models.flatMap((m) => {
    const curve = m.repeats[0]?.roc ?? { fpr: [], tpr: [] };
    const label = `${MODEL_TITLES[m.model]} (AUC ${m.repeats[0]?.metrics.pixelAucMicro.toFixed(4) ?? 'n/a'})`;
    return curve.fpr.map((fpr, i) => ({ model: label, fpr, tpr: curve.tpr[i], order: i }));
  });
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 420,
    height: 420,
    padding: 8,
    title: { text: 'Pixel ROC on the test set (repeat 1, all test pixels pooled)', fontSize: 13 },
    data: [
      { name: 'curves', values },
      { name: 'chance', values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, 1], range: 'width', nice: false, zero: true },
      { name: 'y', type: 'linear', domain: [0, 1], range: 'height', nice: false, zero: true },
      { name: 'color', type: 'ordinal', domain: { data: 'curves', field: 'model' }, range: 'category' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'False-positive rate (1 - specificity)', grid: true, tickCount: 5 },
      { orient: 'left', scale: 'y', title: 'True-positive rate (sensitivity)', grid: true, tickCount: 5 },
    ],
    // labelLimit 0: Vega cuts labels at 160 px by default, which hid the AUC of the longer names.
    legends: [{ stroke: 'color', title: 'model', orient: 'bottom-right', fillColor: 'white', padding: 6, symbolType: 'stroke', labelLimit: 0 }],
    marks: [
      {
        type: 'line',
        from: { data: 'chance' },
        encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, stroke: { value: '#bbb' }, strokeDash: { value: [4, 4] } } },
      },
      {
        type: 'group',
        from: { facet: { name: 'curve', data: 'curves', groupby: 'model' } },
        marks: [{
          type: 'line',
          from: { data: 'curve' },
          sort: { field: 'datum.order' },
          encode: { enter: {
            x: { scale: 'x', field: 'fpr' }, y: { scale: 'y', field: 'tpr' },
            stroke: { scale: 'color', field: 'model' }, strokeWidth: { value: 2 },
          } },
        }],
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
