/**
 * Leak check (SECURITY.md): every path of the middleware chain (success, each denial reason,
 * each secrets error) runs with Powertools output captured, and nothing that grants access
 * (a secret value, a private key's JWK `d`, a full proof, a signature segment) may appear in
 * logs, EMF metrics, responses, error messages, `JSON.stringify(error)` or the error's cause.
 */
import { createPublicKey, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import {
  assembleWit,
  DENIAL_REASONS,
  MemoryReplayStore,
  WorkloadProofSigner,
  witSigningInput,
} from '@nhi-dns/core';
import { captureOutput, createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { DnsError, type DnssecStatus, type Resolver } from '@nhi-dns/resolver';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import secretsInject from '@nhi-dns/secrets-inject';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import identityVerify, { type IdentityVerifyOptions } from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const reports = createTestIdentity(`reports.prod.${ZONE}`, { keyType: 'p256', kid: 'p1' });
const intruder = createTestIdentity(`billing.prod.${ZONE}`);
const ledger = createTestIdentity(SELF);
const SECRET = 'S3CR3T-db-password-4b1d';

/** Everything that must never be seen. Filled as tokens are minted. */
const needles = new Set<string>([SECRET]);
for (const identity of [billing, reports, intruder, ledger]) {
  const d = identity.privateKey.export({ format: 'jwk' }).d;
  if (d !== undefined) needles.add(d);
  needles.add(identity.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
}
const minted = async (token: Promise<string> | string): Promise<string> => {
  const value = await token;
  needles.add(value);
  const signature = value.split('.')[2];
  if (signature !== undefined && signature.length > 20) needles.add(signature);
  return value;
};

type Zone = Map<string, string[][] | Error>;
const zone = (overrides: [string, string[][] | Error][] = []): Zone =>
  new Map<string, string[][] | Error>([
    [billing.name, [billing.strings]],
    [reports.name, [reports.strings]],
    [ledger.name, [ledger.strings]],
    ...overrides,
  ]);

const resolverFor = (table: Zone, ad: boolean, dnssec?: DnssecStatus): Resolver =>
  createTableResolver(table, { ad, ...(dnssec === undefined ? {} : { dnssec }) });

const secretsManager = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const awsError = (name: string, fault: 'client' | 'server' = 'client') =>
  Object.assign(new Error(`${name} happened`), { name, $fault: fault, $metadata: { httpStatusCode: 400 } });

/** Secrets Manager answers: the secret, or one failure per secrets error reason. */
type SecretsScenario =
  | 'ok'
  | 'AccessDeniedException'
  | 'ResourceNotFoundException'
  | 'ThrottlingException'
  | 'DecryptionFailure'
  | 'InternalServiceError'
  | 'invalid_json'
  | 'empty_value';
const answerSecrets = (scenario: SecretsScenario) => {
  secretsManager.reset();
  secretsManager.on(DescribeSecretCommand).resolves({ RotationEnabled: false });
  const value =
    scenario === 'invalid_json' ? `{"password":"${SECRET}"` : scenario === 'empty_value' ? undefined : SECRET;
  if (scenario === 'ok' || scenario === 'invalid_json' || scenario === 'empty_value') {
    secretsManager.on(GetSecretValueCommand).resolves({
      Name: '/prod/db',
      VersionId: 'v1',
      ...(value === undefined ? {} : { SecretString: value }),
    });
    secretsManager.on(BatchGetSecretValueCommand).resolves({
      SecretValues: [
        { Name: '/prod/db', VersionId: 'v1', ...(value === undefined ? {} : { SecretString: value }) },
      ],
    });
    return;
  }
  const error = awsError(scenario, scenario === 'InternalServiceError' ? 'server' : 'client');
  secretsManager.on(GetSecretValueCommand).rejects(error);
  secretsManager.on(BatchGetSecretValueCommand).rejects(error);
};

interface Path {
  name: string;
  event: () => Promise<unknown>;
  table?: Zone;
  ad?: boolean;
  /** The in-process DNSSEC verdict on every answer: identity-resolve then validates (`validateDnssec`). */
  dnssec?: DnssecStatus;
  options?: Partial<IdentityVerifyOptions>;
  mode?: 'self';
  secrets?: SecretsScenario;
  json?: true;
}

const httpEvent = (token: string | undefined, body = '{"amount":10}') => ({
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', ...(token === undefined ? {} : { authorization: `NHI ${token}` }) },
  requestContext: { http: { method: 'POST', path: '/pay' } },
  body,
  isBase64Encoded: false,
});
const withToken = (token: () => Promise<string> | string) => async () => httpEvent(await minted(token()));
const direct = (token: () => Promise<string> | string) => async () => ({ nhiProof: await minted(token()) });

/**
 * A WIMSE pair of `who` (DESIGN §3a): a WIT signed by its record key (KMS's part) for a fresh
 * short-lived key, whose private half joins the needles, and the WPT signer.
 */
const workload = (who: TestIdentity = billing) => {
  const confirmation = generateKeyPairSync('ed25519');
  const d = confirmation.privateKey.export({ format: 'jwk' }).d;
  if (d !== undefined) needles.add(d);
  const { signingInput } = witSigningInput({
    name: who.name,
    kid: who.kid,
    keyType: who.keyType,
    confirmationKey: confirmation.publicKey,
  });
  const wit = assembleWit(signingInput, signBytes(null, Buffer.from(signingInput), who.privateKey));
  return new WorkloadProofSigner({ wit, privateKey: confirmation.privateKey });
};
/** An HTTP event carrying the pair `Workload-Identity-Token` + `Workload-Proof-Token`. */
const withPair = (pair: () => Promise<{ wit: string; wpt: string }>) => async (): Promise<unknown> => {
  const { wit, wpt } = await pair();
  const event = httpEvent(undefined);
  return {
    ...event,
    headers: {
      ...event.headers,
      'workload-identity-token': await minted(wit),
      'workload-proof-token': await minted(wpt),
    },
  };
};
const validPair = async () => {
  const signer = workload();
  return { wit: signer.wit, wpt: signer.sign({ aud: SELF, body: '{"amount":10}' }) };
};
/** A record of billing's stating that its key lives in AWS KMS (`kc=kms`). */
const kmsZone = () => zone([[billing.name, [[`${billing.record}; kc=kms`]]]]);

const sign =
  (options: Parameters<TestIdentity['sign']>[0], who: TestIdentity = billing) =>
  () =>
    who.sign(options);
const now = () => Math.floor(Date.now() / 1000);
const replayed = minted(billing.sign({ aud: SELF }));

const PATHS: Path[] = [
  { name: 'success', event: withToken(sign({ aud: SELF })) },
  { name: 'success (P-256 caller)', event: withToken(sign({ aud: SELF }, reports)) },
  { name: 'missing_proof', event: async () => httpEvent(undefined) },
  { name: 'malformed_proof', event: withToken(async () => `${await billing.sign({ aud: SELF })}.x`) },
  {
    name: 'proof_too_large',
    event: withToken(async () => `${await billing.sign({ aud: SELF })}${'A'.repeat(9000)}`),
  },
  { name: 'outside_zone', event: withToken(sign({ aud: SELF, iss: 'billing.prod.evil.example' })) },
  { name: 'no_record', event: withToken(sign({ aud: SELF }, createTestIdentity(`ghost.prod.${ZONE}`))) },
  { name: 'unknown_kid', event: withToken(sign({ aud: SELF, kid: 'k9' })) },
  {
    name: 'revoked_key',
    event: withToken(sign({ aud: SELF })),
    table: zone([[billing.name, [[billing.recordWith({ publicKey: '' })]]]]),
  },
  {
    name: 'expired_key',
    event: withToken(sign({ aud: SELF })),
    table: zone([[billing.name, [[billing.recordWith({ expiresAt: 1000 })]]]]),
  },
  { name: 'bad_signature', event: withToken(sign({ aud: SELF }, intruder)) },
  {
    name: 'bad_alg',
    event: withToken(async () => {
      const [, claims, signature] = (await billing.sign({ aud: SELF })).split('.');
      const header = Buffer.from('{"alg":"ES256","kid":"k1","typ":"nhi+jwt"}').toString('base64url');
      return `${header}.${claims}.${signature}`;
    }),
  },
  {
    name: 'bad_typ',
    event: withToken(async () => {
      const [, claims, signature] = (await billing.sign({ aud: SELF })).split('.');
      const header = Buffer.from('{"alg":"EdDSA","kid":"k1","typ":"JWT"}').toString('base64url');
      return `${header}.${claims}.${signature}`;
    }),
  },
  { name: 'wrong_audience', event: withToken(sign({ aud: `other.prod.${ZONE}` })) },
  { name: 'expired', event: withToken(sign({ aud: SELF, now: now() - 1000 })) },
  { name: 'not_yet_valid', event: withToken(sign({ aud: SELF, now: now() + 1000 })) },
  { name: 'lifetime_too_long', event: withToken(sign({ aud: SELF, lifetime: 3600 })) },
  { name: 'replayed (first use)', event: withToken(() => replayed) },
  { name: 'replayed', event: withToken(() => replayed) },
  {
    name: 'replay_store_full',
    event: withToken(sign({ aud: SELF })),
    options: { replayStore: fullReplayStore() },
  },
  {
    name: 'body_mismatch',
    event: async () => httpEvent(await minted(billing.sign({ aud: SELF, body: 'a' })), 'b'),
  },
  { name: 'not_allowed', event: withToken(sign({ aud: SELF })), options: { allow: [reports.name] } },
  {
    name: 'dnssec_required',
    event: withToken(sign({ aud: SELF })),
    ad: false,
    options: { requireDnssec: true },
  },
  {
    // The validating resolver found the caller's record's signatures bad (identity-resolve denies it).
    name: 'dnssec_bogus',
    event: withToken(sign({ aud: SELF })),
    dnssec: 'bogus',
    options: { requireDnssec: 'validated' },
  },
  {
    // The record pins a certificate; the connection presented another (here: one that does not parse).
    name: 'cert_mismatch',
    event: async () => {
      const event = httpEvent(await minted(billing.sign({ aud: SELF })));
      const clientCert = {
        clientCertPem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
      };
      return { ...event, requestContext: { ...event.requestContext, authentication: { clientCert } } };
    },
    table: zone([
      [billing.name, [[billing.recordWith({ certThumbprint: Buffer.alloc(32, 5).toString('base64url') })]]],
    ]),
  },
  {
    name: 'dns_failure',
    event: withToken(sign({ aud: SELF })),
    table: zone([[billing.name, new DnsError('timeout', 'no answer', { attempts: 2, latencyMs: 2000 })]]),
  },
  {
    name: 'self_mismatch',
    event: async () => httpEvent(undefined),
    mode: 'self',
    table: zone([[ledger.name, [[ledger.recordWith({ publicKey: '' })]]]]),
  },
  { name: 'WIT + WPT pair, success', event: withPair(validPair), table: kmsZone() },
  {
    // The WPT names an earlier WIT of the same short-lived key, not the one it travels with.
    name: 'wrong_token',
    event: withPair(async () => {
      const first = workload();
      const { signingInput } = witSigningInput({
        name: billing.name,
        kid: billing.kid,
        keyType: billing.keyType,
        confirmationKey: confirmationOf(first.wit),
        jti: 'the-renewed-wit-jti',
      });
      const renewed = assembleWit(
        signingInput,
        signBytes(null, Buffer.from(signingInput), billing.privateKey),
      );
      return { wit: renewed, wpt: first.sign({ aud: SELF, body: '{"amount":10}' }) };
    }),
  },
  {
    // requireKeyCustody: 'kms' and a record key that does not state kc=kms.
    name: 'key_custody',
    event: withPair(validPair),
    options: { requireKeyCustody: 'kms' },
  },
  { name: 'direct invocation, success', event: direct(sign({ aud: SELF })) },
  {
    name: 'direct invocation, WIT + WPT pair, success',
    event: async () => {
      const { wit, wpt } = await validPair();
      return { nhiWit: await minted(wit), nhiProof: await minted(wpt), nhiPayload: '{"amount":10}' };
    },
  },
  { name: 'direct invocation, bad_signature', event: direct(sign({ aud: SELF }, intruder)) },
  {
    name: 'secrets: AccessDeniedException',
    event: withToken(sign({ aud: SELF })),
    secrets: 'AccessDeniedException',
  },
  {
    name: 'secrets: ResourceNotFoundException',
    event: withToken(sign({ aud: SELF })),
    secrets: 'ResourceNotFoundException',
  },
  {
    name: 'secrets: ThrottlingException',
    event: withToken(sign({ aud: SELF })),
    secrets: 'ThrottlingException',
  },
  { name: 'secrets: DecryptionFailure', event: withToken(sign({ aud: SELF })), secrets: 'DecryptionFailure' },
  {
    name: 'secrets: InternalServiceError',
    event: withToken(sign({ aud: SELF })),
    secrets: 'InternalServiceError',
  },
  {
    name: 'secrets: invalid_json (value holds the secret)',
    event: withToken(sign({ aud: SELF })),
    secrets: 'invalid_json',
    json: true,
  },
  { name: 'secrets: empty_value', event: withToken(sign({ aud: SELF })), secrets: 'empty_value' },
];

/** The public key a WIT confirms (`cnf.jwk`). */
function confirmationOf(wit: string) {
  const claims = JSON.parse(Buffer.from(wit.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return createPublicKey({ key: claims.cnf.jwk, format: 'jwk' });
}

/** One chain per path, sharing the replay store so that the replay path replays. */
function fullReplayStore(): MemoryReplayStore {
  const store = new MemoryReplayStore({ maxEntries: 1 });
  store.claim('jti-that-fills-the-store', `payroll.prod.${ZONE}`, now() + 300);
  return store;
}

const sharedReplayStore = new MemoryReplayStore();

const runPath = async (path: Path) => {
  answerSecrets(path.secrets ?? 'ok');
  const resolver = resolverFor(path.table ?? zone(), path.ad ?? true, path.dnssec);
  const validation = path.dnssec === undefined ? {} : { validateDnssec: true };
  const handler = middy(async () => ({ statusCode: 200, body: 'served' }));
  if (path.mode === 'self') {
    handler
      .use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, prefetch: false }))
      .use(identityVerify({ self: SELF, expect: true }));
  } else {
    handler.use(identityResolve({ zone: ZONE, resolver, ...validation })).use(
      identityVerify({
        self: SELF,
        allow: [`*.prod.${ZONE}`],
        replayStore: sharedReplayStore,
        ...path.options,
      }),
    );
  }
  handler.use(
    secretsInject({
      secrets: { db: 'db' },
      namespace: '/prod/',
      client,
      prefetch: false,
      rotationAware: false,
      ...(path.json === true ? { json: true } : {}),
    }),
  );
  const event = await path.event();
  const out = captureOutput();
  let outcome: unknown;
  try {
    outcome = await handler(event, { getRemainingTimeInMillis: () => 3000 } as unknown as Context);
  } catch (error) {
    outcome = error;
  } finally {
    out.restore();
  }
  return { outcome, out };
};

/** Every view of an outcome an operator, a log pipeline or a caller could see. */
const views = (outcome: unknown): string[] => {
  const seen = [JSON.stringify(outcome) ?? '', inspect(outcome, { depth: 6 })];
  if (outcome instanceof Error) {
    seen.push(
      outcome.message,
      String(outcome.stack),
      String(outcome.cause),
      JSON.stringify(outcome.cause) ?? '',
    );
    seen.push(inspect(outcome.cause, { depth: 6 }));
  }
  return seen;
};

describe('no secret, private key, proof or signature leaks on any path', () => {
  const outcomes = new Map<string, string>();

  it.each(PATHS.map((path) => [path.name, path] as const))('%s', async (_name, path) => {
    const { outcome, out } = await runPath(path);
    const surfaces = [...out.lines, ...views(outcome)];
    for (const needle of needles) {
      const leaked = surfaces.find((surface) => surface.includes(needle));
      // Report where, never the needle itself (it is key material).
      expect(leaked === undefined ? 'nowhere' : `leaked into: ${leaked.slice(0, 80)}…`).toBe('nowhere');
    }
    const status =
      outcome instanceof Error
        ? `${outcome.name}:${(outcome as { reason?: string }).reason}`
        : String((outcome as { statusCode?: number; body?: string }).body);
    outcomes.set(path.name, status);
  });

  it('covered every denial reason and every secrets failure', () => {
    const seen = [...outcomes.values()].join(' ');
    for (const reason of DENIAL_REASONS) expect(seen).toContain(reason);
    for (const reason of [
      'access_denied',
      'not_found',
      'fetch_failed',
      'decryption_failed',
      'invalid_json',
      'empty_value',
    ]) {
      expect(seen).toContain(reason);
    }
    expect(outcomes.get('success')).toBe('served');
    expect(outcomes.get('direct invocation, success')).toBe('served');
    expect(outcomes.get('WIT + WPT pair, success')).toBe('served');
    expect(outcomes.get('direct invocation, WIT + WPT pair, success')).toBe('served');
  });
});
