import { defineConfig } from 'tsup';
import { buildScriptTagBundle, libraryBuild } from '../../tsup.shared.js';

/** The script-tag build: `<script src=".../seg-metrics.min.js">` after tf.min.js. */
export const SCRIPT_TAG_BUNDLE = { entry: 'src/index.ts', outfile: 'dist/seg-metrics.min.js', globalName: 'segMetrics' };

export default defineConfig({
  ...libraryBuild(['src/index.ts']),
  // After the ESM and CJS builds (and their clean of dist/).
  onSuccess: async () => {
    await buildScriptTagBundle(SCRIPT_TAG_BUNDLE);
  },
});
