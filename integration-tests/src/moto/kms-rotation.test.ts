/**
 * The scheduled KMS rotation handler of @nhi-dns/rotation against real AWS APIs (moto on loopback:
 * KMS P-256, Route 53) and real DNS (the record exported to a loopback DNS server after every
 * change), over 92 days of an injected clock: day 0 nothing; day 91 a start (alias moved, two
 * keys, the old one with exp); the same day nothing (pending); after exp the finish (old key
 * removed, its KMS key PendingDeletion). Throughout, every WIT minted through the alias verifies
 * against what DNS serves until its own exp: no WIT signed during the rotation is ever refused
 * while unexpired. An interrupted start then blocks the next run (`stranded_key`) instead of
 * creating a third key. moto has no Ed25519 keys, so the keys are P-256.
 */
import { DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { keygenKms, mintKmsWorkloadIdentity } from '@nhi-dns/cli';
import {
  decodeProof,
  importRecordKeys,
  METRIC,
  type NhiLogger,
  type NhiMetrics,
  type ProofError,
  parseRecordSet,
  verifyWorkloadIdentity,
} from '@nhi-dns/core';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { createKmsRotation, type KmsRotationResult } from '@nhi-dns/rotation';
import { type MotoServer, startMoto } from '../lab/moto.js';
import { createMotoHostedZone, exportTxtToDns } from '../lab/moto-zone.js';

const ZONE = 'auth.example.com';
const NAME = `billing.prod.${ZONE}`;
const ALIAS = 'alias/nhi/prod/billing';
const SIGNER_ROLE = 'arn:aws:iam::123456789012:role/billing-function';
const INPUT = { service: 'billing', environment: 'prod', signerRoles: [SIGNER_ROLE], rotationDays: 90 };
const DAY_MS = 86_400_000;
/** A Lambda context with the longest timeout Lambda allows. */
const LAMBDA = { awsRequestId: 'kms-rotation', getRemainingTimeInMillis: () => 900_000 };

let moto: MotoServer;
let dns: TestDnsServer;
let route53: Route53Client;
let kms: KMSClient;
let hostedZoneId: string;
let suiteStarted: number;

/** The injected clock (ms): real time at first (moto stamps CreationDate with it), then days later. */
let clock = Date.now();
const seconds = (): number => Math.floor(clock / 1000);
/** Called when the handler sleeps out the propagation wait; the clock moves by the wait. */
let duringWait: () => Promise<void> = async () => {};

/** Copies the identity's TXT RRset from moto's Route 53 into the loopback DNS server. */
const exportToDns = (): Promise<void> => exportTxtToDns(route53, hostedZoneId, NAME, dns);

/** The identity's keys as DNS serves them now (no cache: each call asks). */
const keysFromDns = async () => {
  const resolver = createResolver({ servers: [dns.server], cache: false });
  const answer = await resolver.resolveTxt(NAME);
  return importRecordKeys(parseRecordSet(NAME, answer.records).keys).keys;
};

/** Every WIT minted so far, with the kid that signed it and its exp. */
const minted: { wit: string; kid: string; exp: number; label: string }[] = [];

/** Mints a WIT through the alias, as a signer does at each renewal (one hour). */
const mint = async (label: string): Promise<string> => {
  const signer = await mintKmsWorkloadIdentity({ kms, kmsKeyId: ALIAS, name: NAME, now: seconds() });
  const { header, claims } = decodeProof(signer.wit);
  minted.push({ wit: signer.wit, kid: header.kid ?? '', exp: Number(claims.exp), label });
  return header.kid ?? '';
};

/**
 * The property: at the current time, every minted WIT that is not yet expired verifies against
 * the record DNS serves. Returns how many were checked.
 */
const everyUnexpiredWitVerifies = async (): Promise<number> => {
  await exportToDns();
  const keys = await keysFromDns();
  const unexpired = minted.filter((entry) => entry.exp > seconds());
  const refused: string[] = [];
  for (const entry of unexpired) {
    const key = keys.get(entry.kid);
    try {
      if (key === undefined) throw new Error(`${entry.kid} is not in DNS`);
      verifyWorkloadIdentity(decodeProof(entry.wit), { key, now: seconds() });
    } catch (error) {
      refused.push(`${entry.label}: ${(error as ProofError).reason ?? (error as Error).message}`);
    }
  }
  expect(refused).toEqual([]);
  return unexpired.length;
};

/** What the runs counted, by metric and `Step`. */
const counted: string[] = [];
const recordingMetrics = {
  addMetric: (metric: string, _unit: string, value: number) => {
    counted.push(`${metric}=${value}`);
  },
  singleMetric: () => {
    let step = '';
    const emitter = {
      addDimension: (_name: string, value: string) => {
        step = value;
        return emitter;
      },
      addMetric: (metric: string) => {
        counted.push(`${metric}:${step}`);
      },
    };
    return emitter;
  },
  publishStoredMetrics: () => {},
  hasStoredMetrics: () => false,
} as unknown as NhiMetrics;
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} } as NhiLogger;

const rotation = (sleep?: (ms: number) => Promise<void>) =>
  createKmsRotation({
    kms,
    route53,
    secrets: new SecretsManagerClient(moto.clientConfig),
    now: () => clock,
    sleep:
      sleep ??
      (async (ms) => {
        clock += ms;
        await duringWait();
      }),
    env: { NHI_ZONE: ZONE, NHI_HOSTED_ZONE_ID: hostedZoneId },
    logger: quietLogger,
    metrics: recordingMetrics,
  });

const kmsKeyCount = async (): Promise<number> => (await kms.send(new ListKeysCommand({}))).Keys?.length ?? 0;

beforeAll(async () => {
  suiteStarted = performance.now();
  moto = await startMoto();
  dns = await startTestDnsServer({ zone: ZONE });
  route53 = new Route53Client(moto.clientConfig);
  kms = new KMSClient(moto.clientConfig);
  hostedZoneId = await createMotoHostedZone(route53, ZONE);
}, 60_000);

afterAll(async () => {
  await dns?.stop();
  await moto?.stop();
  console.log(`kms-rotation on moto: ${((performance.now() - suiteStarted) / 1000).toFixed(1)} s`);
});

describe('the scheduled KMS rotation handler on moto (KMS P-256, Route 53) and real DNS', () => {
  let first: string;
  let second: string;
  let finishAfter: number;

  it('day 0: keygen --kms, then a run finds the key current and mints verify', async () => {
    first = (
      await keygenKms(
        { ...INPUT, zone: ZONE, hostedZoneId, keyType: 'p256', propagationWaitSeconds: 0 },
        {
          route53,
          kms,
          secrets: new SecretsManagerClient(moto.clientConfig),
          now: () => clock,
          sleep: async () => {},
        },
      )
    ).kid;
    const result = await rotation()(INPUT, LAMBDA);
    expect(result).toMatchObject({ outcome: 'current', kid: first });
    expect(await mint('day 0')).toBe(first);
    expect(await everyUnexpiredWitVerifies()).toBe(1);
    expect(counted.splice(0)).toEqual([
      expect.stringMatching(new RegExp(`^${METRIC.signingKeyAge}=\\d+$`)),
      `${METRIC.rotationStep}:check`,
    ]);
  });

  it('day 91: the run starts a rotation; WITs minted before, during the TTL wait and after the move all verify', async () => {
    clock += 91 * DAY_MS;
    expect(await mint('day 91, before the run')).toBe(first);
    let waited = false;
    duringWait = async () => {
      waited = true;
      // The new key is in DNS, the alias still names the old one: signers keep minting with it.
      expect([...(await keysFromDnsAfterExport()).keys()].sort()).toHaveLength(2);
      expect(await mint('day 91, during the propagation wait')).toBe(first);
      await everyUnexpiredWitVerifies();
    };
    const result = (await rotation()(INPUT, LAMBDA)) as Extract<KmsRotationResult, { outcome: 'started' }>;
    duringWait = async () => {};
    expect(waited).toBe(true);
    expect(result).toMatchObject({ outcome: 'started', retiring: first });
    second = result.kid;
    finishAfter = result.finishAfter;
    // The ceiling of a WIT lifetime by default: a signer may be configured up to it.
    expect(finishAfter).toBe(seconds() + 86_400 + 60);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: ALIAS }));
    expect(`kms-${KeyMetadata?.KeyId}`).toBe(second);
    const keys = await keysFromDnsAfterExport();
    expect([...keys.keys()].sort()).toEqual([first, second].sort());
    expect(keys.get(first)).toMatchObject({ expiresAt: finishAfter });
    expect(keys.get(second)?.expiresAt).toBeUndefined();
    expect(await mint('day 91, after the move')).toBe(second);
    // The day-0 WIT expired long ago; the three of day 91 are live.
    expect(await everyUnexpiredWitVerifies()).toBe(3);
    // A WIT minted with the old key just before the move expires before the old key does.
    expect(
      Math.max(...minted.filter((entry) => entry.kid === first).map((entry) => entry.exp)),
    ).toBeLessThanOrEqual(finishAfter - 60);
    expect(counted.splice(0).slice(1)).toEqual([
      `${METRIC.rotationStep}:check`,
      `${METRIC.rotationStep}:start`,
    ]);
  });

  it('the same day again: nothing to do (pending), up to the last second of the old key', async () => {
    const kmsKeys = await kmsKeyCount();
    expect(await rotation()(INPUT, LAMBDA)).toEqual({
      outcome: 'pending',
      name: NAME,
      retiring: [first],
      finishAfter,
    });
    clock = (finishAfter - 1) * 1000;
    expect(await rotation()(INPUT, LAMBDA)).toMatchObject({ outcome: 'pending' });
    expect(await kmsKeyCount()).toBe(kmsKeys);
    expect(await mint('a second before the old key expires')).toBe(second);
    await everyUnexpiredWitVerifies();
  });

  it('after exp: the run finishes (old key removed, its KMS key PendingDeletion); the new key’s WITs still verify', async () => {
    clock = finishAfter * 1000;
    const result = await rotation()(INPUT, LAMBDA);
    expect(result).toEqual({
      outcome: 'finished',
      name: NAME,
      removed: [first],
      scheduledDeletion: [first.slice(4)],
    });
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: first.slice(4) }));
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect([...(await keysFromDnsAfterExport()).keys()]).toEqual([second]);
    expect(minted.filter((entry) => entry.exp > seconds()).map((entry) => entry.kid)).toEqual([second]);
    expect(await everyUnexpiredWitVerifies()).toBe(1);
    expect(await mint('after the finish')).toBe(second);
    expect(await everyUnexpiredWitVerifies()).toBe(2);
  });

  it('an interrupted start blocks the next run (stranded_key) instead of creating a third key', async () => {
    // moto stamps CreationDate with its own wall clock, which cannot be moved: the new key was
    // made today in moto's time, so the clock goes back to the day after, and the WITs of the
    // days ahead are forgotten (they would only be "not yet valid" there).
    clock = Date.now() + DAY_MS;
    minted.length = 0;
    expect(await rotation()(INPUT, LAMBDA)).toMatchObject({ outcome: 'current', kid: second });
    clock += 91 * DAY_MS;
    const killed = rotation(async (ms) => {
      clock += ms;
      // The function times out in the propagation wait: the next key is created and published.
      throw new Error('Task timed out');
    });
    await expect(killed(INPUT, LAMBDA)).rejects.toMatchObject({ reason: 'step_failed', step: 'start' });
    const keys = await keysFromDnsAfterExport();
    expect(keys.size).toBe(2);
    const kmsKeys = await kmsKeyCount();
    counted.splice(0);

    await expect(rotation()(INPUT, LAMBDA)).rejects.toMatchObject({
      name: 'KmsRotationStateError',
      reason: 'stranded_key',
    });
    expect(await kmsKeyCount()).toBe(kmsKeys);
    expect(counted).toContain(`${METRIC.rotationFailure}:check`);
    // The alias never moved: signers still mint with the current key, and those WITs verify.
    expect(await mint('after the interrupted start')).toBe(second);
    await everyUnexpiredWitVerifies();
  });
});

async function keysFromDnsAfterExport() {
  await exportToDns();
  return keysFromDns();
}
