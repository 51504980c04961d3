import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsError } from './errors.js';
import { SecretReader } from './reader.js';
import {
  awsError,
  captureStdout,
  MARK,
  mockSecretsManager,
  newClient,
  secretValue,
  testClock,
} from './test-helpers.test-support.js';

const NAME = '/prod/nhi/billing/signing-key';
const sm = mockSecretsManager();
let output: ReturnType<typeof captureStdout>;

beforeEach(() => {
  sm.reset();
  output = captureStdout();
});
afterEach(() => output.restore());

describe('SecretReader', () => {
  it('fetches once, serves the same value object from memory, refetches after maxAge', async () => {
    const clock = testClock();
    const reader = new SecretReader({
      client: newClient(),
      maxAge: 60,
      rotationAware: false,
      now: clock.now,
    });
    const first = await reader.read(NAME);
    expect(first).toBe(secretValue(NAME));
    expect(await reader.read(NAME)).toBe(first);
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(1);
    sm.rotate(NAME, 2);
    clock.advance(61);
    expect(await reader.read(NAME)).toBe(secretValue(NAME, 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps the identity of a parsed JSON value while it is cached, and drops it on invalidate', async () => {
    sm.mock.on(GetSecretValueCommand).resolves({ SecretString: '{"kid":"k1"}', VersionId: 'v1' });
    const reader = new SecretReader({ client: () => newClient(), rotationAware: false });
    const value = await reader.read(NAME, { json: true });
    expect(value).toEqual({ kid: 'k1' });
    expect(Object.isFrozen(value)).toBe(true);
    expect(await reader.read(NAME, { json: true })).toBe(value);
    reader.invalidate(NAME, { json: true });
    const again = await reader.read(NAME, { json: true });
    expect(again).toEqual(value);
    expect(again).not.toBe(value);
  });

  it('reads another version stage with GetSecretValue', async () => {
    const reader = new SecretReader({ client: newClient(), rotationAware: false });
    await reader.read(NAME, { versionStage: 'AWSPENDING' });
    expect(sm.calls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      VersionStage: 'AWSPENDING',
    });
  });

  it('throws a typed error without the value, and recovers when Secrets Manager answers again', async () => {
    sm.mock.on(GetSecretValueCommand).rejectsOnce(awsError('ThrottlingException', 'client', 429));
    const reader = new SecretReader({ client: newClient(), rotationAware: false });
    await expect(reader.read(NAME)).rejects.toBeInstanceOf(SecretsError);
    sm.reset();
    expect(await reader.read(NAME)).toBe(secretValue(NAME));
    expect(output.lines.join('\n')).not.toContain(MARK);
  });

  it('refuses bad durations', () => {
    expect(() => new SecretReader({ maxAge: -1 })).toThrow(TypeError);
    expect(() => new SecretReader({ staleIfError: Number.NaN })).toThrow(TypeError);
  });
});

describe('SecretReader.peek', () => {
  it('answers from memory while fresh, undefined before the first read and after expiry', async () => {
    const clock = testClock();
    const reader = new SecretReader({
      client: newClient(),
      maxAge: 60,
      rotationAware: false,
      now: clock.now,
    });
    expect(reader.peek(NAME)).toBeUndefined();
    const value = await reader.read(NAME);
    expect(reader.peek(NAME)).toBe(value);
    clock.advance(55);
    // In the last 10% of its life: served, and refreshed in the background.
    sm.rotate(NAME, 2);
    expect(reader.peek(NAME)).toBe(value);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reader.peek(NAME)).toBe(secretValue(NAME, 2));
    clock.advance(61);
    expect(reader.peek(NAME)).toBeUndefined();
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });
});
