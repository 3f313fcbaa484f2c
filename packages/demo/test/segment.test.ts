import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it, beforeAll, vi } from 'vitest';
import { createModel, maskAtImageSize } from '@sa-unet/unet-zoo';
import { segmentImage } from '@sa-unet/bench';
import { useBackend } from '../../../test-utils/backends.js';
import { MAX_BYTES, checkFile, maskFileName, maskRgba, nerveArea, rgbaToGray, segmentGray, warmUp } from '../src/segment.js';

beforeAll(() => useBackend('wasm'));

describe('the demo pipeline', () => {
  it('converts RGBA to gray with BT.601 weights', () => {
    const gray = rgbaToGray([255, 0, 0, 255, 0, 255, 0, 255, 10, 10, 10, 255], 3, 1);
    expect(Array.from(gray).map((v) => +v.toFixed(6))).toEqual([0.299, 0.587, +(10 / 255).toFixed(6)]);
  });

  it('gives the mask and area sa-unet-bench segment gives', async () => {
    const model = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 });
    const width = 50;
    const height = 40;
    const gray = Float32Array.from({ length: width * height }, (_, i) => ((i * 7919) % 255) / 255);
    const ours = await segmentGray(model, gray, width, height);
    const bench = await segmentImage(model, { width, height, data: gray }, { dpi: 96 });
    expect(Array.from(ours.mask)).toEqual(Array.from(bench.mask));
    expect(nerveArea(ours, { width, height }, { dpi: 96 })).toBeCloseTo(bench.csaMm2!, 12);
    expect(ours.contour.length).toBe(32 * 32);
    expect(ours.size).toBe(32);
  });

  it('gives the mask at the image\'s size as opaque black and white pixels, named after the image', async () => {
    const model = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 });
    const gray = Float32Array.from({ length: 50 * 40 }, (_, i) => ((i * 7919) % 255) / 255);
    const result = await segmentGray(model, gray, 50, 40);
    const rgba = await maskRgba(result, 50, 40);
    const mask = await maskAtImageSize(result, 50, 40);
    expect(Array.from(rgba)).toEqual(Array.from(mask).flatMap((m) => [255 * m, 255 * m, 255 * m, 255]));
    expect(maskFileName('0003.png')).toBe('0003-mask.png');
    expect(maskFileName('wrist.left.jpeg')).toBe('wrist.left-mask.png');
    expect(maskFileName('scan')).toBe('scan-mask.png');
  });

  it('warms a model up with one run through the pipeline, leaving no tensors behind', async () => {
    const model = createModel('sa-unet', { inputShape: [32, 32, 1], baseFilters: 8, depth: 3 });
    const predict = vi.spyOn(model, 'predict');
    const before = tf.memory().numTensors;
    const ms = await warmUp(model);
    expect(ms).toBeGreaterThan(0);
    expect(predict).toHaveBeenCalledTimes(1);
    expect((predict.mock.calls[0]![0] as tf.Tensor).shape).toEqual([1, 32, 32, 1]);
    expect(tf.memory().numTensors).toBe(before);
    const rgb = tfl.input({ shape: [8, 8, 3] });
    const rgbModel = tfl.model({ inputs: rgb, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(rgb) as tfl.SymbolicTensor });
    await expect(warmUp(rgbModel)).rejects.toThrow(/\[null, n, n, 1\]/);
  });

  it('refuses non-images, huge files and models of other inputs with a message', async () => {
    expect(checkFile({ name: 'a.txt', type: 'text/plain', size: 10 })).toBe('a.txt is not a PNG or JPEG image');
    expect(checkFile({ name: 'b.png', type: 'image/png', size: MAX_BYTES + 1 })).toMatch(/b\.png is 50 MB; the demo takes images up to 50 MB/);
    expect(checkFile({ name: 'c.jpg', type: 'image/jpeg', size: 1000 })).toBeNull();
    const rgb = tfl.input({ shape: [8, 8, 3] });
    const rgbModel = tfl.model({ inputs: rgb, outputs: tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(rgb) as tfl.SymbolicTensor });
    await expect(segmentGray(rgbModel, new Float32Array(64), 8, 8)).rejects.toThrow(/\[null, n, n, 1\]/);
    expect(tf.getBackend()).toBe('wasm');
  });
});
