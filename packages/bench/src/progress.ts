/** Progress bars (cli-progress) on stderr; silent when quiet. */
import cliProgress from 'cli-progress';

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

/** One line on stderr (unless quiet). */
export function log(enabled: boolean, message: string): void {
  if (enabled) process.stderr.write(`${message}\n`);
}
