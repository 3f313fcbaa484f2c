import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

export default defineConfig(libraryBuild(['src/index.ts', 'src/node.ts'], 'scale-attn-conv'));
