import { defineConfig } from 'tsup';
import { buildScriptTagBundle, libraryBuild } from '../../tsup.shared.js';

/** The script-tag build: `<script src=".../scale-attn-conv.min.js">` after tf.min.js. */
export const SCRIPT_TAG_BUNDLE = { entry: 'src/index.ts', outfile: 'dist/scale-attn-conv.min.js', globalName: 'scaleAttnConv' };

export default defineConfig({
  ...libraryBuild(['src/index.ts', 'src/node.ts']),
  // After the ESM and CJS builds (and their clean of dist/).
  onSuccess: async () => {
    await buildScriptTagBundle(SCRIPT_TAG_BUNDLE);
  },
});
