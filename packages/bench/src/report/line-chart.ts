/** One Vega line chart with a curve per series, shared by the run's figures (roc.svg, loss.svg). */
import * as vega from 'vega';

/** What {@link renderLineChartSvg} draws. */
export interface LineChart {
  /** Title above the plot. */
  title: string;
  /** The x axis: its title and its fixed range. */
  x: { title: string; domain: [number, number]; tickMinStep?: number };
  /** The y axis: its title and its fixed range. */
  y: { title: string; domain: [number, number] };
  /** The curves' points; each series is drawn in the order of its points. */
  points: { series: string; x: number; y: number }[];
  /** A dashed grey reference line through these points (e.g. a ROC plot's chance diagonal). */
  reference?: { x: number; y: number }[];
  /** Mark each point with a dot too (for curves of few points, which a line alone hides). */
  dots?: boolean;
  /** Where the legend goes. */
  legend: 'bottom-right' | 'top-right';
}

/** The chart as an SVG document. */
export async function renderLineChartSvg(chart: LineChart): Promise<string> {
  const values = chart.points.map((p, order) => ({ ...p, order }));
  const position = { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' } };
  const curveMarks: vega.Mark[] = [{
    type: 'line',
    from: { data: 'curve' },
    sort: { field: 'datum.order' },
    encode: { enter: { ...position, stroke: { scale: 'color', field: 'series' }, strokeWidth: { value: 2 } } },
  }];
  if (chart.dots) {
    curveMarks.push({
      type: 'symbol',
      from: { data: 'curve' },
      encode: { enter: { ...position, fill: { scale: 'color', field: 'series' }, size: { value: 16 } } },
    });
  }
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 420,
    height: 420,
    padding: 8,
    title: { text: chart.title, fontSize: 13 },
    data: [
      { name: 'curves', values },
      { name: 'reference', values: chart.reference ?? [] },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: chart.x.domain, range: 'width', nice: false, zero: false },
      { name: 'y', type: 'linear', domain: chart.y.domain, range: 'height', nice: false, zero: false },
      { name: 'color', type: 'ordinal', domain: { data: 'curves', field: 'series' }, range: 'category' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: chart.x.title, grid: true, tickCount: 5, ...(chart.x.tickMinStep ? { tickMinStep: chart.x.tickMinStep } : {}) },
      { orient: 'left', scale: 'y', title: chart.y.title, grid: true, tickCount: 5 },
    ],
    // labelLimit 0: Vega cuts labels at 160 px by default, which hid the end of the longer ones.
    legends: [{ stroke: 'color', title: 'model', orient: chart.legend, fillColor: 'white', padding: 6, symbolType: 'stroke', labelLimit: 0 }],
    marks: [
      {
        type: 'line',
        from: { data: 'reference' },
        encode: { enter: { ...position, stroke: { value: '#bbb' }, strokeDash: { value: [4, 4] } } },
      },
      {
        type: 'group',
        from: { facet: { name: 'curve', data: 'curves', groupby: 'series' } },
        marks: curveMarks,
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
