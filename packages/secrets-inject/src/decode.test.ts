import { decodeSecretValue } from './decode.js';

describe('decodeSecretValue', () => {
  it('auto: parses JSON objects and arrays, keeps other text', () => {
    expect(decodeSecretValue(' {"a":1} ', 'auto')).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeSecretValue('[1,2]', 'auto')).toEqual({ ok: true, value: [1, 2] });
    expect(decodeSecretValue('hunter2', 'auto')).toEqual({ ok: true, value: 'hunter2' });
    expect(decodeSecretValue('42', 'auto')).toEqual({ ok: true, value: '42' });
  });

  it('auto: keeps a string that only looks like JSON', () => {
    expect(decodeSecretValue('{not json}', 'auto')).toEqual({ ok: true, value: '{not json}' });
  });

  it('true: requires JSON, and reports no detail of a bad value', () => {
    expect(decodeSecretValue('42', true)).toEqual({ ok: true, value: 42 });
    expect(decodeSecretValue('hunter2', true)).toEqual({ ok: false });
  });

  it('false: never parses', () => {
    expect(decodeSecretValue('{"a":1}', false)).toEqual({ ok: true, value: '{"a":1}' });
  });

  it('keeps binary as bytes unless json is true', () => {
    const bytes = new TextEncoder().encode('{"a":1}');
    expect(decodeSecretValue(bytes, 'auto')).toEqual({ ok: true, value: bytes });
    expect(decodeSecretValue(bytes, true)).toEqual({ ok: true, value: { a: 1 } });
  });

  it('deep-freezes parsed values and drops __proto__ keys', () => {
    const result = decodeSecretValue('{"db":{"user":"u"},"__proto__":{"polluted":true}}', 'auto');
    if (!result.ok) throw new Error('expected a value');
    const value = result.value as { db: { user: string } };
    expect(Object.isFrozen(value.db)).toBe(true);
    expect(Object.hasOwn(value, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
