/** How far training got, as the report shows it: the final-loss column and loss.svg. */
import { describe, expect, it } from 'vitest';
import { finalTrainLoss, renderCsv, renderLossSvg, renderMarkdown, type CompareResults, type ModelResult, type RepeatResult } from '@sa-unet/bench';
import { summarize } from '@sa-unet/seg-metrics';

const METRICS = { precision: 0.5, recall: 0.5, specificity: 0.9, dice: 0.5, iou: 0.33, hausdorff: 4, hausdorff95: 3, assd: 1, surfaceDice: 0.5,
  pixelAucMicro: 0.9, pixelAucMacro: 0.9, zeroOverlapRate: 0, skipped: {} };

function repeat(n: number, epochLosses: number[]): RepeatResult {
  return { repeat: n, seed: n + 1, epochLosses, epochSeconds: epochLosses.map(() => 1), trainImagesPerSecond: 4, peakRssMB: 100,
    metrics: METRICS, roc: { fpr: [0, 1], tpr: [0, 1] }, checkpoint: `checkpoints/x/repeat-${n}` };
}

function model(name: ModelResult['model'], losses: number[][]): ModelResult {
  const repeats = losses.map((l, i) => repeat(i + 1, l));
  const aggregate = Object.fromEntries(Object.entries(METRICS).filter(([k]) => k !== 'skipped').map(([k, v]) => [k, summarize(repeats.map(() => v as number))]));
  return { model: name, params: 1000, trainableParams: 900, inference: { medianMs: 1, p90Ms: 1, firstMs: 2, runs: 20, backend: 'wasm' },
    repeats, aggregate: aggregate as ModelResult['aggregate'], secondsPerEpoch: 1 };
}

function results(models: ModelResult[], epochs: number): CompareResults {
  return {
    tool: '@sa-unet/bench compare', date: '2026-12-03T00:00:00.000Z', node: 'v20', backend: { name: 'wasm', description: 'wasm' },
    config: { command: 'compare', preset: 'quick', size: 64, epochs, repeats: models[0].repeats.length, batchSize: 4, learningRate: 5e-4, shearDegrees: 15,
      baseFilters: 16, phantomCount: 80, recalibrateBatchNorm: false, channelAttention: true, models: models.map((m) => m.model), data: null, testData: null,
      label: null, testFraction: 0.2, seed: 1, backend: 'wasm' },
    dataset: { source: 'phantom', size: 64, train: 8, test: 2, testNames: ['a', 'b'] },
    models, wallSeconds: 1,
  };
}

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
