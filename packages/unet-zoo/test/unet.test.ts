import { describe, expect, it } from 'vitest';
import { resolveCommonConfig, type CommonConfig } from '@sa-unet/unet-zoo';
import { describeModel } from './model-tester.js';

describeModel('unet');

describe('resolveCommonConfig for a model of your own', () => {
  const base = { inputShape: [32, 32, 1] as [number, number, number] };

  it('passes other keys when the model is not the zoo\'s and names none', () => {
    expect(resolveCommonConfig({ ...base, myOption: 1 } as CommonConfig, 'my-net')).toMatchObject({ baseFilters: 32, name: 'my_net' });
  });

  it('checks them against the names it is given', () => {
    expect(resolveCommonConfig({ ...base, myOption: 1 } as CommonConfig, 'my-net', ['myOption']).depth).toBe(4);
    expect(() => resolveCommonConfig({ ...base, myOptoin: 1 } as CommonConfig, 'my-net', ['myOption']))
      .toThrow(/^my-net: unknown option 'myOptoin'; it takes inputShape, .*, name, myOption$/);
  });
});
