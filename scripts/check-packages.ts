/**
 * What we would publish, checked as a user gets it: every library is packed (`pnpm pack`, after
 * `pnpm build`), its tarball is checked (every entry point of package.json present, README and
 * LICENSE in, no `workspace:` ranges left, every import of its src declared), and the tarballs are
 * installed into a new project outside the workspace with the tfjs packages from the registry
 * (from pnpm's store where it can). There the repository's examples (the README and guide
 * snippets) typecheck against the published declarations under `moduleResolution: nodenext` and
 * run (every entry point's types resolve under node10 too); CommonJS `require` gets every package;
 * and the `sa-unet-bench` binary runs, a small comparison on two worker threads included. A
 * second project installs the libraries with npm beside the `@tensorflow/tfjs` bundle, as most
 * apps have tfjs, and checks that they share its class registry.
 *
 *   pnpm build && pnpm check:packages [--keep]
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { CompareResults } from '../packages/bench/src/report/results.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sa-unet-packages-'));
const keep = process.argv.includes('--keep');
const TFJS = '4.22.0';
const TFJS_PACKAGES = ['tfjs-core', 'tfjs-layers', 'tfjs-backend-cpu', 'tfjs-backend-wasm', 'tfjs-backend-webgpu'];

interface Manifest {
  name: string;
  private?: boolean;
  main?: string;
  module?: string;
  types?: string;
  unpkg?: string;
  jsdelivr?: string;
  bin?: Record<string, string>;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const problems: string[] = [];
const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

/** Every file path an entry-point field of package.json names. */
function entryPoints(m: Manifest): string[] {
  const paths: string[] = [m.main, m.module, m.types, m.unpkg, m.jsdelivr, ...Object.values(m.bin ?? {})].filter((p): p is string => p !== undefined);
  const walk = (v: unknown): void => {
    if (typeof v === 'string') paths.push(v);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(m.exports);
  return [...new Set(paths.map((p) => p.replace(/^\.\//, '')))];
}

// Imports a package's src may make without declaring them: the bench's loader of its worker when it
// runs from source, which only happens under tsx (the built package starts dist/worker.js).
const SOURCE_ONLY_IMPORTS: Record<string, Record<string, string[]>> = { '@sa-unet/bench': { 'src/worker-source.mjs': ['tsx'] } };

/**
 * Bare imports of a package's src that its manifest does not declare: tsup bundles such a module
 * into dist (a devDependency, say) where users get neither its updates nor its license notice.
 */
function undeclaredImports(dir: string, m: Manifest): string[] {
  const declared = new Set([m.name, ...Object.keys({ ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies })]);
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) {
        const { importedFiles } = ts.preProcessFile(readFileSync(join(dir, path), 'utf8'), true, true);
        for (const { fileName: spec } of importedFiles) {
          if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
          const name = spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
          if (!declared.has(name) && !SOURCE_ONLY_IMPORTS[m.name]?.[path]?.includes(name)) found.push(`${path} imports ${name}`);
        }
      }
    }
  };
  walk('src');
  return found;
}

function packAll(): Map<string, string> {
  const tarballs = new Map<string, string>();
  const packs = join(work, 'packs');
  mkdirSync(packs);
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest;
    if (manifest.private) continue;
    const before = new Set(readdirSync(packs));
    run('pnpm', ['pack', '--pack-destination', packs], join(root, 'packages', dir));
    const tarball = join(packs, readdirSync(packs).find((f) => !before.has(f))!);
    tarballs.set(manifest.name, tarball);

    const files = new Set(run('tar', ['tzf', tarball], root).split('\n').map((f) => f.replace(/^package\//, '')));
    for (const path of [...entryPoints(manifest), 'README.md', 'LICENSE', 'package.json']) {
      if (!files.has(path)) problems.push(`${manifest.name}: ${path} is not in the tarball`);
    }
    for (const f of files) if (/(^|\/)test\//.test(f)) problems.push(`${manifest.name}: test file ${f} is in the tarball`);
    const packed = JSON.parse(run('tar', ['xzf', tarball, '-O', 'package/package.json'], root)) as Manifest;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
      for (const [dep, range] of Object.entries(packed[field] ?? {})) {
        if (range.startsWith('workspace:')) problems.push(`${manifest.name}: ${field}.${dep} is still ${range}`);
      }
    }
    for (const found of undeclaredImports(join(root, 'packages', dir), manifest)) {
      problems.push(`${manifest.name}: ${found}, which package.json does not declare (tsup would bundle it)`);
    }
    console.log(`packed ${manifest.name}: ${files.size} files`);
  }
  return tarballs;
}

const CJS_CHECK = `const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-layers');
require('@tensorflow/tfjs-backend-cpu');
const layer = require('@sa-unet/scale-attn-conv');
const { fileSystem } = require('@sa-unet/scale-attn-conv/node');
const zoo = require('@sa-unet/unet-zoo');
const metrics = require('@sa-unet/seg-metrics');
const kernels = require('@sa-unet/tfjs-kernels');
(async () => {
  await tf.setBackend('cpu');
  kernels.registerTrainingKernels();
  const model = zoo.createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 4, depth: 2 });
  if (!model.layers.some((l) => l instanceof layer.ScaleAttentionalConv2D)) throw new Error('CommonJS: no ScaleAttentionalConv2D in the SA-U-Net');
  if (typeof fileSystem !== 'function' || metrics.dice({ data: [1, 0], width: 2, height: 1 }, { data: [1, 0], width: 2, height: 1 }) !== 1) throw new Error('CommonJS: wrong exports');
  console.log('CommonJS: every package loads;', model.countParams(), 'parameters in a small SA-U-Net');
})().catch((e) => { console.error(e); process.exit(1); });
`;

const ESM_CHECK = `import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { saveExampleModel } from './examples/layer-quickstart.js';
import { scoreNerve } from './examples/metrics.js';
import { useGpuIfPresent } from './examples/webgpu-setup.js';
import { nerveAndVesselModel } from './examples/zoo-headless.js';
import { trainSaUnet } from './examples/zoo-train.js';

const dir = await mkdtemp(join(tmpdir(), 'consumer-'));
try {
  console.log('backend:', await useGpuIfPresent());
  const saved = await saveExampleModel(join(dir, 'my-model'));
  const loaded = await tfl.loadLayersModel(fileSystem(join(dir, 'my-model')));
  const image = tf.randomUniform([1, 128, 128, 1], 0, 1, 'float32', 1);
  const [a, b] = [saved, loaded].map((m) => m.predict(image) as tf.Tensor);
  if ((await tf.max(tf.abs(tf.sub(a, b))).data())[0] > 1e-6) throw new Error('the saved and loaded models predict differently');
  const images = tf.randomUniform([4, 32, 32, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const masks = tf.cast(tf.greater(images, 0.5), 'float32') as tf.Tensor4D;
  const trained = await trainSaUnet(images, masks, 1);
  const probabilities = tf.slice(trained.predict(images) as tf.Tensor, [0, 0, 0, 0], [1, 32, 32, 1]);
  const truth = tf.slice(masks, [0, 0, 0, 0], [1, 32, 32, 1]);
  const score = scoreNerve({ data: await probabilities.data(), width: 32, height: 32 }, { data: await truth.data(), width: 32, height: 32 });
  if (!Number.isFinite(score.auc)) throw new Error('no AUC');
  console.log('ESM: examples ran; headless model has', nerveAndVesselModel(64).countParams(), 'parameters; AUC', score.auc.toFixed(3));
} finally {
  await rm(dir, { recursive: true, force: true });
}
`;

// An app on the @tensorflow/tfjs bundle: our layer must be found by the bundle's loadLayersModel
// (one class registry), and the zoo must train with our kernels, on cpu and wasm, without leaks.
const BUNDLE_CHECK = `import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ScaleAttentionalConv2D, scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { createModel } from '@sa-unet/unet-zoo';
import { fusedAdam, registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { diceLoss } from '@sa-unet/seg-metrics';

const fail = (message) => { throw new Error('@tensorflow/tfjs bundle: ' + message); };
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  registerTrainingKernels();
  const input = tf.input({ shape: [32, 32, 1] });
  const features = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(scaleAttentionalConv2d({ filters: 8 }).apply(input)));
  const model = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(features) });
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  if (!loaded.layers.some((l) => l instanceof ScaleAttentionalConv2D)) fail(backend + ': the loaded model has no ScaleAttentionalConv2D (two class registries?)');
  const images = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 1);
  const difference = (await tf.max(tf.abs(tf.sub(model.predict(images), loaded.predict(images)))).data())[0];
  if (difference > 1e-6) fail(backend + ': the saved and loaded models differ by ' + difference);
  const saUnet = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 2 });
  saUnet.compile({ optimizer: fusedAdam(5e-4), loss: diceLoss });
  const masks = tf.cast(tf.greater(images, 0.7), 'float32');
  const first = await saUnet.trainOnBatch(images, masks); // creates Adam's moments
  const tensors = tf.memory().numTensors;
  let last = first;
  for (let step = 0; step < 3; step++) last = await saUnet.trainOnBatch(images, masks);
  if (tf.memory().numTensors !== tensors) fail(backend + ': training steps leaked ' + (tf.memory().numTensors - tensors) + ' tensors');
  if (!(last < first)) fail(backend + ': the dice loss did not fall (' + first + ' then ' + last + ')');
  console.log('@tensorflow/tfjs bundle, ' + backend + ': the layer saves and loads; SA-U-Net trains, loss ' + first.toFixed(4) + ' -> ' + last.toFixed(4));
}
`;

/** An npm project with the @tensorflow/tfjs bundle (same tfjs version) and the libraries' tarballs. */
function bundleProject(tarballs: Map<string, string>): string {
  const project = join(work, 'bundle-consumer');
  mkdirSync(project);
  const dependencies: Record<string, string> = { '@tensorflow/tfjs': TFJS, '@tensorflow/tfjs-backend-wasm': TFJS };
  for (const [name, tarball] of tarballs) if (name !== '@sa-unet/bench') dependencies[name] = `file:${tarball}`;
  // npm, unlike pnpm, cannot redirect one tarball's dependency on another; the libraries depend on
  // each other by version, which the tarballs installed at the top satisfy.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bundle-consumer', private: true, type: 'module', dependencies }, null, 2));
  writeFileSync(join(project, 'check.mjs'), BUNDLE_CHECK);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], project);
  return project;
}

// TypeScript projects still on `moduleResolution: node` (node10, the default of `module: commonjs`)
// ignore package.json exports: every entry point needs types it can find without them.
const NODE10_CHECK = `import * as tf from '@tensorflow/tfjs-core';
import { scaleAttentionalConv2d } from '@sa-unet/scale-attn-conv';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { createModel } from '@sa-unet/unet-zoo';
import { dice } from '@sa-unet/seg-metrics';
import { registerTrainingKernels } from '@sa-unet/tfjs-kernels';
import { PRESETS } from '@sa-unet/bench';
export const used = [tf.tensor, scaleAttentionalConv2d, fileSystem, createModel, dice, registerTrainingKernels, PRESETS];
`;

function consumerProject(tarballs: Map<string, string>): string {
  const project = join(work, 'consumer');
  mkdirSync(project);
  const dependencies: Record<string, string> = Object.fromEntries(TFJS_PACKAGES.map((p) => [`@tensorflow/${p}`, TFJS]));
  for (const [name, tarball] of tarballs) dependencies[name] = `file:${tarball}`;
  const typesNode = (JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version;
  const devDependencies = { '@types/node': typesNode };
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies, devDependencies }, null, 2));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], lib: ['ES2022', 'DOM'] },
    include: ['*.ts', 'examples/*.ts'], // skipLibCheck: tfjs 4.22's own declarations fail strict checks
  }, null, 2));
  cpSync(join(root, 'examples'), join(project, 'examples'), { recursive: true });
  writeFileSync(join(project, 'check.ts'), ESM_CHECK);
  writeFileSync(join(project, 'node10.cts'), NODE10_CHECK);
  writeFileSync(join(project, 'tsconfig.node10.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], lib: ['ES2022', 'DOM'] },
    files: ['node10.cts'],
  }, null, 2));
  writeFileSync(join(project, 'check.cjs'), CJS_CHECK);
  // The bench's optional Dawn binding has an install script, which pnpm 12 runs only if allowed;
  // the libraries' dependencies on each other resolve to the tarballs, as if published.
  const overrides = [...tarballs].map(([name, tarball]) => `  '${name}': 'file:${tarball}'\n`).join('');
  writeFileSync(join(project, 'pnpm-workspace.yaml'), `allowBuilds:\n  webgpu: true\noverrides:\n${overrides}`);
  // The store holds every package after the workspace's install; a frozen-lockfile install may not
  // have cached the registry's metadata, which --prefer-offline then fetches.
  run('pnpm', ['install', '--prefer-offline'], project);
  return project;
}

try {
  const tarballs = packAll();
  if (problems.length === 0) {
    const project = consumerProject(tarballs);
    const bin = (name: string) => join(root, 'node_modules', '.bin', name);
    run(bin('tsc'), ['-p', 'tsconfig.json'], project);
    console.log('types: the examples typecheck against the published declarations (nodenext, strict)');
    run(bin('tsc'), ['-p', 'tsconfig.node10.json'], project);
    console.log('types: every entry point resolves under moduleResolution node10 too');
    process.stdout.write(run(bin('tsx'), ['check.ts'], project));
    process.stdout.write(run('node', ['check.cjs'], project));
    const bench = join(project, 'node_modules', '.bin', 'sa-unet-bench');
    const params = run(bench, ['params', '--size', '64'], project);
    if (!/\| sa-unet \| [\d,]+ \|/.test(params)) problems.push(`sa-unet-bench params printed no SA-U-Net row:\n${params}`);
    else console.log('bin: sa-unet-bench params ran');
    const benchVersion = JSON.parse(readFileSync(join(root, 'packages', 'bench', 'package.json'), 'utf8')).version as string;
    const version = run(bench, ['--version'], project).trim();
    if (version !== benchVersion) problems.push(`sa-unet-bench --version printed '${version}', expected '${benchVersion}' (its package.json)`);
    else console.log(`bin: sa-unet-bench --version printed ${version}`);
    // The built CLI trains in worker threads (dist/worker.js) on the wasm binaries of the user's
    // tfjs: a whole small comparison, two models on two threads, must write its results.
    const results = join(project, 'compare-results');
    run(bench, ['compare', '--models', 'unet,sa-unet', '--size', '32', '--epochs', '1',
      '--base-filters', '4', '--phantom-count', '8', '--workers', '2', '--backend', 'wasm', '--quiet', '--out', results], project);
    const compared = JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as CompareResults;
    const dice = compared.models.map((m) => `${m.model} ${m.repeats[0]?.metrics.dice.toFixed(3)}`);
    if (compared.models.length !== 2 || !compared.models.every((m) => Number.isFinite(m.repeats[0]?.metrics.dice))) {
      problems.push(`sa-unet-bench compare wrote no finite DSC for both models: ${dice.join(', ')}`);
    } else console.log(`bin: sa-unet-bench compare trained two models on two worker threads (DSC ${dice.join(', ')})`);
    // Where WebGPU must work (CI, on lavapipe), the built kernels must run there too: a latency row.
    if (process.env.SA_UNET_REQUIRE_WEBGPU === '1') {
      const latency = run(bench, ['latency', '--backend', 'webgpu', '--models', 'sa-unet',
        '--size', '32', '--base-filters', '8', '--runs', '2', '--steps', '1', '--quiet'], project);
      // parameters, multiply-adds (billions), then the inference median
      if (!/\| webgpu \| sa-unet \| [\d,]+ \| [\d.e-]+ \| [\d.]+ \//.test(latency)) problems.push(`sa-unet-bench latency --backend webgpu printed no measured row:\n${latency}`);
      else console.log('bin: sa-unet-bench latency ran on webgpu (SA_UNET_REQUIRE_WEBGPU=1)');
    }
    process.stdout.write(run('node', ['check.mjs'], bundleProject(tarballs)));
  }
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(`check:packages found ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('check:packages: every package packs, installs and works outside the workspace');
