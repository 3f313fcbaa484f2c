/** table.md and table.csv: the shapes of the paper's Tables 2 and 3, with the paper's numbers beside ours. */
import { MODEL_TITLES, PAPER_DATASETS, PAPER_INFERENCE, PAPER_PARAMS, PAPER_TABLE2, PAPER_TABLE3, PAPER_ZERO_OVERLAP } from './paper.js';
import { AGGREGATED, AREA_AGGREGATED, finalTrainLoss, type CompareResults, type RunConfig } from './results.js';
import { areaSection } from './area-table.js';
import { fixed, meanSd, percent } from './format.js';
import { pairedSection } from './paired-table.js';
import { baseFiltersOf, PRESETS } from '../train/presets.js';
import { counted } from '../plural.js';
import { csvText } from './csv.js';

/** The protocol's words for a --foreground-prior (nothing for none, the paper's zero bias). */
function priorNote(prior: number | 'auto' | null, trainFraction: number): string {
  if (prior === null) return '';
  const p = prior === 'auto' ? `${trainFraction.toPrecision(3)} (--foreground-prior auto: the training masks' foreground fraction)` : `${prior} (--foreground-prior)`;
  return ` Every output pixel started at foreground probability ${p}, the heads' bias at its logit; not in the paper.`;
}

/**
 * Where a run is smaller than the paper's protocol, what differs and how to read it: a table of 8
 * epochs at 64x64 is mostly how fast each network leaves the dice loss's first plateau (FINDINGS.md),
 * and a reader of one run's ranking should know that before comparing it with the paper's.
 */
function scaleNote(c: RunConfig): string {
  const paper = PRESETS.paper;
  const words: Record<'size' | 'epochs' | 'repeats', (v: number) => string> = {
    size: (v) => `${v}x${v}`, epochs: (v) => counted(v, 'epoch'), repeats: (v) => counted(v, 'repeat'),
  };
  const smaller = (Object.keys(words) as Array<keyof typeof words>).filter((key) => c[key] < paper[key])
    .map((key) => `${words[key](c[key])} (paper ${words[key](paper[key])})`);
  const narrower = baseWidths(c).filter((w) => w < paper.baseFilters);
  if (narrower.length > 0) {
    const range = narrower.length === 1 ? `base width ${narrower[0]}` : `base widths ${narrower[0]} to ${narrower.at(-1)}`;
    smaller.push(`${range} (paper base width ${paper.baseFilters})`);
  }
  if (smaller.length === 0) return '';
  return `- Scale: smaller than the paper's protocol: ${smaller.join(', ')}. A check of the pipeline, not a reproduction: networks this short of ` +
    'their training often have not converged (see the final train loss), and one run\'s ranking can change with the seed or more --epochs ' +
    '(packages/bench/FINDINGS.md).';
}

/** The base widths of a run's models, each once, ascending. */
function baseWidths(c: RunConfig): number[] {
  return [...new Set(c.models.map((m) => baseFiltersOf(c, m)))].sort((a, b) => a - b);
}

/** The networks' base widths in words: 'base width 16', or each model's where they differ (`--base-filters unet=4`). */
function baseWidthWords(c: RunConfig): string {
  const widths = baseWidths(c);
  if (widths.length <= 1) return `base width ${widths[0] ?? c.baseFilters}`;
  return `base widths ${c.models.map((m) => `${MODEL_TITLES[m]} ${baseFiltersOf(c, m)}`).join(', ')}`;
}

/** table.md: the run's data and protocol, then Tables 2 and 3 in the paper's shapes with its numbers beside ours. */
export function renderMarkdown(r: CompareResults): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(`# SA-U-Net bench: ${c.command}, preset ${c.preset}`);
  lines.push('');
  const train = c.trainImages != null
    ? `${r.dataset.train} of the ${r.dataset.trainAvailable} training images (--train-images: a seeded subset; not the paper's protocol)`
    : `${r.dataset.train} training images`;
  lines.push(`- Data: ${r.dataset.source}; ${train} and ${r.dataset.test} test images at ${r.dataset.size}x${r.dataset.size}` +
    `${c.label !== null ? `, foreground label ${c.label}` : ''}; ${(100 * r.dataset.trainForegroundFraction).toFixed(2)}% of the training pixels are foreground.`);
  lines.push(`- Protocol: Adam (learning rate ${c.learningRate}), batch ${c.batchSize}, dice loss, random shear ±${c.shearDegrees}° on x and y, ` +
    `${counted(c.epochs, 'epoch')}, ${counted(c.repeats, 'repeat')} with ${c.repeats === 1 ? `seed ${c.seed + 1}` : `seeds ${c.seed + 1}..${c.seed + c.repeats}`}; networks of ${baseWidthWords(c)}.` +
    (c.recalibrateBatchNorm ? ' Before testing, batch norm\'s moving statistics were re-estimated from the training images with the final weights (--recalibrate-bn; not in the paper).' : '') +
    (c.channelAttention === false ? ' SA-U-Net\'s layers had no channel attention (--no-channel-attention; an ablation, not in the paper).' : '') +
    priorNote(c.foregroundPrior ?? null, r.dataset.trainForegroundFraction));
  const scale = scaleNote(c);
  if (scale !== '') lines.push(scale);
  lines.push(`- Backend: ${r.backend.description}. Node ${r.node}. ${r.date}. Run time ${(r.wallSeconds / 60).toFixed(1)} min.`);
  lines.push(`- Metrics per test image at threshold 0.5, averaged over the test set, then mean ± SD over repeats. HD in pixels at ${r.dataset.size}x${r.dataset.size} ` +
    '(a missed nerve counts as the image diagonal). Pixel AUC pooled over all test pixels.');
  lines.push('');
  lines.push('## Table 2 (shape of the paper\'s): every model');
  lines.push('');
  lines.push('| model | parameters | precision | recall | DSC | HD (px) | pixel AUC | zero-overlap | inference ms/image | train s/epoch | final train loss |');
  lines.push('|---|---:|---|---|---|---|---|---|---:|---:|---|');
  for (const m of r.models) {
    const a = m.aggregate;
    lines.push(`| ${MODEL_TITLES[m.model]} | ${m.params.toLocaleString('en-US')} | ${meanSd(a.precision, 3)} | ${meanSd(a.recall, 3)} | ` +
      `${meanSd(a.dice, 3)} | ${meanSd(a.hausdorff, 3)} | ${meanSd(a.pixelAucMicro, 4)} | ${percent(a.zeroOverlapRate)} | ` +
      `${fixed(m.inference.medianMs, 1)} | ${fixed(m.secondsPerEpoch, 1)} | ${meanSd(finalTrainLoss(m), 3)} |`);
  }
  lines.push('');
  lines.push(`Inference: median of ${r.models[0]?.inference.runs ?? 0} calls at batch 1 after warm-up on ${r.backend.name}; ` +
    `first calls: ${r.models.map((m) => `${m.model} ${fixed(m.inference.firstMs, 0)} ms`).join(', ')}.`);
  lines.push('Final train loss: the mean dice loss over the last epoch\'s training batches, as trained (augmented, batch norm in training mode), ' +
    'mean ± SD over repeats; loss.svg plots every epoch. A loss still falling fast means training had not converged and more --epochs may change the ranking.');
  const peak = Math.max(...r.models.flatMap((m) => m.repeats.map((rep) => rep.peakRssMB ?? NaN)).filter(Number.isFinite));
  if (Number.isFinite(peak)) lines.push(`Peak memory while training: ${peak.toFixed(0)} MiB resident (the whole process, all threads).`);
  lines.push('');
  lines.push('Paper, proposed model, mean ± SD over 20 runs (their private data; HD in pixels of their images):');
  lines.push('');
  lines.push('| dataset | precision | recall | DSC | HD | AUC |');
  lines.push('|---|---|---|---|---|---|');
  for (const d of PAPER_DATASETS) {
    const p = PAPER_TABLE2[d];
    const f = ([m, s]: [number, number]) => `${m.toFixed(3)} ± ${s.toFixed(3)}`;
    lines.push(`| ${d} | ${f(p.precision)} | ${f(p.recall)} | ${f(p.dice)} | ${f(p.hausdorff)} | ${p.auc.toFixed(4)} |`);
  }
  lines.push('');
  lines.push(`Paper: ${PAPER_INFERENCE}; ${PAPER_PARAMS['sa-unet']} parameters (U-Net ${PAPER_PARAMS.unet}); zero-overlap ` +
    `${(PAPER_ZERO_OVERLAP['sa-unet'] * 100).toFixed(2)}% (proposed) vs ${PAPER_ZERO_OVERLAP.othersRange.map((v) => `${(v * 100).toFixed(2)}%`).join('-')} (others).`);
  lines.push('');
  lines.push('## Table 3 (shape of the paper\'s): DSC / HD');
  lines.push('');
  lines.push(`| model | this run | ${PAPER_DATASETS.map((d) => `paper, ${d}`).join(' | ')} |`);
  lines.push(`|---|---|${PAPER_DATASETS.map(() => '---|').join('')}`);
  for (const m of r.models) {
    const ours = `${fixed(m.aggregate.dice.mean, 3)} / ${fixed(m.aggregate.hausdorff.mean, 3)}`;
    lines.push(`| ${MODEL_TITLES[m.model]} | ${ours} | ${PAPER_TABLE3[m.model].map(([d, h]) => `${d.toFixed(3)} / ${h.toFixed(3)}`).join(' | ')} |`);
  }
  lines.push('');
  lines.push(...pairedSection(r));
  lines.push(...areaSection(r));
  return lines.join('\n');
}

/**
 * table.csv: one row per model, the mean and SD over repeats of every aggregated metric, the
 * parameters and the latency; then the area metrics, where the run had a pixel size.
 */
export function renderCsv(r: CompareResults): string {
  const areas = r.config.pixelSize != null ? AREA_AGGREGATED : [];
  const header = ['model', 'base_filters', 'params', 'trainable_params', 'repeats',
    ...AGGREGATED.flatMap((k) => [`${k}_mean`, `${k}_sd`]), 'inference_median_ms', 'inference_p90_ms', 'inference_first_ms', 'train_seconds_per_epoch',
    'final_train_loss_mean', 'final_train_loss_sd', 'backend', ...areas.flatMap((k) => [`${k}_mean`, `${k}_sd`])];
  const rows = r.models.map((m) => {
    const loss = finalTrainLoss(m);
    return [m.model, m.baseFilters, m.params, m.trainableParams, m.repeats.length, ...AGGREGATED.flatMap((k) => [m.aggregate[k].mean, m.aggregate[k].sd]),
      m.inference.medianMs, m.inference.p90Ms, m.inference.firstMs, m.secondsPerEpoch, loss.mean, loss.sd, m.inference.backend,
      ...areas.flatMap((k) => [m.areaAggregate?.[k].mean ?? NaN, m.areaAggregate?.[k].sd ?? NaN])];
  });
  return csvText([header, ...rows]);
}
