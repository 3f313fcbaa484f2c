/** Progress bars (cli-progress) on stderr; silent when quiet. */
import cliProgress from 'cli-progress';
import type { TrainProgress } from './train/trainer.js';

export interface Progress {
  start(total: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const silent: Progress = { start() {}, update() {}, stop() {} };

/** A bar with the given cli-progress format ({bar}, {value}, {total}, {eta_formatted} and payload keys). */
export function progressBar(format: string, enabled: boolean): Progress {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar({
    format,
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 15000,
    etaBuffer: 30,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  return {
    start: (total, payload) => bar.start(total, 0, payload),
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}

/** Seconds as cli-progress shows an ETA ("45s", "3m05s", "1h02m"); "?" before there is a rate. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Training steps (batches) done so far in the run. */
export function stepsDone(p: TrainProgress): number {
  return (p.epoch - 1) * p.batches + p.batch;
}

/** "epoch 3/8 | loss 0.8123 | 7.5 img/s | ETA 1m05s", the ETA from the run's own rate. */
export function trainingStatus(p: TrainProgress, batchSize: number): string {
  const remainingImages = (p.epochs * p.batches - stepsDone(p)) * batchSize;
  return `epoch ${p.epoch}/${p.epochs} | loss ${p.loss.toFixed(4)} | ${p.imagesPerSecond.toFixed(1)} img/s | ETA ${formatEta(remainingImages / p.imagesPerSecond)}`;
}

/** One line on stderr (unless quiet). */
export function log(enabled: boolean, message: string): void {
  if (enabled) process.stderr.write(`${message}\n`);
}
