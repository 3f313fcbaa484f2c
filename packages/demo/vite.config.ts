import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, '..');
const require = createRequire(import.meta.url);

/** The wasm backend's binaries, served next to the page (no CDN: the demo works offline once loaded). */
function wasmBinaries(): Plugin {
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const files = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return {
    name: 'sa-unet-wasm-binaries',
    generateBundle() {
      for (const file of files) this.emitFile({ type: 'asset', fileName: `wasm/${file}`, source: readFileSync(join(dist, 'dist', file)) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.match(/\/wasm\/([\w.-]+\.wasm)$/)?.[1];
        if (name === undefined || !files.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(dist, 'dist', name)));
      });
    },
  };
}

export default defineConfig({
  base: './',
  resolve: {
    // The workspace libraries from their TypeScript source: no build needed first.
    alias: [{ find: /^@sa-unet\/([^/]+)$/, replacement: `${packages}/$1/src/index.ts` }],
  },
  plugins: [wasmBinaries()],
  build: {
    outDir: process.env.SA_UNET_DEMO_OUT ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
});
