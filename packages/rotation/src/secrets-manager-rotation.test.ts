// Unit tests of the Secrets Manager rotation function on the CLI's stateful Route 53 and Secrets
// Manager fakes (aws-sdk-client-mock), for what moto cannot show: a PENDING change, a step that
// runs out of time, AWS faults mid-step. The end-to-end suite runs on moto
// (integration-tests/src/moto/secrets-rotation.test.ts).
import { GetChangeCommand } from '@aws-sdk/client-route-53';
import { keygen, parseTxtValue } from '@nhi-dns/cli';
import { METRIC, parseRecordSet } from '@nhi-dns/core';
import { fakeAws, NAME, NOW_MS, TARGET } from '../../cli/src/fake-aws.test-helper.js';
import {
  createSecretsManagerRotation,
  type SecretsManagerRotationStep,
  VISIBLE_TAG,
} from './secrets-manager-rotation.js';
import { secretsManagerRotationConfigFromEnv } from './secrets-manager-rotation-config.js';

const SECRET = '/prod/nhi/billing/signing-key';
const TOKEN = '0f4d5c1e-7a0b-4b8e-9d7e-3c2f1a0b9e8d';

/** A world: fake AWS with a keygen'd identity, a clock that sleeps move, DNS = Route 53. */
const setUp = async (options: { remainingMs?: number; dnsLag?: boolean } = {}) => {
  const aws = fakeAws();
  let now = NOW_MS;
  aws.setNow(now);
  const clock = () => now;
  const deps = {
    ...aws.deps,
    now: clock,
    sleep: async (ms: number) => {
      now += ms;
      aws.setNow(now);
    },
  };
  await keygen({ ...TARGET, propagationWaitSeconds: 0, kid: 'k0' }, deps);
  const dns = { serving: true, lookups: 0 };
  const resolver = {
    resolveTxt: async (name: string) => {
      dns.lookups += 1;
      if (!dns.serving) return { records: [] };
      const values = aws.txt(name) ?? [];
      return { records: values.map((value) => (parseTxtValue(value) ?? []).map((part) => part.toString())) };
    },
  };
  const metrics: string[] = [];
  const emitter = {
    addDimension: (_name: string, value: string) => ({
      addMetric: (metric: string) => metrics.push(`${metric} ${value}`),
    }),
  };
  const logs: string[] = [];
  const logger = {
    debug: () => {},
    info: (message: string) => logs.push(message),
    warn: (message: string) => logs.push(`WARN ${message}`),
    error: (message: string) => logs.push(`ERROR ${message}`),
  };
  const handler = createSecretsManagerRotation({
    config: secretsManagerRotationConfigFromEnv({
      NHI_ZONE: TARGET.zone,
      NHI_HOSTED_ZONE_ID: TARGET.hostedZoneId,
    }),
    secrets: aws.secrets,
    route53: aws.route53,
    changePollSeconds: 0.01,
    resolver,
    now: clock,
    sleep: deps.sleep,
    logger,
    metrics: {
      addMetric: (metric: string, _unit: string, value: number) => metrics.push(`${metric} ${value}`),
      singleMetric: () => emitter,
      publishStoredMetrics: () => {},
      hasStoredMetrics: () => false,
    } as never,
  });
  const context = { getRemainingTimeInMillis: () => options.remainingMs ?? 900_000 };
  const step = (Step: SecretsManagerRotationStep, token = TOKEN) =>
    handler({ Step, SecretId: SECRET, ClientRequestToken: token }, context);
  const kidAt = (stage: string) => JSON.parse(aws.secretAt(SECRET, stage) ?? '{}').kid as string | undefined;
  const keys = () =>
    parseRecordSet(
      NAME,
      (aws.txt(NAME) ?? []).map((value) => (parseTxtValue(value) ?? []).map((part) => part.toString())),
    ).keys.map((key) => [key.kid, key.expiresAt]);
  return {
    aws,
    step,
    kidAt,
    keys,
    dns,
    metrics,
    logs,
    advance: (ms: number) => deps.sleep(ms),
    now: () => now,
  };
};

describe('Function: createSecretsManagerRotation (fakes)', () => {
  it('runs the four steps: stages, publishes, tests through DNS for the TTL, switches and retires', async () => {
    const { aws, step, kidAt, keys, metrics, now } = await setUp();
    for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await step(name);
    const newKid = kidAt('AWSCURRENT');
    expect(newKid).not.toBe('k0');
    expect(kidAt('AWSPREVIOUS')).toBe('k0');
    expect(aws.secretStages(SECRET)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    // TTL 300: overlap max(300, 60 + 60) + 300 = 600 from the switch.
    expect(keys()).toEqual([
      ['k0', Math.floor(now() / 1000) + 600],
      [newKid, undefined],
    ]);
    // The current key's age, once per rotation, at createSecret (the fake's versions date from NOW_MS).
    expect(metrics.filter((metric) => metric.startsWith(METRIC.signingKeyAge))).toEqual(['SigningKeyAge 0']);
    expect(metrics.filter((metric) => metric.startsWith(METRIC.rotationStep))).toEqual([
      'RotationStep createSecret',
      'RotationStep setSecret',
      'RotationStep testSecret',
      'RotationStep finishSecret',
    ]);
    expect(aws.secretTags(SECRET)['nhi:pending']).toBe('');
    expect(aws.secretTags(SECRET)[VISIBLE_TAG]).toMatch(new RegExp(`^${TOKEN} \\d+ ok$`));
  });

  it('setSecret waits for INSYNC while Route 53 answers PENDING', async () => {
    const { aws, step } = await setUp();
    await step('createSecret');
    aws.route53Mock
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolvesOnce({ ChangeInfo: { Id: '/change/C', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'INSYNC', SubmittedAt: new Date() } });
    await step('setSecret');
    expect(aws.route53Mock.commandCalls(GetChangeCommand)).toHaveLength(3);
  });

  it('setSecret fails when the change is not INSYNC within the remaining time, and the retry goes on', async () => {
    const { aws, step, kidAt } = await setUp({ remainingMs: 6_000 });
    await step('createSecret');
    aws.route53Mock
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'PENDING', SubmittedAt: new Date() } });
    await expect(step('setSecret')).rejects.toThrow(/INSYNC/);
    expect(kidAt('AWSCURRENT')).toBe('k0');
  });

  it('testSecret fails with not_visible when DNS never serves the key, changing nothing', async () => {
    const { step, kidAt, keys, dns } = await setUp({ remainingMs: 30_000 });
    await step('createSecret');
    await step('setSecret');
    dns.serving = false;
    const before = keys();
    await expect(step('testSecret')).rejects.toMatchObject({ reason: 'not_visible' });
    expect(dns.lookups).toBeGreaterThan(5);
    await expect(step('finishSecret')).rejects.toMatchObject({ reason: 'not_tested' });
    expect(kidAt('AWSCURRENT')).toBe('k0');
    expect(keys()).toEqual(before);
  });

  it('testSecret never waits past the remaining time: out_of_time, then the next attempt resumes the wait', async () => {
    const { aws, step, kidAt, advance, now } = await setUp({ remainingMs: 60_000 });
    await step('createSecret');
    await step('setSecret');
    const started = now();
    await expect(step('testSecret')).rejects.toMatchObject({ reason: 'out_of_time' });
    expect(now() - started).toBeLessThan(60_000);
    const since = Number(aws.secretTags(SECRET)[VISIBLE_TAG]?.split(' ')[1]);
    expect(since).toBe(Math.floor(started / 1000));
    await advance(290_000);
    await step('testSecret');
    expect(aws.secretTags(SECRET)[VISIBLE_TAG]).toBe(`${TOKEN} ${since} ok`);
    expect(Math.floor(now() / 1000)).toBeGreaterThanOrEqual(since + 305);
    expect(kidAt('AWSCURRENT')).toBe('k0');
  });

  it('a failure while switching leaves AWSCURRENT as it was; the retry finishes', async () => {
    const { aws, step, kidAt } = await setUp();
    for (const name of ['createSecret', 'setSecret', 'testSecret'] as const) await step(name);
    aws.failOnce(
      'UpdateSecretVersionStage',
      (input) => input.VersionStage === 'AWSCURRENT',
      Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }),
    );
    await expect(step('finishSecret')).rejects.toThrow('denied');
    expect(kidAt('AWSCURRENT')).toBe('k0');
    await step('finishSecret');
    expect(kidAt('AWSPREVIOUS')).toBe('k0');
    expect(aws.secretStages(SECRET)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
  });

  it('refuses other secrets, malformed events and missing configuration', async () => {
    const { aws, step } = await setUp();
    const handler = createSecretsManagerRotation({
      config: { ...secretsManagerRotationConfigFromEnv({ NHI_ZONE: 'z', NHI_HOSTED_ZONE_ID: 'Z1' }) },
    });
    await expect(
      handler({ Step: 'nope', SecretId: SECRET, ClientRequestToken: TOKEN } as never),
    ).rejects.toMatchObject({
      reason: 'bad_event',
    });
    expect(() => secretsManagerRotationConfigFromEnv({ NHI_ZONE: 'auth.example.com' })).toThrow(
      /NHI_HOSTED_ZONE_ID/,
    );
    expect(() =>
      secretsManagerRotationConfigFromEnv({ NHI_ZONE: 'a', NHI_HOSTED_ZONE_ID: 'Z', NHI_CLOCK_SKEW: '-1' }),
    ).toThrow(/NHI_CLOCK_SKEW/);
    aws.setSecret('/prod/db/password', '{}');
    await expect(
      createSecretsManagerRotation({
        config: secretsManagerRotationConfigFromEnv({
          NHI_ZONE: 'auth.example.com',
          NHI_HOSTED_ZONE_ID: 'Z1',
        }),
        secrets: aws.secrets,
        route53: aws.route53,
        logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        metrics: {
          addMetric: () => {},
          singleMetric: () => ({ addDimension: () => ({ addMetric: () => {} }) }),
          publishStoredMetrics: () => {},
          hasStoredMetrics: () => false,
        } as never,
      })({ Step: 'createSecret', SecretId: '/prod/db/password', ClientRequestToken: TOKEN }),
    ).rejects.toMatchObject({ reason: 'bad_secret_name' });
    expect(aws.secretVersions('/prod/db/password')).toEqual(['{}']);
    await expect(step('setSecret', 'ffffffff-ffff-4fff-8fff-ffffffffffff')).rejects.toMatchObject({
      reason: 'unknown_version',
    });
  });
});
