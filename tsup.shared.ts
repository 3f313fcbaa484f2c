import { basename } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Options } from 'tsup';

/** The build of a library package: ESM + CJS + type declarations of its entry points. */
export function libraryBuild(entry: string[]): Options {
  return { entry, format: ['esm', 'cjs'], dts: true, sourcemap: true, clean: true, target: 'es2022' };
}

/** Where the script-tag bundle finds the tfjs package it imports, on the page's global `tf`. */
const TF_GLOBAL_MODULES: Record<string, { has: string; hint: string }> = {
  '@tensorflow/tfjs-core': { has: 'tf.tidy', hint: 'tf.min.js, or tf-core.min.js' },
  '@tensorflow/tfjs-layers': { has: 'tf.layers', hint: 'tf.min.js, or tf-layers.min.js after tf-core.min.js' },
};

/**
 * Resolves the tfjs imports of a script-tag bundle to the global `tf` of the page (tf.min.js), so
 * that the bundle holds none of tfjs and registers its classes in the page's one class registry; a
 * page without tfjs, or with tfjs of another major version, gets an error saying which script to add.
 */
function tfFromGlobal(bundleName: string): Plugin {
  return {
    name: 'tf-from-global',
    setup(b) {
      b.onResolve({ filter: /^@tensorflow\/tfjs-(core|layers)$/ }, (args) => ({ path: args.path, namespace: 'tf-global' }));
      b.onLoad({ filter: /.*/, namespace: 'tf-global' }, (args) => {
        const { has, hint } = TF_GLOBAL_MODULES[args.path]!;
        const needs = (why: string) => JSON.stringify(`${bundleName} needs TensorFlow.js 4.x loaded first (${hint}): ${why}`);
        return {
          loader: 'js',
          contents: `if (typeof tf === 'undefined' || !${has}) throw new Error(${needs(`no ${has} on this page`)});
if (!/^4\\./.test(tf.version_core || '')) throw new Error(${needs('this page has tfjs-core ')} + tf.version_core);
module.exports = tf;`,
        };
      });
    },
  };
}

/** Options of {@link buildScriptTagBundle}. */
export interface ScriptTagBundle {
  /** The module whose exports the global gets, e.g. 'src/index.ts'. */
  entry: string;
  /** The file to write (a source map is written beside it). */
  outfile: string;
  /** The global variable that holds the module's exports, e.g. 'scaleAttnConv'. */
  globalName: string;
}

/**
 * Builds a minified IIFE for `<script>` tags: the module's exports on `globalName`, tfjs taken
 * from the page's global `tf`. Fails if anything from node_modules would be bundled. Resolves to
 * the source files it bundled.
 */
export async function buildScriptTagBundle({ entry, outfile, globalName }: ScriptTagBundle): Promise<string[]> {
  const result = await build({
    entryPoints: [entry], outfile, bundle: true, format: 'iife', globalName, platform: 'browser', target: 'es2017',
    minify: true, sourcemap: true, metafile: true, logLevel: 'error', plugins: [tfFromGlobal(basename(outfile))],
  });
  const inputs = Object.keys(result.metafile.inputs);
  const foreign = inputs.filter((path) => path.includes('node_modules'));
  if (foreign.length > 0) throw new Error(`the script-tag bundle ${outfile} would contain ${foreign.join(', ')}: declare how it reaches them on the page`);
  return inputs.filter((path) => !path.startsWith('tf-global:'));
}
