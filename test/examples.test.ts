import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnippets } from '../test-utils/snippets.js';
import { saveExampleModel } from '../examples/layer-quickstart.js';
import { segment } from '../examples/load-in-browser.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'examples-'));
  server = createServer(async (req, res) => {
    try {
      const body = await readFile(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
      res.writeHead(200).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await rm(dir, { recursive: true, force: true });
});

describe('README examples', () => {
  it('every snippet in the README is the exact content of an example file', async () => {
    const snippets = await readSnippets(join(root, 'README.md'));
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    for (const snippet of snippets) {
      expect(snippet.code, snippet.file).toBe(await readFile(snippet.file, 'utf8'));
    }
  });

  it('the quick start saves a model that loads over HTTP as in a browser and predicts the same', async () => {
    const model = await saveExampleModel(join(dir, 'my-model'));
    const image = tf.randomUniform([128, 128, 1]) as tf.Tensor3D;
    const expected = model.predict(tf.expandDims(image, 0)) as tf.Tensor;
    const prediction = await segment(`${baseUrl}/my-model/model.json`, image);
    expect(prediction.shape).toEqual([1, 128, 128, 1]);
    expect(Array.from(await prediction.data())).toEqual(Array.from(await expected.data()));
    tf.dispose([image, expected, prediction]);
  });
});

describe('zoo example', () => {
  it('trains an SA-U-Net on a small batch and predicts masks of the input size', async () => {
    const { trainSaUnet } = await import('../examples/zoo-train.js');
    const images = tf.randomUniform([4, 32, 32, 1]) as tf.Tensor4D;
    const masks = tf.cast(tf.greater(images, 0.5), 'float32') as tf.Tensor4D;
    const model = await trainSaUnet(images, masks, 1);
    const prediction = model.predict(images) as tf.Tensor;
    expect(prediction.shape).toEqual([4, 32, 32, 1]);
    tf.dispose([images, masks, prediction]);
  });

  it('the zoo README shows the example file exactly', async () => {
    const snippets = await readSnippets(join(root, 'packages/unet-zoo/README.md'));
    expect(snippets.length).toBeGreaterThanOrEqual(1);
    for (const snippet of snippets) expect(snippet.code, snippet.file).toBe(await readFile(snippet.file, 'utf8'));
  });
});
