import { basename, dirname, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Options } from 'tsup';

/** The global that each package's script-tag build (dist/<package>.min.js) defines. */
export const SCRIPT_TAG_GLOBALS = {
  'scale-attn-conv': 'scaleAttnConv',
  'unet-zoo': 'unetZoo',
  'seg-metrics': 'segMetrics',
  'tfjs-kernels': 'saUnetKernels',
} as const;
/** A package folder name with a script-tag build. */
export type ScriptTagPackage = keyof typeof SCRIPT_TAG_GLOBALS;

/** The script-tag build of `pkg`, relative to its folder: src/index.ts to dist/<pkg>.min.js. */
export function scriptTagBundle(pkg: ScriptTagPackage): ScriptTagBundle {
  return { entry: 'src/index.ts', outfile: `dist/${pkg}.min.js`, globalName: SCRIPT_TAG_GLOBALS[pkg] };
}

/**
 * The build of a library package: ESM + CJS + type declarations of its entry points, then, for a
 * package named in SCRIPT_TAG_GLOBALS, its script-tag build (after the clean of dist/).
 */
export function libraryBuild(entry: string[], scriptTag?: ScriptTagPackage): Options {
  return {
    entry, format: ['esm', 'cjs'], dts: true, sourcemap: true, clean: true, target: 'es2022',
    ...(scriptTag && {
      onSuccess: async () => {
        await buildScriptTagBundle(scriptTagBundle(scriptTag));
      },
    }),
  };
}

/** How a script-tag bundle reaches a package it imports: a global that an earlier script defines. */
interface PageGlobal {
  /** The global that holds the package's exports. */
  global: string;
  /** An expression that is truthy once that script has run. */
  has: string;
  /** Who must be loaded first, and by which script. */
  needs: string;
}

const TFJS = 'TensorFlow.js 4.x';
/** Every package a script-tag bundle may import, and the global it takes it from. */
const PAGE_GLOBALS: Record<string, PageGlobal> = {
  '@tensorflow/tfjs-core': { global: 'tf', has: 'tf.tidy', needs: `${TFJS} loaded first (tf.min.js, or tf-core.min.js)` },
  '@tensorflow/tfjs-layers': { global: 'tf', has: 'tf.layers', needs: `${TFJS} loaded first (tf.min.js, or tf-layers.min.js after tf-core.min.js)` },
  '@sa-unet/scale-attn-conv': {
    global: SCRIPT_TAG_GLOBALS['scale-attn-conv'], has: `${SCRIPT_TAG_GLOBALS['scale-attn-conv']}.ScaleAttentionalConv2D`,
    needs: '@sa-unet/scale-attn-conv loaded first (its scale-attn-conv.min.js, after tfjs)',
  },
};

/**
 * Resolves the imports of a script-tag bundle named in PAGE_GLOBALS to the page's globals (tf of
 * tf.min.js, and our own bundles'), so that the bundle holds none of them and registers its classes
 * in the page's one class registry; a page without them, or with tfjs of another major version,
 * gets an error saying which script to add.
 */
function fromPageGlobals(bundleName: string): Plugin {
  return {
    name: 'from-page-globals',
    setup(b) {
      b.onResolve({ filter: /^@/ }, (args) => (Object.hasOwn(PAGE_GLOBALS, args.path) ? { path: args.path, namespace: 'page-global' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'page-global' }, (args) => {
        const { global, has, needs } = PAGE_GLOBALS[args.path]!;
        const error = (why: string) => JSON.stringify(`${bundleName} needs ${needs}: ${why}`);
        const tfjsVersion = global === 'tf'
          ? `if (!/^4\\./.test(tf.version_core || '')) throw new Error(${error('this page has tfjs-core ')} + tf.version_core);\n` : '';
        return {
          loader: 'js',
          contents: `if (typeof ${global} === 'undefined' || !${has}) throw new Error(${error(`no ${has} on this page`)});\n${tfjsVersion}module.exports = ${global};`,
        };
      });
    },
  };
}

/** Options of {@link buildScriptTagBundle}. */
export interface ScriptTagBundle {
  /** The module whose exports the global gets: a file in its package's src/, e.g. 'src/index.ts'. */
  entry: string;
  /** The file to write (a source map is written beside it). */
  outfile: string;
  /** The global variable that holds the module's exports, e.g. 'scaleAttnConv'. */
  globalName: string;
}

/**
 * Builds a minified IIFE for `<script>` tags: the module's exports on `globalName`, tfjs and our
 * other packages taken from the page's globals. Fails if anything from node_modules, or another
 * package of ours, would be bundled. Resolves to the source files it bundled.
 */
export async function buildScriptTagBundle({ entry, outfile, globalName }: ScriptTagBundle): Promise<string[]> {
  const result = await build({
    entryPoints: [entry], outfile, bundle: true, format: 'iife', globalName, platform: 'browser', target: 'es2017',
    minify: true, sourcemap: true, metafile: true, logLevel: 'error', plugins: [fromPageGlobals(basename(outfile))],
  });
  const inputs = Object.keys(result.metafile.inputs);
  const entryPackage = dirname(dirname(entry));
  const foreign = inputs.filter((path) => !path.startsWith('page-global:') && (path.includes('node_modules') || !resolve(path).startsWith(resolve(entryPackage))));
  if (foreign.length > 0) throw new Error(`the script-tag bundle ${outfile} would contain ${foreign.join(', ')}: declare how it reaches them on the page`);
  return inputs.filter((path) => !path.startsWith('page-global:'));
}
