/**
 * The shared model tester: every model of the zoo runs the same checks (as
 * segmentation_models.pytorch does), on small inputs so the suite stays fast.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSystem } from '@sa-unet/scale-attn-conv/node';
import { diceLoss } from '@sa-unet/seg-metrics';
import { createModel, type ModelConfigs, type ModelName } from '@sa-unet/unet-zoo';
import { useBackend } from '../../../test-utils/backends.js';
import { discMask, seededRandom, withSeed } from '../../../test-utils/numeric.js';

export const SMALL = { inputShape: [32, 32, 1] as [number, number, number], baseFilters: 8, depth: 3 };

/** Noisy bright discs of random size and place, and their masks. */
export function discBatch(count: number, size: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const rand = seededRandom(seed);
  const images = new Float32Array(count * size * size);
  const masks = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const r = size * (0.15 + 0.15 * rand());
    const mask = discMask(size, size, r, r + (size - 2 * r) * rand(), r + (size - 2 * r) * rand());
    for (let i = 0; i < size * size; i++) {
      masks[n * size * size + i] = mask[i];
      images[n * size * size + i] = 0.6 * mask[i] + 0.4 * rand();
    }
  }
  return { x: tf.tensor4d(images, [count, size, size, 1]), y: tf.tensor4d(masks, [count, size, size, 1]) };
}

export function describeModel<K extends ModelName>(name: K, extra: Partial<ModelConfigs[K]> = {}): void {
  const config = { ...SMALL, ...extra } as ModelConfigs[K];
  // Seeded initial weights: the training checks must not depend on luck.
  const build = (overrides: Partial<ModelConfigs[K]> = {}) => withSeed(7, () => createModel(name, { ...config, ...overrides }));

  describe(`${name} (shared model tests)`, () => {
    let dir: string;
    beforeAll(async () => {
      await useBackend('wasm');
      dir = await mkdtemp(join(tmpdir(), `zoo-${name}-`));
    });
    afterAll(async () => {
      tf.disposeVariables();
      await rm(dir, { recursive: true, force: true });
    });

    it('builds: output [b, h, w, classes]; sigmoid for 1 class, softmax for more', async () => {
      const model = build();
      expect(model.outputs.map((o) => o.shape)).toEqual([[null, 32, 32, 1]]);
      const x = tf.randomUniform([2, 32, 32, 1]);
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 32, 32, 1]);
      const values = await y.data();
      expect(values.every((v) => v > 0 && v < 1)).toBe(true);

      const multi = build({ numClasses: 3, inputShape: [32, 32, 2] } as Partial<ModelConfigs[K]>);
      const probabilities = multi.predict(tf.randomUniform([1, 32, 32, 2])) as tf.Tensor;
      expect(probabilities.shape).toEqual([1, 32, 32, 3]);
      const sums = await tf.sum(probabilities, -1).data();
      expect(Math.max(...Array.from(sums, (s) => Math.abs(s - 1)))).toBeLessThan(1e-5);
      tf.dispose([x, y, probabilities]);
    });

    it('foregroundPrior p: every head\'s bias starts at log(p / (1 - p)), and the first predictions near p; default: a zero bias', async () => {
      const heads = (m: tfl.LayersModel) => m.layers.filter((l) => /_head\d*$/.test(l.name));
      const headBiases = (m: tfl.LayersModel) => Promise.all(heads(m).map((l) => l.getWeights()[1].data()));
      const plain = build();
      expect(heads(plain).length).toBeGreaterThan(0);
      for (const bias of await headBiases(plain)) expect(Array.from(bias)).toEqual([0]);
      const primed = build({ foregroundPrior: 0.02 } as Partial<ModelConfigs[K]>);
      expect(heads(primed).map((l) => l.name)).toEqual(heads(plain).map((l) => l.name));
      for (const bias of await headBiases(primed)) expect(bias[0]).toBeCloseTo(Math.log(0.02 / 0.98), 6);
      const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 3);
      const outputs = [primed.predict(x)].flat() as tf.Tensor[];
      const values = await outputs[0].data();
      const median = Float32Array.from(values).sort()[values.length >> 1];
      expect(median).toBeGreaterThan(0.005);
      expect(median).toBeLessThan(0.08);
      tf.dispose([x, ...outputs]);
    });

    it('names every layer deterministically, under the name prefix', () => {
      const a = build().layers.map((l) => l.name);
      const b = build().layers.map((l) => l.name);
      expect(a).toEqual(b);
      expect(new Set(a).size).toBe(a.length);
      const prefixed = build({ name: 'mynet' } as Partial<ModelConfigs[K]>);
      expect(prefixed.name).toBe('mynet');
      expect(prefixed.layers.every((l) => l.name.startsWith('mynet_'))).toBe(true);
    });

    it('forward and backward: finite loss, a non-zero gradient for every trainable weight', async () => {
      const model = build();
      const { x, y } = discBatch(2, 32, 1);
      const { value, grads } = tf.variableGrads(() => diceLoss(y, model.apply(x, { training: true }) as tf.Tensor));
      expect(Number.isFinite((await value.data())[0])).toBe(true);
      const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
      expect(Object.keys(grads).sort()).toEqual([...names].sort());
      for (const w of model.trainableWeights) {
        const g = await grads[(w.read() as tf.Variable).name].data();
        expect(g.every(Number.isFinite), `gradient of ${w.originalName} is finite`).toBe(true);
        expect(g.some((v) => v !== 0), `gradient of ${w.originalName} is non-zero`).toBe(true);
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
    });

    it('a few Adam steps on toy masks lower the dice loss', async () => {
      const model = build();
      const { x, y } = discBatch(8, 32, 2);
      model.compile({ optimizer: tf.train.adam(0.01), loss: diceLoss });
      // Training-mode losses: BN's moving statistics barely move in a few steps, so inference-mode
      // loss would not show what the weights learned.
      const history = await model.fit(x, y, { epochs: 8, batchSize: 4, shuffle: false, verbose: 0 });
      const losses = history.history.loss as number[];
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.05);
      tf.dispose([x, y]);
    });

    it('save -> load (file IOHandler) -> identical predictions', async () => {
      const model = build();
      const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 3);
      const expected = model.predict(x) as tf.Tensor;
      await model.save(fileSystem(join(dir, 'model')));
      const loaded = await tfl.loadLayersModel(fileSystem(join(dir, 'model')));
      expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
      expect(loaded.countParams()).toBe(model.countParams());
      const actual = loaded.predict(x) as tf.Tensor;
      expect(Array.from(await actual.data())).toEqual(Array.from(await expected.data()));
      tf.dispose([x, expected, actual]);
    });

    it('invalid sizes throw an Error naming the nearest valid size', () => {
      expect(() => build({ inputShape: [30, 32, 1] } as Partial<ModelConfigs[K]>))
        .toThrow(new RegExp(`${name}: inputShape height 30 is not divisible by 2\\^depth = 8 \\(depth 3\\); nearest valid height: 24 or 32`));
      expect(() => build({ inputShape: [32, 4, 1] } as Partial<ModelConfigs[K]>)).toThrow(/width 4 is not divisible by 2\^depth = 8.*nearest valid width: 8/);
      expect(() => build({ inputShape: [32, 32] as unknown as [number, number, number] } as Partial<ModelConfigs[K]>))
        .toThrow(/'inputShape' must be \[height, width, channels\]/);
      expect(() => build({ baseFilters: 0 } as Partial<ModelConfigs[K]>)).toThrow(/'baseFilters' must be an integer >= 1, got 0/);
      expect(() => build({ upsampling: 'bicubic' } as unknown as Partial<ModelConfigs[K]>)).toThrow(/'upsampling' must be 'nearest-conv' or 'transpose'/);
    });

    it('an option it does not take throws, naming the model that takes it or the options it takes', () => {
      expect(() => build({ baseFilter: 8 } as unknown as Partial<ModelConfigs[K]>))
        .toThrow(new RegExp(`^${name}: unknown option 'baseFilter'; it takes inputShape, baseFilters, depth, numClasses, foregroundPrior, batchNorm, batchNormMomentum, upsampling, dropout, name`));
      // An option of another model of the zoo: sa-unet's scales, or (for sa-unet) multires-unet's alpha.
      const [other, option] = name === 'sa-unet' ? ['multires-unet', 'alpha'] : ['sa-unet', 'scales'];
      expect(() => build({ [option]: 3 } as Partial<ModelConfigs[K]>)).toThrow(`${name}: unknown option '${option}' (an option of ${other})`);
      // An option given as undefined is absent, as with every default.
      expect(build({ baseFilter: undefined } as unknown as Partial<ModelConfigs[K]>).countParams()).toBe(build().countParams());
    });

    it('no tensor leaks across predict and fit loops', async () => {
      const model = build();
      const { x, y } = discBatch(4, 32, 4);
      model.compile({ optimizer: tf.train.adam(0.001), loss: diceLoss });
      (model.predict(x) as tf.Tensor).dispose();
      await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        (model.predict(x) as tf.Tensor).dispose();
        await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
    });

    it('inputShape [null, null, c]: one model for every size that is a multiple of 2^depth, saved and loaded as such', async () => {
      const fixed = build();
      const free = build({ inputShape: [null, null, 1] } as Partial<ModelConfigs[K]>);
      expect(free.inputs[0].shape).toEqual([null, null, null, 1]);
      expect(free.countParams()).toBe(fixed.countParams());
      // The same weights give the same predictions at the fixed model's size...
      free.setWeights(fixed.getWeights());
      const x32 = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 5);
      const [a, b] = [fixed.predict(x32) as tf.Tensor, free.predict(x32) as tf.Tensor];
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
      // ...and it trains and predicts at others.
      const { x, y } = discBatch(2, 24, 6);
      free.compile({ optimizer: tf.train.adam(0.001), loss: diceLoss });
      const loss = await free.trainOnBatch(x, y);
      expect(Number.isFinite(loss as number)).toBe(true);
      const x24x40 = tf.randomUniform([1, 24, 40, 1], 0, 1, 'float32', 6);
      const c = free.predict(x24x40) as tf.Tensor;
      expect(c.shape).toEqual([1, 24, 40, 1]);

      // A size that is not a multiple of 2^depth = 8: our error, before any computation, nothing leaked.
      const before = tf.memory().numTensors;
      const x36 = tf.zeros([1, 36, 40, 1]);
      expect(() => free.predict(x36)).toThrow(
        `${name.replace(/-/g, '_')}_size_check: input 36x40 (height x width): height 36 is not a multiple of 8 (nearest: 32 or 40); the model halves the resolution 3 times`);
      x36.dispose();
      expect(tf.memory().numTensors).toBe(before);

      await free.save(fileSystem(join(dir, 'free')));
      const loaded = await tfl.loadLayersModel(fileSystem(join(dir, 'free')));
      expect(loaded.inputs[0].shape).toEqual([null, null, null, 1]);
      const d = loaded.predict(x24x40) as tf.Tensor;
      expect(Array.from(await d.data())).toEqual(Array.from(await c.data()));
      expect(() => loaded.predict(tf.zeros([1, 32, 30, 1]))).toThrow(`${name.replace(/-/g, '_')}_size_check: input 32x30 (height x width): width 30 is not a multiple of 8 (nearest: 24 or 32)`);
      tf.dispose([x32, a, b, x, y, x24x40, c, d]);
    });

    it("upsampling: 'transpose' builds and runs too", () => {
      const model = build({ upsampling: 'transpose' } as Partial<ModelConfigs[K]>);
      expect(model.layers.some((l) => l.getClassName() === 'Conv2DTranspose')).toBe(true);
      const y = model.predict(tf.zeros([1, 32, 32, 1])) as tf.Tensor;
      expect(y.shape).toEqual([1, 32, 32, 1]);
      y.dispose();
    });
  });
}
