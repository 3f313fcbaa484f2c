import { defineConfig } from 'tsup';
import { buildScriptTagBundle, libraryBuild } from '../../tsup.shared.js';

/** The script-tag build: `<script src=".../tfjs-kernels.min.js">` after tfjs and its backends. */
export const SCRIPT_TAG_BUNDLE = { entry: 'src/index.ts', outfile: 'dist/tfjs-kernels.min.js', globalName: 'saUnetKernels' };

export default defineConfig({
  ...libraryBuild(['src/index.ts']),
  // After the ESM and CJS builds (and their clean of dist/).
  onSuccess: async () => {
    await buildScriptTagBundle(SCRIPT_TAG_BUNDLE);
  },
});
