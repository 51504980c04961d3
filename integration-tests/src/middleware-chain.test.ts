// The full middleware chain (identity-resolve → identity-verify → secrets-inject) with the
// real resolver, against knot + unbound.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { type DnsLab, startDnsLab, type TxtRecord } from './lab/index.js';
import { fileSecretsSource } from './support/file-secrets.js';
import { apiGatewayEvent } from './support/http-event.js';
import { protectedHandler } from './support/protected-handler.js';

const SIGNED = 'auth.nhi.test';
const UNSIGNED = 'plain.nhi.test';
const TAMPERED = 'broken.nhi.test';

const txt = (identity: TestIdentity): TxtRecord => ({ name: identity.name, strings: identity.strings });

const billing = createTestIdentity(`billing.prod.${SIGNED}`, { attributes: { tier: 'pci' } });
const ledger = createTestIdentity(`ledger.prod.${SIGNED}`); // the protected function itself
const impostor = createTestIdentity(`billing.prod.${SIGNED}`); // same name and kid, not the published key
const plainBilling = createTestIdentity(`billing.prod.${UNSIGNED}`);
const untouched = createTestIdentity(`good.prod.${TAMPERED}`);
const victim = createTestIdentity(`bad.prod.${TAMPERED}`);
const attacker = createTestIdentity(`bad.prod.${TAMPERED}`);

const DB_PASSWORD = 'integration-db-password-7f3a';
const API_KEY = 'integration-api-key-91c2';

let lab: DnsLab;
let secretsDirectory: string;

beforeAll(async () => {
  lab = await startDnsLab({
    // Nothing changes in these zones: a long TTL keeps the cache assertions free of timing.
    recordTtl: 30,
    zones: [
      { origin: SIGNED, security: 'signed', records: [txt(billing), txt(ledger)] },
      { origin: UNSIGNED, security: 'unsigned', records: [txt(plainBilling)] },
      {
        origin: TAMPERED,
        security: 'tampered',
        records: [txt(untouched), txt(victim)],
        tamperedRecords: [txt(attacker)],
      },
    ],
  });
  secretsDirectory = await mkdtemp(join(tmpdir(), 'nhi-secrets-'));
});

afterAll(async () => {
  await lab?.stop();
  if (secretsDirectory !== undefined) await rm(secretsDirectory, { recursive: true, force: true });
});

/** The chain for callers of `zone`, with a fresh resolver pointed at unbound. */
const chainFor = (zone: string, options: { requireDnssec?: boolean } = {}) =>
  protectedHandler({
    zone,
    self: `ledger.prod.${zone}`,
    resolver: createResolver({ servers: [lab.resolverServer], timeout: 2000, attempts: 2 }),
    ...options,
  });

const proofFor = (caller: TestIdentity, zone: string) =>
  caller.sign({ aud: `ledger.prod.${zone}`, body: '{"amount":10}', method: 'POST' });

describe('the full chain through unbound', () => {
  it('checks its own record, verifies a signed caller, injects secrets from a file-backed source, logs no secret', async () => {
    const file = join(secretsDirectory, 'secrets.json');
    await writeFile(
      file,
      JSON.stringify({
        '/prod/dbcreds': JSON.stringify({ user: 'ledger', password: DB_PASSWORD }),
        '/prod/api-key': API_KEY,
      }),
    );
    const source = fileSecretsSource(file);
    const invoke = protectedHandler({
      zone: SIGNED,
      self: `ledger.prod.${SIGNED}`,
      resolver: createResolver({ servers: [lab.resolverServer], timeout: 2000, attempts: 2 }),
      requireDnssec: true,
      // secrets-inject reads the namespace (/prod/) from the function's own record.
      selfCheck: true,
      secrets: { names: { db: 'dbcreds', apiKey: 'api-key' }, client: source.client },
    });

    const first = await invoke(apiGatewayEvent(await proofFor(billing, SIGNED)));
    expect(first.response.statusCode).toBe(200);
    expect(first.body).toMatchObject({
      caller: billing.name,
      kid: 'k1',
      ad: true,
      source: 'network',
      secrets: { db: { user: 'ledger', password: DB_PASSWORD }, apiKey: API_KEY },
    });
    // Both secrets in one batch call (plus DescribeSecret for rotation dates).
    expect(source.calls.filter((call) => call === 'BatchGetSecretValueCommand')).toHaveLength(1);
    expect(source.calls).not.toContain('GetSecretValueCommand');
    const printed = first.output.join('\n');
    expect(printed).not.toContain(DB_PASSWORD);
    expect(printed).not.toContain(API_KEY);
    expect(first.emf.some((blob) => 'AuthSuccess' in blob)).toBe(true);

    // A second caller proof within the TTL: record from the resolver cache, secrets from memory.
    const second = await invoke(apiGatewayEvent(await proofFor(billing, SIGNED)));
    expect(second.response.statusCode).toBe(200);
    expect(second.body.source).toBe('cache');
    expect(source.calls.filter((call) => call === 'BatchGetSecretValueCommand')).toHaveLength(1);
  });

  it('denies a proof signed with a key the DNS record does not publish', async () => {
    const result = await chainFor(SIGNED)(apiGatewayEvent(await proofFor(impostor, SIGNED)));
    expect(result.response.statusCode).toBe(401);
    expect(result.reason).toBe('bad_signature');
  });

  it('denies a replayed proof', async () => {
    const invoke = chainFor(SIGNED);
    const token = await proofFor(billing, SIGNED);
    expect((await invoke(apiGatewayEvent(token))).response.statusCode).toBe(200);
    expect((await invoke(apiGatewayEvent(token))).reason).toBe('replayed');
  });
});

describe('requireDnssec with a validating resolver', () => {
  it('accepts a caller whose record validated (AD)', async () => {
    const result = await chainFor(SIGNED, { requireDnssec: true })(
      apiGatewayEvent(await proofFor(billing, SIGNED)),
    );
    expect(result.response.statusCode).toBe(200);
    expect(result.body).toMatchObject({ caller: billing.name, ad: true });
  });

  it('denies with dnssec_required a caller from an unsigned zone, which passes without it', async () => {
    const token = await proofFor(plainBilling, UNSIGNED);
    const strict = await chainFor(UNSIGNED, { requireDnssec: true })(apiGatewayEvent(token));
    expect(strict.response.statusCode).toBe(401);
    expect(strict.reason).toBe('dnssec_required');
    const lenient = await chainFor(UNSIGNED)(apiGatewayEvent(await proofFor(plainBilling, UNSIGNED)));
    expect(lenient.response.statusCode).toBe(200);
    expect(lenient.body).toMatchObject({ caller: plainBilling.name, ad: false });
  });
});

describe('a record with a broken signature', () => {
  it('is SERVFAIL at unbound, so the caller is denied with dns_failure (503, Retry-After)', async () => {
    // The attacker's proof matches the forged record; only validation stands in the way.
    const result = await chainFor(TAMPERED)(apiGatewayEvent(await proofFor(attacker, TAMPERED)));
    expect(result.response.statusCode).toBe(503);
    expect(result.reason).toBe('dns_failure');
    expect(result.response.headers).toMatchObject({ 'Retry-After': expect.any(String) });
    const failures = result.emf.filter((blob) => 'AuthFailure' in blob);
    expect(failures).toEqual([expect.objectContaining({ Reason: 'dns_failure' })]);
    expect(result.emf.some((blob) => blob.Outcome === 'servfail')).toBe(true);
  });

  it('does not affect the validly signed records of the same zone', async () => {
    const result = await chainFor(TAMPERED, { requireDnssec: true })(
      apiGatewayEvent(await proofFor(untouched, TAMPERED)),
    );
    expect(result.response.statusCode).toBe(200);
    expect(result.body).toMatchObject({ caller: untouched.name, ad: true });
  });
});
