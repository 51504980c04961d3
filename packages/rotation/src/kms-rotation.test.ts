import { generateKeyPairSync } from 'node:crypto';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { formatTxtValue } from '@nhi-dns/cli';
import { formatRecord, METRIC, type NhiLogger, type NhiMetrics } from '@nhi-dns/core';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createKmsRotation,
  KmsRotationConfigError,
  KmsRotationError,
  KmsRotationInputError,
  type KmsRotationOptions,
  KmsRotationTimeBudgetError,
  parseKmsRotationInput,
  readKmsRotationEnvironment,
} from './index.js';

const ZONE = 'auth.example.com';
const HOSTED_ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const NAME = `billing.prod.${ZONE}`;
const ROLE = 'arn:aws:iam::123456789012:role/billing-function';
const KEY_ID = '0b7f1e0a-1111-4222-8333-944455556666';
const INPUT = { service: 'billing', environment: 'prod', signerRoles: [ROLE], rotationDays: 90 };
const ENV = { NHI_ZONE: ZONE, NHI_HOSTED_ZONE_ID: HOSTED_ZONE_ID };
const NOW = Date.UTC(2026, 11, 8);
const DAY_MS = 86_400_000;

/** What a run logged and counted, recorded by a logger and metrics of the shape nhi-dns uses. */
const observed = () => {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const counts: { metric: string; dimension?: string; value: string | number }[] = [];
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, fields });
    };
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const metrics = {
    addMetric: (metric: string, _unit: string, value: number) => {
      counts.push({ metric, value });
    },
    singleMetric: () => {
      let dimension = '';
      const emitter = {
        addDimension: (name: string, value: string) => {
          dimension = `${name}=${value}`;
          return emitter;
        },
        addMetric: (metric: string) => {
          counts.push({ metric, dimension, value: 1 });
        },
      };
      return emitter;
    },
    publishStoredMetrics: () => {},
    hasStoredMetrics: () => false,
  };
  return {
    lines,
    counts,
    logger: logger as unknown as NhiLogger,
    metrics: metrics as unknown as NhiMetrics,
  };
};

/** The identity's TXT value as Route 53 lists it: one P-256 KMS key, no exp. */
const publishedRecord = (): string => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  return formatTxtValue(
    formatRecord({
      service: 'billing',
      environment: 'prod',
      kid: `kms-${KEY_ID}`,
      keyType: 'p256',
      publicKey: spki.toString('base64'),
    }),
  );
};

/** Route 53 and KMS answering a published key that is `ageDays` old. */
const awsWithKeyOfAge = (ageDays: number) => {
  const route53 = mockClient(Route53Client);
  const kms = mockClient(KMSClient);
  route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [
      { Name: `${NAME}.`, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: publishedRecord() }] },
    ],
    IsTruncated: false,
    MaxItems: 1,
  });
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: {
      KeyId: KEY_ID,
      Arn: `arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`,
      CreationDate: new Date(NOW - ageDays * DAY_MS),
    },
  });
  return { route53, kms };
};

const rotationWith = (extra: Partial<KmsRotationOptions> = {}) => {
  const seen = observed();
  const handler = createKmsRotation({
    // Clients of the mocked classes: the mock answers their `send`.
    route53: new Route53Client({ region: 'us-east-1' }),
    kms: new KMSClient({ region: 'us-east-1' }),
    now: () => NOW,
    sleep: async () => {},
    env: ENV,
    logger: seen.logger,
    metrics: seen.metrics,
    ...extra,
  });
  return { handler, seen };
};

/** A Lambda context whose deadline is `seconds` away. */
const contextWith = (seconds: number) => ({ getRemainingTimeInMillis: () => seconds * 1000 });

afterEach(() => {
  // One mock per client class at a time: each test's mocks end with it.
  mockClient(Route53Client).restore();
  mockClient(KMSClient).restore();
});

describe('Function: parseKmsRotationInput', () => {
  it('applies the defaults of the WIT lifetime and the clock skew', () => {
    // Act
    const input = parseKmsRotationInput(INPUT);

    // Assess
    expect(input).toEqual({ ...INPUT, maxWitLifetime: 86_400, clockSkew: 60 });
  });

  it.each([
    ['a missing rotationDays', { ...INPUT, rotationDays: undefined }, "option 'rotationDays' is required"],
    [
      'an unknown field, with a hint',
      { ...INPUT, rotationDay: 30 },
      "unknown option 'rotationDay' (did you mean",
    ],
    ['a service that is no DNS label', { ...INPUT, service: 'Billing!' }, "option 'service' is 'Billing!'"],
    ['no signer role', { ...INPUT, signerRoles: [] }, "option 'signerRoles' is []"],
    ['a user ARN as signer', { ...INPUT, signerRoles: ['arn:aws:iam::123456789012:user/x'] }, 'signerRoles'],
    [
      'signer roles of two accounts',
      { ...INPUT, signerRoles: [ROLE, 'arn:aws:iam::210987654321:role/other'] },
      'one account',
    ],
    ['a WIT lifetime above a day', { ...INPUT, maxWitLifetime: 86_401 }, "option 'maxWitLifetime' is 86401"],
    ['a fractional period', { ...INPUT, rotationDays: 1.5 }, "option 'rotationDays' is 1.5"],
    ['no object at all', 'billing', 'options must be an object'],
  ])('refuses %s with a typed error naming the field', (_case, input, message) => {
    // Act
    const parse = () => parseKmsRotationInput(input);

    // Assess
    expect(parse).toThrow(KmsRotationInputError);
    expect(parse).toThrow(message);
  });
});

describe('Function: readKmsRotationEnvironment', () => {
  it('reads the zone (canonical) and the hosted zone id', () => {
    expect(
      readKmsRotationEnvironment({ NHI_ZONE: 'Auth.Example.com.', NHI_HOSTED_ZONE_ID: HOSTED_ZONE_ID }),
    ).toEqual({
      zone: ZONE,
      hostedZoneId: HOSTED_ZONE_ID,
    });
  });

  it.each([
    [{ NHI_HOSTED_ZONE_ID: HOSTED_ZONE_ID }, 'NHI_ZONE is not set'],
    [{ NHI_ZONE: ZONE }, 'NHI_HOSTED_ZONE_ID is not set'],
    [{ NHI_ZONE: ZONE, NHI_HOSTED_ZONE_ID: 'zone-1' }, "NHI_HOSTED_ZONE_ID is 'zone-1'"],
  ])('refuses %j', (env, message) => {
    expect(() => readKmsRotationEnvironment(env)).toThrow(KmsRotationConfigError);
    expect(() => readKmsRotationEnvironment(env)).toThrow(message);
  });
});

describe('Function: createKmsRotation', () => {
  it('fails a run with unknown input fields before any AWS call: logged, counted, typed', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(10);
    const { handler, seen } = rotationWith();

    // Act
    const run = handler({ ...INPUT, rotationPeriod: 90 }, contextWith(900));

    // Assess
    await expect(run).rejects.toMatchObject({
      name: 'KmsRotationInputError',
      reason: 'invalid_input',
      step: 'check',
    });
    expect(aws.kms.calls()).toHaveLength(0);
    expect(aws.route53.calls()).toHaveLength(0);
    expect(seen.counts).toEqual([{ metric: METRIC.rotationFailure, dimension: 'Step=check', value: 1 }]);
    expect(seen.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining("unknown option 'rotationPeriod'"),
        fields: expect.objectContaining({ 'nhi.reason': 'invalid_input', 'nhi.step': 'check' }),
      }),
    ]);
  });

  it('fails a run without NHI_ZONE as invalid_config', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(10);
    const { handler } = rotationWith({ env: { NHI_HOSTED_ZONE_ID: HOSTED_ZONE_ID } });

    // Act and assess
    await expect(handler(INPUT, contextWith(900))).rejects.toBeInstanceOf(KmsRotationConfigError);
    expect(aws.kms.calls()).toHaveLength(0);
  });

  it('fails a run whose KMS answers ThrottlingException as step_failed at check, creating nothing', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(100);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    aws.kms.on(DescribeKeyCommand).rejects(throttled);
    const { handler, seen } = rotationWith();

    // Act
    const run = handler(INPUT, contextWith(900));

    // Assess
    await expect(run).rejects.toMatchObject({ reason: 'step_failed', step: 'check', cause: throttled });
    expect(aws.kms.commandCalls(CreateKeyCommand)).toHaveLength(0);
    expect(seen.counts).toEqual([{ metric: METRIC.rotationFailure, dimension: 'Step=check', value: 1 }]);
    expect(seen.lines.at(-1)?.fields).toMatchObject({ 'aws.code': 'ThrottlingException' });
  });

  it('fails a start throttled at CreateKey as step_failed at start, with the record untouched', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(100);
    aws.kms
      .on(CreateKeyCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { handler, seen } = rotationWith();

    // Act
    const run = handler(INPUT, contextWith(900));

    // Assess
    await expect(run).rejects.toMatchObject({ reason: 'step_failed', step: 'start' });
    expect(aws.route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    expect(seen.counts).toEqual([
      { metric: METRIC.signingKeyAge, value: 100 * 86_400 },
      { metric: METRIC.rotationFailure, dimension: 'Step=start', value: 1 },
    ]);
  });

  it('fails a start with too little Lambda time left for the TTL wait before creating anything', async () => {
    // Prepare: TTL 300 + 5, two INSYNC waits of 120, 30 s of calls = 575 s needed.
    const aws = awsWithKeyOfAge(91);
    const { handler, seen } = rotationWith();

    // Act
    const run = handler(INPUT, contextWith(574));

    // Assess
    await expect(run).rejects.toBeInstanceOf(KmsRotationTimeBudgetError);
    await expect(handler(INPUT, contextWith(574))).rejects.toThrow(
      /needs 575 s .* and 574 s are left; nothing was created/,
    );
    expect(aws.kms.commandCalls(CreateKeyCommand)).toHaveLength(0);
    expect(aws.route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    expect(seen.counts).toContainEqual({ metric: METRIC.rotationFailure, dimension: 'Step=start', value: 1 });
  });

  it('fails a run whose alias names no key as no_key', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(1);
    aws.kms
      .on(DescribeKeyCommand)
      .rejects(Object.assign(new Error('Alias not found'), { name: 'NotFoundException' }));
    const { handler } = rotationWith();

    // Act and assess
    await expect(handler(INPUT, contextWith(900))).rejects.toMatchObject({
      reason: 'no_key',
      message: expect.stringContaining('alias/nhi/prod/billing names no KMS key'),
    });
  });

  it('turns an error of no known kind into a typed KmsRotationError', async () => {
    // Prepare
    const aws = awsWithKeyOfAge(1);
    aws.route53.on(ListResourceRecordSetsCommand).rejects(new TypeError('socket hang up'));
    const { handler } = rotationWith();

    // Act and assess
    await expect(handler(INPUT, contextWith(900))).rejects.toBeInstanceOf(KmsRotationError);
  });
});
