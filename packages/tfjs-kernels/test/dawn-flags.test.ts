/** The flags setupNodeWebGPU gives Dawn's create(): exact timestamps unless asked otherwise, merged into the caller's own toggles. */
import { describe, expect, it } from 'vitest';
import { dawnCreateFlags, setupNodeWebGPU } from '../src/webgpu/setup.js';

describe('dawnCreateFlags', () => {
  const cases: Array<{ name: string; options: Parameters<typeof dawnCreateFlags>[0]; flags: string[] }> = [
    { name: 'no options: timestamp quantization off', options: undefined, flags: ['disable-dawn-features=timestamp_quantization'] },
    { name: 'other flags kept, in order', options: { dawnFlags: ['backend=null', 'enable-dawn-features=allow_unsafe_apis'] },
      flags: ['backend=null', 'enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization'] },
    { name: 'joins the caller\'s disable list (Dawn keeps one flag per name)', options: { dawnFlags: ['disable-dawn-features=lazy_clear_resource_on_first_use'] },
      flags: ['disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization'] },
    { name: 'the last of two disable lists (the one Dawn reads)', options: { dawnFlags: ['disable-dawn-features=a', 'backend=vulkan', 'disable-dawn-features=b'] },
      flags: ['disable-dawn-features=a', 'backend=vulkan', 'disable-dawn-features=b,timestamp_quantization'] },
    { name: 'not twice', options: { dawnFlags: ['disable-dawn-features=timestamp_quantization'] }, flags: ['disable-dawn-features=timestamp_quantization'] },
    { name: 'an empty disable list', options: { dawnFlags: ['disable-dawn-features='] }, flags: ['disable-dawn-features=timestamp_quantization'] },
    { name: 'exactTimestamps: false leaves the flags as given', options: { dawnFlags: ['backend=null'], exactTimestamps: false }, flags: ['backend=null'] },
    { name: 'exactTimestamps: false and no flags', options: { exactTimestamps: false }, flags: [] },
  ];
  it.each(cases)('$name', ({ options, flags }) => {
    expect(dawnCreateFlags(options)).toEqual(flags);
  });

  it.each<[string, unknown, string]>([
    ['options that are not an object', null, 'options must be an object such as { dawnFlags: [...] }, got null'],
    ['a string for dawnFlags', { dawnFlags: 'backend=null' },
      "dawnFlags must be an array of 'name=value' strings (e.g. ['enable-dawn-features=allow_unsafe_apis']), got \"backend=null\""],
    ['a flag without a value', { dawnFlags: ['backend=null', 'verbose'] }, 'dawnFlags must be an array of \'name=value\' strings'],
    ['a number for exactTimestamps', { exactTimestamps: 1 }, 'exactTimestamps must be a boolean, got 1'],
  ])('setupNodeWebGPU rejects %s, before it looks for Dawn', async (_, options, message) => {
    await expect(setupNodeWebGPU(options as never)).rejects.toThrow(`setupNodeWebGPU: ${message}`);
  });

  it('does not change the caller\'s array', () => {
    const dawnFlags = ['disable-dawn-features=a'];
    dawnCreateFlags({ dawnFlags });
    expect(dawnFlags).toEqual(['disable-dawn-features=a']);
  });
});
