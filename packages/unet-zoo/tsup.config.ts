import { defineConfig } from 'tsup';
import { buildScriptTagBundle, libraryBuild } from '../../tsup.shared.js';

/** The script-tag build: `<script src=".../unet-zoo.min.js">` after tf.min.js and scale-attn-conv.min.js. */
export const SCRIPT_TAG_BUNDLE = { entry: 'src/index.ts', outfile: 'dist/unet-zoo.min.js', globalName: 'unetZoo' };

export default defineConfig({
  ...libraryBuild(['src/index.ts']),
  // After the ESM and CJS builds (and their clean of dist/).
  onSuccess: async () => {
    await buildScriptTagBundle(SCRIPT_TAG_BUNDLE);
  },
});
