/**
 * Real-browser tests: Debian's Chromium driven by playwright-core (which downloads no browser), a
 * static server for a built page, and the skip-or-fail policy: without /usr/bin/chromium the tests
 * skip with a message, unless SA_UNET_REQUIRE_BROWSER=1 (set by CI, which installs it).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const browserRequired = process.env.SA_UNET_REQUIRE_BROWSER === '1';
export const browserAvailable = existsSync(CHROMIUM);

/** Warns once per test file when the browser tests of `what` will not run. */
export function warnIfNoBrowser(what: string): void {
  if (!browserAvailable && !browserRequired) console.warn(`${what} skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  // Chromium applies a stylesheet only when it is served as CSS.
  '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** The headers that make a page cross-origin isolated, which SharedArrayBuffer (and so tfjs-backend-wasm's threaded build) needs. */
const CROSS_ORIGIN_ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * Serves the files of `folder` on 127.0.0.1 (a secure context: WebGPU needs one); `/` is index.html.
 * `crossOriginIsolated`: every response also carries the headers of cross-origin isolation.
 */
export async function serveFolder(folder: string, options: { crossOriginIsolated?: boolean } = {}): Promise<StaticServer> {
  const extra = options.crossOriginIsolated === true ? CROSS_ORIGIN_ISOLATION : {};
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.endsWith('/') ? `${path}index.html` : path;
    try {
      const body = await readFile(join(folder, file));
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...extra }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/**
 * Headless Chromium without background traffic. `webgpu: true` enables WebGPU, which headless
 * Chromium runs on SwiftShader (its Vulkan on the CPU) where no GPU is at hand.
 */
export function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', ...(options.webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu'])],
  });
}

/** The binaries tfjs' wasm backend fetches at start (it picks one by the browser's features). */
export const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const require = createRequire(import.meta.url);

/** Copies `files` of the dist/ folder of the tfjs package `pkg` (e.g. 'tfjs-backend-wasm') into `folder`. */
export async function copyTfjsDist(pkg: string, files: readonly string[], folder: string): Promise<void> {
  const dist = join(dirname(require.resolve(`@tensorflow/${pkg}/package.json`)), 'dist');
  await mkdir(folder, { recursive: true });
  for (const file of files) await copyFile(join(dist, file), join(folder, file));
}
