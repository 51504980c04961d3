/**
 * The Secrets Manager rotation function end to end against real AWS APIs (moto on loopback:
 * Route 53, Secrets Manager) and real DNS (the Route 53 RRset exported into a loopback DNS server,
 * asked through the resolver). moto's RotateSecret needs Docker for its Lambda backend, so the
 * four steps are called as Secrets Manager calls them: the same event shape, the secret's ARN.
 * The clock is compressed: the function's sleeps, the signer's key cache and the verifier's DNS
 * cache run on one fake clock, so a rotation with a 60 s TTL and a 420 s overlap takes moments.
 */
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { jest } from '@jest/globals';
import { keygen, parseTxtValue, rotate } from '@nhi-dns/cli';
import {
  decodeProof,
  importRecordKeys,
  parseRecordSet,
  type VerificationKey,
  verifyProof,
} from '@nhi-dns/core';
import { createSigner } from '@nhi-dns/identity-sign';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { createSecretsManagerRotation, type SecretsManagerRotationStep } from '@nhi-dns/rotation';
import { type MotoServer, startMoto } from '../lab/moto.js';
import { createMotoHostedZone, exportTxtToDns } from '../lab/moto-zone.js';

const ZONE = 'auth.example.com';
const CALLEE = `ledger.prod.${ZONE}`;
const TTL = 60;
/** max(TTL 60, signer keyMaxAge 60 + clock skew 60) + max proof lifetime 300. */
const OVERLAP = 420;
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

let moto: MotoServer;
let dns: TestDnsServer;
let route53: Route53Client;
let secrets: SecretsManagerClient;
let hostedZoneId: string;
let suiteStarted: number;
let clock = Date.now();
/**
 * Moves the one clock everything reads: the function's and the signer's `now`, and `Date` itself
 * (identity-sign stamps proofs from `Date.now`), with timers left real for sockets and moto.
 */
const advance = (ms: number): void => {
  clock += ms;
  jest.setSystemTime(clock);
};
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const noMetrics = {
  addMetric: () => {},
  singleMetric: () => ({ addDimension: () => ({ addMetric: () => {} }) }),
  publishStoredMetrics: () => {},
  hasStoredMetrics: () => false,
} as never;

/** Copies an identity's TXT RRset from moto's Route 53 into the loopback DNS server. */
const exportToDns = (name: string): Promise<void> => exportTxtToDns(route53, hostedZoneId, name, dns);

/** The keys DNS serves for `name` now (no cache). */
const keysFromDns = async (name: string): Promise<ReadonlyMap<string, VerificationKey>> => {
  const answer = await createResolver({ servers: [dns.server], cache: false }).resolveTxt(name);
  return importRecordKeys(parseRecordSet(name, answer.records).keys).keys;
};

/** What Route 53 holds for `name`: kid → exp. */
const route53Keys = async (name: string) => {
  const { ResourceRecordSets = [] } = await route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId }),
  );
  const set = ResourceRecordSets.find((rr) => rr.Type === 'TXT' && rr.Name === `${name}.`);
  const records = (set?.ResourceRecords ?? []).map(({ Value = '' }) =>
    (parseTxtValue(Value) ?? []).map((part) => part.toString()),
  );
  return parseRecordSet(name, records).keys.map((key) => [key.kid, key.expiresAt ?? null] as const);
};

/**
 * An identity made by `nhi-dns keygen` (the CLI library) on moto, and a rotation function for it
 * whose DNS follows Route 53 (`dnsFollows`) or stays as it was.
 */
const identity = async (service: string, options: { remainingMs?: number } = {}) => {
  const name = `${service}.prod.${ZONE}`;
  const secretName = `/prod/nhi/${service}/signing-key`;
  const deps = { route53, secrets, now: () => clock, sleep: async () => {}, log: () => {} };
  await keygen(
    {
      service,
      environment: 'prod',
      zone: ZONE,
      hostedZoneId,
      kid: 'k0',
      ttl: TTL,
      propagationWaitSeconds: 0,
    },
    deps,
  );
  await exportToDns(name);
  const { ARN = '' } = await secrets.send(new DescribeSecretCommand({ SecretId: secretName }));
  const world = {
    name,
    secretName,
    arn: ARN,
    dnsFollows: true,
    /** Runs at every 10 s of the fake clock the function sleeps through. */
    onTick: async (): Promise<void> => {},
  };
  const resolver = createResolver({ servers: [dns.server], cache: false });
  const rotation = () =>
    createSecretsManagerRotation({
      config: {
        zone: ZONE,
        hostedZoneId,
        dnsServers: [dns.server],
        signerKeyMaxAgeSeconds: 60,
        clockSkewSeconds: 60,
        maxProofLifetimeSeconds: 300,
      },
      secrets,
      route53,
      resolver: {
        resolveTxt: async (query: string) => {
          if (world.dnsFollows) await exportToDns(query);
          return resolver.resolveTxt(query);
        },
      },
      now: () => clock,
      sleep: async (ms: number) => {
        for (let left = ms; left > 0; left -= 10_000) {
          advance(Math.min(10_000, left));
          await world.onTick();
        }
      },
      logger: silent,
      metrics: noMetrics,
      changePollSeconds: 0.01,
    });
  // One instance per call: a function killed after any step resumes in a fresh process.
  const step = (Step: SecretsManagerRotationStep, token: string) =>
    rotation()(
      { Step, SecretId: ARN, ClientRequestToken: token },
      {
        getRemainingTimeInMillis: () => options.remainingMs ?? 900_000,
      },
    );
  const stages = async () => {
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretName }));
    return Object.values(described.VersionIdsToStages ?? {})
      .map((labels) => [...labels].sort().join(','))
      .sort();
  };
  return { ...world, world, step, stages };
};

const kidOf = async (secretName: string, stage = 'AWSCURRENT') => {
  const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: stage }));
  return (JSON.parse(value.SecretString ?? '{}') as { kid?: string }).kid;
};

beforeAll(async () => {
  suiteStarted = performance.now();
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
    now: clock,
  });
  moto = await startMoto();
  dns = await startTestDnsServer({ zone: ZONE });
  route53 = new Route53Client(moto.clientConfig);
  secrets = new SecretsManagerClient(moto.clientConfig);
  hostedZoneId = await createMotoHostedZone(route53, ZONE);
}, 60_000);

afterAll(async () => {
  jest.useRealTimers();
  await dns?.stop();
  await moto?.stop();
  console.log(`secrets-rotation suite on moto: ${((performance.now() - suiteStarted) / 1000).toFixed(1)} s`);
});

describe('the Secrets Manager rotation function on moto (Route 53, Secrets Manager) and real DNS', () => {
  it('the four steps in order: the new key is current, served by DNS and verifies a proof; the old one retires', async () => {
    const id = await identity('billing');
    const token = '11111111-1111-4111-8111-111111111111';
    for (const name of STEPS) await id.step(name, token);
    const kid = await kidOf(id.secretName);
    expect(kid).not.toBe('k0');
    expect(await kidOf(id.secretName, 'AWSPREVIOUS')).toBe('k0');
    expect(await id.stages()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    const switched = Math.floor(clock / 1000);
    expect(await route53Keys(id.name)).toEqual([
      ['k0', switched + OVERLAP],
      [kid, null],
    ]);
    // A proof signed with the new key (identity-sign reading the secret from moto) verifies
    // against the key real DNS serves.
    await exportToDns(id.name);
    const signer = createSigner({ self: id.name, client: secrets, prefetch: false, now: () => clock });
    const proof = decodeProof(await signer.sign({ aud: CALLEE }));
    expect(proof.header.kid).toBe(kid);
    const key = (await keysFromDns(id.name)).get(kid ?? '');
    if (key === undefined) throw new Error('the new key is not in DNS');
    expect(verifyProof(proof, { key, audience: CALLEE, now: Math.floor(clock / 1000) }).iss).toBe(id.name);
  });

  it('nhi-dns rotate moves AWSCURRENT onto the version it staged: no version is left without a label', async () => {
    const id = await identity('operator');
    const deps = { route53, secrets, now: () => clock, sleep: async () => {}, log: () => {} };
    const target = { service: 'operator', environment: 'prod', zone: ZONE, hostedZoneId };
    const rotated = await rotate({ ...target, overlapSeconds: OVERLAP, propagationWaitSeconds: 0 }, deps);
    expect(await kidOf(id.secretName)).toBe(rotated.kid);
    expect(await id.stages()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    // Writing the key again as a new version would leave a third, unlabelled (deprecated) one.
    const { ListSecretVersionIdsCommand } = await import('@aws-sdk/client-secrets-manager');
    const listed = await secrets.send(
      new ListSecretVersionIdsCommand({ SecretId: id.secretName, IncludeDeprecated: true }),
    );
    expect(
      listed.Versions?.map((version) => [...(version.VersionStages ?? [])].sort().join(',')).sort(),
    ).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('each step called twice changes nothing the second time', async () => {
    const id = await identity('twice');
    const token = '22222222-2222-4222-8222-222222222222';
    for (const name of STEPS) {
      await id.step(name, token);
      const stages = await id.stages();
      const keys = await route53Keys(id.name);
      await id.step(name, token);
      expect(await id.stages()).toEqual(stages);
      expect(await route53Keys(id.name)).toEqual(keys);
    }
    expect(await id.stages()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect((await route53Keys(id.name)).map(([kid]) => kid)).toHaveLength(2);
  });

  it('killed during testSecret and between every step, the rotation resumes in a fresh process', async () => {
    const id = await identity('killed');
    const token = '33333333-3333-4333-8333-333333333333';
    await id.step('createSecret', token);
    const staged = await kidOf(id.secretName, 'AWSPENDING');
    await id.step('setSecret', token);
    // Lambda ends the invocation halfway through the wait for caches.
    let ticks = 0;
    id.world.onTick = async () => {
      ticks += 1;
      if (ticks === 3) throw new Error('Task timed out');
    };
    await expect(id.step('testSecret', token)).rejects.toThrow('Task timed out');
    id.world.onTick = async () => {};
    expect(await kidOf(id.secretName)).toBe('k0');
    await id.step('testSecret', token);
    await id.step('finishSecret', token);
    expect(await kidOf(id.secretName)).toBe(staged);
    expect(await id.stages()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('a second rotation while one is pending: refused once its key is published, never two pending keys', async () => {
    const id = await identity('second');
    const first = '44444444-4444-4444-8444-444444444444';
    const second = '55555555-5555-4555-8555-555555555555';
    await id.step('createSecret', first);
    // Not published yet: the second rotation takes the label over (one pending version).
    await id.step('createSecret', second);
    expect((await id.stages()).filter((labels) => labels.includes('AWSPENDING'))).toHaveLength(1);
    await id.step('setSecret', second);
    const third = '66666666-6666-4666-8666-666666666666';
    await expect(id.step('createSecret', third)).rejects.toMatchObject({ reason: 'rotation_pending' });
    expect((await id.stages()).filter((labels) => labels.includes('AWSPENDING'))).toHaveLength(1);
    // The first token's version lost its label: its steps are refused, the second finishes.
    await expect(id.step('setSecret', first)).rejects.toMatchObject({ reason: 'not_staged' });
    await id.step('testSecret', second);
    await id.step('finishSecret', second);
    expect(await kidOf(id.secretName, 'AWSPREVIOUS')).toBe('k0');
  });

  it('testSecret failing (key not served, another key served) leaves AWSCURRENT and the record as they were', async () => {
    const id = await identity('failing', { remainingMs: 30_000 });
    const token = '77777777-7777-4777-8777-777777777777';
    await id.step('createSecret', token);
    await id.step('setSecret', token);
    const published = await route53Keys(id.name);
    id.world.dnsFollows = false; // DNS still serves the RRset from before setSecret
    await expect(id.step('testSecret', token)).rejects.toMatchObject({ reason: 'not_visible' });
    // DNS serves another public key under the new kid.
    const kid = (await kidOf(id.secretName, 'AWSPENDING')) ?? '';
    const { generateSigningKey, formatTxtValue } = await import('@nhi-dns/cli');
    const { formatRecord } = await import('@nhi-dns/core');
    const other = await generateSigningKey('ed25519', kid);
    dns.addRecord({
      name: id.name,
      type: 'TXT',
      ttl: TTL,
      data: (
        parseTxtValue(
          formatTxtValue(
            formatRecord({ service: 'failing', environment: 'prod', kid, publicKey: other.publicKey }),
          ),
        ) ?? []
      ).map((part) => part.toString()),
    });
    await expect(id.step('testSecret', token)).rejects.toMatchObject({ reason: 'wrong_key' });
    await expect(id.step('finishSecret', token)).rejects.toMatchObject({ reason: 'not_tested' });
    expect(await kidOf(id.secretName)).toBe('k0');
    expect(await route53Keys(id.name)).toEqual(published);
    expect(published.find(([key]) => key === 'k0')).toEqual(['k0', null]);
  });

  it('removes a retired key only once its overlap is over, never the last usable key', async () => {
    const id = await identity('overlap');
    const token = '88888888-8888-4888-8888-888888888888';
    for (const name of STEPS) await id.step(name, token);
    const kid = await kidOf(id.secretName);
    advance((OVERLAP - 1) * 1000);
    await id.step('finishSecret', token);
    expect((await route53Keys(id.name)).map(([key]) => key)).toEqual(['k0', kid]);
    advance(2000);
    await id.step('finishSecret', token);
    expect(await route53Keys(id.name)).toEqual([[kid, null]]);
  });

  it('through a whole rotation a signer (keyMaxAge 60) and a verifier (DNS cached for the TTL) never disagree', async () => {
    const id = await identity('steady');
    const token = '99999999-9999-4999-8999-999999999999';
    const signer = createSigner({
      self: id.name,
      client: secrets,
      keyMaxAge: 60,
      lifetime: 300,
      prefetch: false,
      now: () => clock,
      logger: silent,
      metrics: noMetrics,
    });
    let cached: { keys: ReadonlyMap<string, VerificationKey>; until: number } | undefined;
    const verifierKeys = async () => {
      if (cached === undefined || clock >= cached.until) {
        await exportToDns(id.name);
        cached = { keys: await keysFromDns(id.name), until: clock + TTL * 1000 };
      }
      return cached.keys;
    };
    const live: ReturnType<typeof decodeProof>[] = [];
    const kidsSigned = new Set<string>();
    let verified = 0;
    /** Signs one proof now and verifies every proof still within its lifetime. */
    const tick = async () => {
      const proof = decodeProof(await signer.sign({ aud: CALLEE }));
      kidsSigned.add(proof.header.kid);
      live.push(proof);
      const now = Math.floor(clock / 1000);
      const keys = await verifierKeys();
      for (const held of live.filter((candidate) => candidate.claims.exp >= now)) {
        const key = keys.get(held.header.kid);
        if (key === undefined) throw new Error(`denied: unknown_kid ${held.header.kid} at ${now}`);
        verifyProof(held, { key, audience: CALLEE, now, clockSkew: 60, maxLifetime: 300 });
        verified += 1;
      }
    };
    id.world.onTick = tick;
    await tick();
    for (const name of STEPS) {
      await id.step(name, token);
      await id.world.onTick();
    }
    // Run on past the overlap with the old key removed once it expired.
    for (let elapsed = 0; elapsed <= OVERLAP + 60; elapsed += 10) {
      advance(10_000);
      if (elapsed === OVERLAP + 10) await id.step('finishSecret', token);
      await tick();
    }
    const kid = await kidOf(id.secretName);
    expect([...kidsSigned].sort()).toEqual(['k0', kid].sort());
    expect(await route53Keys(id.name)).toEqual([[kid, null]]);
    expect(verified).toBeGreaterThan(500);
  });
});
