import { describe, expect, it } from 'vitest';
import { errorMessage, fileErrorReason } from '../src/errors.js';

describe('errorMessage', () => {
  it.each([
    ['an Error', new Error('disk full'), 'disk full'],
    ['a string', 'plain text', 'plain text'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
  ])('of %s', (_what, thrown, expected) => {
    expect(errorMessage(thrown)).toBe(expected);
  });
});

describe('fileErrorReason', () => {
  it('is the system error code where there is one', () => {
    const err = Object.assign(new Error('ENOENT: no such file or directory, open x.png'), { code: 'ENOENT' });
    expect(fileErrorReason(err)).toBe('ENOENT');
  });
  it('is the message of an error without a code, and any other value as text', () => {
    expect(fileErrorReason(new Error('bad header'))).toBe('bad header');
    expect(fileErrorReason(null)).toBe('null');
    expect(fileErrorReason({ code: 7 })).toBe('[object Object]');
  });
});
