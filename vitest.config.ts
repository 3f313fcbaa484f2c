import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import every workspace package from its TypeScript source: no build needed first.
    alias: [
      { find: /^@sa-unet\/([^/]+)\/node$/, replacement: `${packages}$1/src/node.ts` },
      { find: /^@sa-unet\/([^/]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
