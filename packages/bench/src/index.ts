/**
 * `@sa-unet/bench`: the SA-U-Net paper's comparison, end to end, as a library and as the
 * `sa-unet-bench` command.
 *
 * @packageDocumentation
 */
export { runCompare, type RawCompareOptions } from './commands/compare.js';
export { runTrain, type TrainCommandOptions } from './commands/train.js';
export { runEvaluate, renderEvaluation, type EvaluateCommandOptions, type EvaluateResult } from './commands/evaluate.js';
export { loadSavedModel, readSavedModel, buildSavedModel, type SavedModel, type SavedModelFiles } from './commands/saved-model.js';
export { pairedComparisons, pairBySeed, seedPairs, signedRankTest, EXACT_MAX_N, PAIRED_METRICS, PAIRABLE_METRICS, type PairedComparison, type PairedMetric, type SignedRankTest } from './eval/paired.js';
export { perImageScores, imagesCsv, type ImageScores } from './eval/per-image.js';
export { areaAgreement, areaAtModelSize, renderAreaAgreement, type AreaAgreement } from './eval/areas.js';
export { runLatency, measureModel, renderLatencyTable, type LatencyOptions, type LatencyRow, type LatencyJob } from './commands/latency.js';
export { runParams, paramsByWidth } from './commands/params.js';
export { runPaired, type PairedCommandOptions, type PairedRuns, type PairedRunsModel, type PairedRunsMetric, type DifferingOption, type RunSummary } from './commands/paired.js';
export { renderPairedRuns } from './report/paired-runs.js';
export { runRecalibrate, type RecalibrateCommandOptions, type RecalibrateResult } from './commands/recalibrate.js';
export { runSegment, runSegmentImages, segmentImage, segmentationCsv, type Segmentation, type SegmentedImage, type SegmentCommandOptions } from './commands/segment.js';
export { resolveRunOptions, parseModels, type RunOptions, type RawRunOptions, type DataOptions } from './commands/options.js';
export { selectBackend, BACKEND_CHOICES, BACKEND_NAMES, type BackendChoice, type ActiveBackend } from './backend.js';
export { listImages, loadFolder, loadPairs, pairFiles, type Dataset, type Sample, type FolderOptions } from './data/dataset.js';
export { readGrayImage, readLabelImage, type GrayImage, type LabelImage } from './data/decode.js';
export type { ExifOrientation } from './data/orientation.js';
export { phantomDataset, phantomSample } from './data/phantom.js';
export { sampleTraining, splitDataset, type Split } from './data/split.js';
export { shearBatch, shearTransform, drawShears } from './train/augment.js';
export { trainModel, type TrainOptions, type TrainProgress, type TrainResult } from './train/trainer.js';
export { copyWeights } from './train/initial-weights.js';
export { PRESETS, baseFiltersOf, type Protocol, type PresetName } from './train/presets.js';
export { predictSamples, inferenceLatency } from './eval/predict.js';
export type { Latency } from './eval/timing.js';
export { scorePredictions, type TestScores, type PlotCurve } from './eval/score.js';
export { renderMarkdown, renderCsv } from './report/tables.js';
export { renderRocSvg } from './report/roc-svg.js';
export { renderLossSvg } from './report/loss-svg.js';
export { renderOverlay } from './report/overlay.js';
export { AGGREGATED, AREA_AGGREGATED, finalTrainLoss } from './report/results.js';
export type { CompareResults, ModelResult, RepeatResult, RepeatMetrics, RunConfig, AggregatedMetric, AreaMetric } from './report/results.js';
export { mulberry32, withSeededMathRandom } from './random.js';
