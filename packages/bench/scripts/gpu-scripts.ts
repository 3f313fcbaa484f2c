/**
 * Every GPU script in one bundle: each bundle that ../shared/gpu/pack.sh makes carries all of tfjs
 * (3.7 MB), and what travels to the device machine must stay under 64 MiB. On the GPU machine:
 *   bash .gpu/run.sh .gpu/gpu-scripts.mjs gpu-measure --size 256 --out $OUT/gpu.json
 * runs scripts/gpu-measure.ts with the arguments after its name.
 */
export {};

const SCRIPTS: Record<string, () => Promise<unknown>> = {
  'gpu-measure': () => import('./gpu-measure.js'),
  'gpu-filter-grad': () => import('./gpu-filter-grad.js'),
  'gpu-conv-forward': () => import('./gpu-conv-forward.js'),
  'gpu-conv-scaling': () => import('./gpu-conv-scaling.js'),
  'gpu-flags': () => import('./gpu-flags.js'),
  'gpu-forward': () => import('./gpu-forward.js'),
  'gpu-fold': () => import('./gpu-fold.js'),
  'gpu-input-grad': () => import('./gpu-input-grad.js'),
  'gpu-adam': () => import('./gpu-adam.js'),
  'gpu-overhead': () => import('./gpu-overhead.js'),
  'dispatch-counts': () => import('./dispatch-counts.js'),
  'gpu-dispatch-cost': () => import('./gpu-dispatch-cost.js'),
  'gpu-fusions': () => import('./gpu-fusions.js'),
  'gpu-reductions': () => import('./gpu-reductions.js'),
  'bind-group-cache': () => import('./bind-group-cache.js'),
  'replay-step': () => import('./replay-step.js'),
  'replay-throughput': () => import('./replay-throughput.js'),
  'gradient-memory': () => import('./gradient-memory.js'),
};

// The script parses process.argv itself: take its name out first.
const [script] = process.argv.splice(2, 1);
const load = script === undefined ? undefined : SCRIPTS[script];
if (load === undefined) {
  console.error(`usage: gpu-scripts.mjs ${Object.keys(SCRIPTS).join('|')} [arguments of that script]; got ${JSON.stringify(script ?? null)}`);
  process.exit(2);
}
await load();
