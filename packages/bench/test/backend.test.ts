/**
 * Backend selection says why: 'auto' lists what it passed over, and an unavailable backend's
 * error names the reason. What is installed differs between machines (tfjs-node cannot be
 * installed on ours; CI has lavapipe, a software WebGPU adapter), so each case accepts the
 * outcomes a machine can have and checks the message of the one it got.
 */
import { describe, expect, it } from 'vitest';
import { backendLogLine, selectBackend, type ActiveBackend } from '../src/backend.js';

const settle = (p: Promise<ActiveBackend>) => p.then((b) => b, (e: unknown) => e as Error);

describe('selectBackend', () => {
  it("'auto' records each backend it passed over, with the reason, and the log line says so", async () => {
    const active = await selectBackend('auto');
    const passed = active.passedOver ?? [];
    const expected = { tensorflow: [], webgpu: ['tensorflow'], wasm: ['tensorflow', 'webgpu'] }[active.name];
    expect(passed.map((p) => p.split(':')[0])).toEqual(expected);
    if (passed[0] !== undefined) expect(passed[0]).toBe('tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed');
    if (passed[1] !== undefined) {
      expect(passed[1]).toMatch(/^webgpu: (no WebGPU adapter \(it needs the npm package webgpu .*\)|a software adapter \(.*\), slower than wasm|@tensorflow\/tfjs-backend-webgpu is not installed)$/);
    }
    const line = backendLogLine(active);
    expect(line.startsWith(`backend: ${active.description}`)).toBe(true);
    if (passed.length > 0) expect(line).toBe(`backend: ${active.description} (auto passed over ${passed.join('; ')})`);
  });

  it('a backend named on its own passes nothing over; its log line is its description', async () => {
    const active = await selectBackend('wasm');
    expect(active.passedOver).toBeUndefined();
    expect(backendLogLine(active)).toBe(`backend: ${active.description}`);
  });

  it("'tensorflow' without tfjs-node: an error naming what to install", async () => {
    const outcome = await settle(selectBackend('tensorflow'));
    if (outcome instanceof Error) {
      expect(outcome.message).toBe('tensorflow backend unavailable: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (npm i @tensorflow/tfjs-node)');
    } else {
      expect(outcome.name).toBe('tensorflow');
    }
    await selectBackend('wasm');
  });

  it("'webgpu' refusing a software adapter: an error that says why", async () => {
    const outcome = await settle(selectBackend('webgpu', { softwareWebGPU: false }));
    if (outcome instanceof Error) {
      expect(outcome.message).toMatch(/^webgpu backend unavailable: (no WebGPU adapter \(it needs .*\)|a software adapter \(.*\), slower than wasm); on the CPU use wasm$/);
    } else {
      expect(outcome.name).toBe('webgpu');
    }
    await selectBackend('wasm');
  });
});
