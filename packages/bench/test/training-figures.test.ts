/** How far training got, as the report shows it: the final-loss column and loss.svg. */
import { describe, expect, it } from 'vitest';
import { finalTrainLoss, renderCsv, renderLossSvg, renderMarkdown } from '@sa-unet/bench';
import { model, results } from './helpers.js';

/** The points of each line in an SVG drawn by Vega, in pixels. */
function linePaths(svg: string): number[][][] {
  const group = svg.slice(svg.indexOf('role-scope'));
  return [...group.matchAll(/<path d="M([^"]+)" stroke=/g)].map((m) => m[1].split('L').map((p) => p.split(',').map(Number)));
}

describe('final training loss', () => {
  it('is the last epoch\'s loss, mean and SD over repeats, in Table 2 and the CSV', () => {
    const r = results([model('unet', [[0.9, 0.5], [0.8, 0.3]]), model('sa-unet', [[0.95, 0.7], [0.9, 0.7]])], 2);
    expect(finalTrainLoss(r.models[0])).toMatchObject({ mean: 0.4, count: 2 });
    expect(finalTrainLoss(r.models[0]).sd).toBeCloseTo(Math.SQRT2 / 10, 12);
    const md = renderMarkdown(r);
    expect(md).toContain('| train s/epoch | final train loss |');
    expect(md).toMatch(/\| U-Net \|.*\| 0\.400 ± 0\.141 \|\n/);
    expect(md).toMatch(/\| SA-U-Net \(proposed\) \|.*\| 0\.700 ± 0\.000 \|\n/);
    const [header, unet] = renderCsv(r).trim().split('\n').map((line) => line.split(','));
    expect(Number(unet[header.indexOf('final_train_loss_mean')])).toBeCloseTo(0.4, 12);
    expect(Number(unet[header.indexOf('final_train_loss_sd')])).toBeCloseTo(Math.SQRT2 / 10, 12);
  });

  it('of one repeat has no SD', () => {
    const md = renderMarkdown(results([model('unet', [[0.9, 0.25]])], 2));
    expect(md).toMatch(/\| U-Net \|.*\| 0\.250 \|\n/);
  });
});

describe('loss.svg', () => {
  it('draws each model\'s mean loss per epoch on a 0..1 scale, epochs across', async () => {
    // 420 x 420 plot: epoch 1 at x 0, epoch 3 at x 420; loss 1 at y 0, loss 0 at y 420.
    const r = results([model('unet', [[0.9, 0.6, 0.3], [0.7, 0.4, 0.1]]), model('sa-unet', [[1, 0.5, 0]])], 3);
    const svg = await renderLossSvg(r);
    expect(svg.startsWith('<svg')).toBe(true);
    const [unet, sa] = linePaths(svg);
    expect(unet).toEqual([[0, 84], [210, 210], [420, 336]]);
    expect(sa).toEqual([[0, 0], [210, 210], [420, 420]]);
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(expect.arrayContaining(['U-Net', 'SA-U-Net (proposed)', 'Training loss per epoch (mean over 2 repeats)', 'Epoch']));
  });

  it('draws one epoch as a dot', async () => {
    const svg = await renderLossSvg(results([model('unet', [[0.5]])], 1));
    expect(svg).toMatch(/mark-symbol role-mark[^>]*><path transform="translate\(0,210\)"/);
  });
});
