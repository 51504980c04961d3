/**
 * The WIMSE pair (`Workload-Identity-Token` + `Workload-Proof-Token`, DESIGN §3a) through the real
 * chain: identity-resolve finds the WIT's issuer record, identity-verify checks the WIT against it
 * and the WPT against the WIT's confirmation key, then pins, custody, policy and replay.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import {
  assembleWit,
  ecdsaDerToJose,
  MemoryReplayStore,
  NhiError,
  tokenHash,
  WorkloadProofSigner,
  witSigningInput,
  workloadUri,
} from '@nhi-dns/core';
import {
  apiGatewayClientCert,
  captureOutput,
  createTestCertificate,
  createTestIdentity,
  type TestIdentity,
} from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityVerify, {
  type IdentityVerifyOptions,
  type VerifiedIdentity,
  WorkloadIdentityCache,
} from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const BODY = '{"amount":10}';
const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'kms-1', attributes: { tier: 'pci' } });
const orders = createTestIdentity(`orders.prod.${ZONE}`, { kid: 'kms-1' });
const p256 = createTestIdentity(`reports.prod.${ZONE}`, { keyType: 'p256', kid: 'kms-p' });
const intruder = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'kms-1' }); // same name and kid, another key

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The record of `identity` stating that its key lives in AWS KMS (`kc=kms`). */
const kmsRecord = (identity: TestIdentity) => [`${identity.record}; kc=kms`];

const records = (custody: 'kms' | 'plain' = 'kms') =>
  new Map<string, string[][] | Error>(
    [billing, orders, p256].map((identity) => [
      identity.name,
      [custody === 'kms' ? kmsRecord(identity) : identity.strings],
    ]),
  );

/** A compact JWS of any header and claims under an Ed25519 key, past every check of the signers. */
const signRaw = (header: object, claims: object, privateKey: KeyObject): string => {
  const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${segment(header)}.${segment(claims)}`;
  return `${signingInput}.${sign(null, Buffer.from(signingInput), privateKey).toString('base64url')}`;
};

/** Signs as AWS KMS would: Ed25519 raw, or ECDSA_SHA_256 as DER converted to r||s. */
const kmsSign = (identity: TestIdentity, message: string, privateKey = identity.privateKey): Buffer =>
  identity.keyType === 'ed25519'
    ? sign(null, Buffer.from(message), privateKey)
    : ecdsaDerToJose(sign('sha256', Buffer.from(message), privateKey));

interface MintOptions {
  /** Signs the WIT with this key instead of the identity's record key. */
  signWith?: KeyObject;
  now?: number;
  lifetime?: number;
  /** The short-lived key pair to confirm (default: a fresh one). */
  confirmation?: { publicKey: KeyObject; privateKey: KeyObject };
  jti?: string;
}

/** A WIT for `identity` (as identity-sign mints one through KMS) and the signer of its WPTs. */
const mint = (identity: TestIdentity, options: MintOptions = {}): WorkloadProofSigner => {
  const confirmation = options.confirmation ?? generateKeyPairSync('ed25519');
  const { signingInput } = witSigningInput({
    name: identity.name,
    kid: identity.kid,
    keyType: identity.keyType,
    confirmationKey: confirmation.publicKey,
    now: options.now ?? nowSeconds(),
    ...(options.lifetime === undefined ? {} : { lifetime: options.lifetime }),
    ...(options.jti === undefined ? {} : { jti: options.jti }),
  });
  const wit = assembleWit(signingInput, kmsSign(identity, signingInput, options.signWith));
  return new WorkloadProofSigner({ wit, privateKey: confirmation.privateKey });
};

const httpEvent = (headers: Record<string, string>, body = BODY, extra: object = {}) => ({
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', ...headers },
  requestContext: { domainName: 'api.example.com', http: { method: 'POST', path: '/pay' }, ...extra },
  body,
  isBase64Encoded: false,
});

const pairEvent = (wit: string, wpt: string, body = BODY, extra: object = {}) =>
  httpEvent({ 'workload-identity-token': wit, 'workload-proof-token': wpt }, body, extra);

/** A fresh WPT of `signer` for this callee and body, with its WIT, as an event. */
const request = (signer: WorkloadProofSigner, overrides: { aud?: string; body?: string } = {}) =>
  pairEvent(
    signer.wit,
    signer.sign({ aud: overrides.aud ?? SELF, body: overrides.body ?? BODY, method: 'POST' }),
    overrides.body ?? BODY,
  );

const chain = (options: Partial<IdentityVerifyOptions> = {}, table = records(), ad = true) => {
  const resolver = createTableResolver(table, { ad });
  const handler = jest.fn((caller: VerifiedIdentity) => caller);
  const wrapped = middy()
    .use(identityResolve({ zone: ZONE, resolver }))
    .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], ...options }))
    .handler(async (_event, context) => {
      // Typed through Middy's use(): the verified caller and how it proved itself, no cast.
      const { caller } = context;
      const credential: 'nhi1' | 'wit' = caller.credential;
      return { statusCode: 200, body: JSON.stringify({ ...handler(caller), credential }) };
    });
  const lambdaContext = { getRemainingTimeInMillis: () => 3000 } as unknown as Context &
    Parameters<typeof wrapped>[1];
  return { invoke: (event: unknown) => wrapped(event, lambdaContext), handler, resolver };
};

interface Answer {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

const run = async (invoke: () => Promise<unknown>) => {
  const out = captureOutput();
  try {
    return { result: (await invoke()) as Answer, out };
  } finally {
    out.restore();
  }
};

/** Runs one event and asserts the denial: status, reason, the AuthFailure metric, and no handler. */
const expectDenied = async (
  { invoke, handler }: ReturnType<typeof chain>,
  event: unknown,
  status: number,
  reason: string,
) => {
  const calls = handler.mock.calls.length;
  const { result, out } = await run(() => invoke(event));
  expect({ status: result.statusCode, body: JSON.parse(result.body) }).toEqual({
    status,
    body: { error: reason },
  });
  expect(out.emf()).toContainEqual(expect.objectContaining({ Reason: reason, AuthFailure: 1 }));
  expect(out.json()).toContainEqual(expect.objectContaining({ level: 'WARN', 'nhi.reason': reason }));
  expect(handler.mock.calls.length).toBe(calls);
  // Never a token in the logs: neither half of the pair appears in any line.
  const text = out.lines.join('\n');
  const headers = (event as { headers: Record<string, string> }).headers;
  for (const name of ['workload-identity-token', 'workload-proof-token', 'authorization']) {
    const token = headers[name];
    if (token !== undefined) expect(text).not.toContain(token.split('.')[2] ?? token);
  }
};

describe('identity-verify: a WIT + WPT pair', () => {
  it('accepts a valid pair and puts the verified caller on the context', async () => {
    const { invoke, handler } = chain();
    const signer = mint(billing);
    const { result, out } = await run(() => invoke(request(signer)));
    expect(result.statusCode).toBe(200);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(JSON.parse(result.body)).toMatchObject({
      name: billing.name,
      service: 'billing',
      environment: 'prod',
      kid: 'kms-1',
      credential: 'wit',
      attributes: { tier: 'pci' },
      claims: { iss: billing.name, aud: SELF, wth: tokenHash(signer.wit) },
    });
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthSuccess: 1 }));
    expect(out.json()).toContainEqual(
      expect.objectContaining({ message: 'identity verified', 'nhi.name': billing.name, 'nhi.kid': 'kms-1' }),
    );
    expect(out.lines.join('\n')).not.toContain(signer.wit.split('.')[2]);
  });

  it('accepts a WIT signed by a P-256 record key (KMS ECC_NIST_P256, DER converted)', async () => {
    const { invoke } = chain();
    const { result } = await run(() => invoke(request(mint(p256))));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ name: p256.name, kid: 'kms-p', credential: 'wit' });
  });

  it('reads the pair headers case-insensitively, and marks NHI1 callers as such', async () => {
    const { invoke } = chain();
    const signer = mint(billing);
    const wpt = signer.sign({ aud: SELF, body: BODY, method: 'POST' });
    const event = httpEvent({ 'Workload-Identity-Token': signer.wit, 'WORKLOAD-PROOF-TOKEN': wpt });
    expect((await run(() => invoke(event))).result.statusCode).toBe(200);
    const nhi1 = await run(async () =>
      invoke(httpEvent({ authorization: `NHI ${await orders.sign({ aud: SELF, body: BODY })}` })),
    );
    expect(JSON.parse(nhi1.result.body)).toMatchObject({ name: orders.name, credential: 'nhi1' });
  });

  describe('attacks', () => {
    it('denies a WIT signed by a key not in the record (bad_signature)', async () => {
      await expectDenied(
        chain(),
        request(mint(billing, { signWith: intruder.privateKey })),
        401,
        'bad_signature',
      );
    });

    it('denies a WIT whose sub names another identity than its iss (malformed_proof)', async () => {
      const confirmation = generateKeyPairSync('ed25519');
      const { x } = confirmation.publicKey.export({ format: 'jwk' });
      const iat = nowSeconds();
      const wit = signRaw(
        { alg: 'EdDSA', kid: billing.kid, typ: 'wit+jwt' },
        {
          iss: billing.name,
          sub: workloadUri(orders.name),
          iat,
          exp: iat + 600,
          jti: 'a-sixteen-char-jti',
          cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x, alg: 'EdDSA' } },
        },
        billing.privateKey,
      );
      const signer = new WorkloadProofSigner({ wit, privateKey: confirmation.privateKey });
      await expectDenied(chain(), request(signer), 401, 'malformed_proof');
    });

    it("denies another identity's valid pair made for another audience (wrong_audience)", async () => {
      await expectDenied(
        chain(),
        request(mint(orders), { aud: `other.prod.${ZONE}` }),
        401,
        'wrong_audience',
      );
    });

    it('denies an expired WIT, even with a fresh WPT (expired)', async () => {
      const signer = mint(billing, { now: nowSeconds() - 7200, lifetime: 3600 });
      await expectDenied(chain(), request(signer), 401, 'expired');
    });

    it('denies a WIT whose kid the record revokes or drops after it was verified and remembered', async () => {
      const table = records();
      const target = chain({}, table);
      const signer = mint(billing);
      expect((await run(() => target.invoke(request(signer)))).result.statusCode).toBe(200);
      // The record changes while the WIT is unexpired: the next lookup sees it.
      table.set(billing.name, [[`${billing.recordWith({ publicKey: '' })}; kc=kms`]]);
      await expectDenied(target, request(signer), 401, 'revoked_key');
      const next = createTestIdentity(billing.name, { kid: 'kms-2' });
      table.set(billing.name, [kmsRecord(next)]);
      await expectDenied(target, request(signer), 401, 'unknown_kid');
      // The key published again under its kid: the remembered WIT is good again.
      table.set(billing.name, [kmsRecord(billing)]);
      expect((await run(() => target.invoke(request(signer)))).result.statusCode).toBe(200);
    });

    it('looks the record up again, once per cooldown, for a WIT kid it lacks (unknown_kid)', async () => {
      const target = chain();
      const unpublished = createTestIdentity(billing.name, { kid: 'kms-9' });
      await expectDenied(target, request(mint(unpublished)), 401, 'unknown_kid');
      expect(target.resolver.calls).toEqual([billing.name, billing.name]);
      await expectDenied(target, request(mint(unpublished)), 401, 'unknown_kid');
      expect(target.resolver.calls).toHaveLength(3);
    });

    it('applies requireDnssec to the WIT issuer record (dnssec_required)', async () => {
      const signer = mint(billing);
      await expectDenied(
        chain({ requireDnssec: true }, records(), false),
        request(signer),
        401,
        'dnssec_required',
      );
      expect(
        (await run(() => chain({ requireDnssec: true }).invoke(request(signer)))).result.statusCode,
      ).toBe(200);
    });

    it('refuses a WIT issuer outside the zone (outside_zone) or without a record (no_record)', async () => {
      const stranger = createTestIdentity('billing.prod.evil.example', { kid: 'kms-1' });
      await expectDenied(chain(), request(mint(stranger)), 401, 'outside_zone');
      const ghost = createTestIdentity(`ghost.prod.${ZONE}`, { kid: 'kms-1' });
      await expectDenied(chain(), request(mint(ghost)), 401, 'no_record');
    });

    it('denies a remembered WIT once its kid names another key (bad_signature)', async () => {
      const table = records();
      const target = chain({}, table);
      const signer = mint(billing);
      expect((await run(() => target.invoke(request(signer)))).result.statusCode).toBe(200);
      table.set(billing.name, [kmsRecord(intruder)]);
      await expectDenied(target, request(signer), 401, 'bad_signature');
    });

    it('denies a WPT signed by a key other than the one the WIT confirms (bad_signature)', async () => {
      const signer = mint(billing);
      const iat = nowSeconds();
      const wpt = signRaw(
        { alg: 'EdDSA', typ: 'wpt+jwt' },
        { aud: SELF, iat, exp: iat + 60, jti: 'another-sixteen-jti', wth: tokenHash(signer.wit) },
        generateKeyPairSync('ed25519').privateKey,
      );
      await expectDenied(chain(), pairEvent(signer.wit, wpt), 401, 'bad_signature');
    });

    it('denies a WPT made for another WIT of the same key (wrong_token)', async () => {
      const confirmation = generateKeyPairSync('ed25519');
      const first = mint(billing, { confirmation });
      const second = mint(billing, { confirmation });
      const wpt = first.sign({ aud: SELF, body: BODY, method: 'POST' });
      await expectDenied(chain(), pairEvent(second.wit, wpt), 401, 'wrong_token');
    });

    it("denies WITs swapped between two callers (bad_signature: the WPT is not the WIT's key's)", async () => {
      const target = chain();
      const a = mint(billing);
      const b = mint(orders);
      const wptA = a.sign({ aud: SELF, body: BODY, method: 'POST' });
      const wptB = b.sign({ aud: SELF, body: BODY, method: 'POST' });
      await expectDenied(target, pairEvent(b.wit, wptA), 401, 'bad_signature');
      await expectDenied(target, pairEvent(a.wit, wptB), 401, 'bad_signature');
    });

    it('denies a WIT offered as an NHI1 proof, and an NHI1 proof offered as a WIT (bad_typ)', async () => {
      const target = chain();
      const signer = mint(billing);
      await expectDenied(target, httpEvent({ authorization: `NHI ${signer.wit}` }), 401, 'bad_typ');
      const proof = await billing.sign({ aud: SELF, body: BODY });
      const wpt = signer.sign({ aud: SELF, body: BODY, method: 'POST' });
      await expectDenied(target, pairEvent(proof, wpt), 401, 'bad_typ');
      // A WPT in the WIT's place names no kid and no issuer: nothing to look up.
      await expectDenied(target, pairEvent(wpt, wpt), 401, 'malformed_proof');
    });

    it('denies a replayed WPT (replayed)', async () => {
      const target = chain({ replayStore: new MemoryReplayStore() });
      const event = request(mint(billing));
      expect((await run(() => target.invoke(event))).result.statusCode).toBe(200);
      await expectDenied(target, event, 401, 'replayed');
    });

    it('denies half a pair, and a pair beside an NHI1 proof (malformed_proof)', async () => {
      const target = chain();
      const signer = mint(billing);
      const wpt = signer.sign({ aud: SELF, body: BODY, method: 'POST' });
      await expectDenied(
        target,
        httpEvent({ 'workload-identity-token': signer.wit }),
        401,
        'malformed_proof',
      );
      await expectDenied(target, httpEvent({ 'workload-proof-token': wpt }), 401, 'malformed_proof');
      const proof = await billing.sign({ aud: SELF, body: BODY });
      await expectDenied(
        target,
        httpEvent({
          authorization: `NHI ${proof}`,
          'workload-identity-token': signer.wit,
          'workload-proof-token': wpt,
        }),
        401,
        'malformed_proof',
      );
    });

    it('denies a body the WPT does not cover (body_mismatch)', async () => {
      const signer = mint(billing);
      const wpt = signer.sign({ aud: SELF, body: BODY, method: 'POST' });
      await expectDenied(chain(), pairEvent(signer.wit, wpt, '{"amount":10000}'), 401, 'body_mismatch');
    });

    it('checks the client certificate against the pin of the key that signed the WIT (cert_mismatch)', async () => {
      const certificate = createTestCertificate('billing');
      const other = createTestCertificate('someone else');
      const table = records();
      table.set(billing.name, [
        [`${billing.recordWith({ certThumbprint: certificate.thumbprint })}; kc=kms`],
      ]);
      const target = chain({}, table);
      const signer = mint(billing);
      const wptFor = () => signer.sign({ aud: SELF, body: BODY, method: 'POST' });
      const over = (pem: string) =>
        pairEvent(signer.wit, wptFor(), BODY, { authentication: { clientCert: apiGatewayClientCert(pem) } });
      expect((await run(() => target.invoke(over(certificate.pem)))).result.statusCode).toBe(200);
      await expectDenied(target, over(other.pem), 401, 'cert_mismatch');
    });

    it('denies a caller its allow list does not name (not_allowed), before the replay store', async () => {
      const claims: string[] = [];
      const replayStore = {
        claim: async (jti: string) => {
          claims.push(jti);
          return true;
        },
      };
      await expectDenied(
        chain({ allow: [orders.name], replayStore }),
        request(mint(billing)),
        403,
        'not_allowed',
      );
      expect(claims).toEqual([]);
    });
  });

  describe('requireKeyCustody', () => {
    it('accepts a WIT whose record key states kc=kms, and an NHI1 proof by such a key', async () => {
      const target = chain({ requireKeyCustody: 'kms' });
      expect((await run(() => target.invoke(request(mint(billing))))).result.statusCode).toBe(200);
      const proof = await orders.sign({ aud: SELF, body: BODY });
      expect(
        (await run(() => target.invoke(httpEvent({ authorization: `NHI ${proof}` })))).result.statusCode,
      ).toBe(200);
    });

    it('denies (403 key_custody) a WIT or an NHI1 proof whose key does not state kc=kms', async () => {
      const target = chain({ requireKeyCustody: 'kms' }, records('plain'));
      await expectDenied(target, request(mint(billing)), 403, 'key_custody');
      const proof = await orders.sign({ aud: SELF, body: BODY });
      await expectDenied(target, httpEvent({ authorization: `NHI ${proof}` }), 403, 'key_custody');
    });

    it('accepts any custody by default', async () => {
      const target = chain({}, records('plain'));
      expect((await run(() => target.invoke(request(mint(billing))))).result.statusCode).toBe(200);
    });

    it('is checked at creation', () => {
      const bad = { self: SELF, allow: [], requireKeyCustody: 'hsm' } as unknown as IdentityVerifyOptions;
      expect(() => identityVerify(bad)).toThrow(
        expect.objectContaining({
          reason: 'invalid_config',
          message: expect.stringContaining('requireKeyCustody'),
        }),
      );
      const notACache = {
        self: SELF,
        allow: [],
        workloadIdentityCache: new Map(),
      } as unknown as IdentityVerifyOptions;
      expect(() => identityVerify(notACache)).toThrow(NhiError);
    });
  });

  describe('the verified-WIT cache', () => {
    it('checks each distinct WIT once: later requests with it cost no WIT signature check', async () => {
      const cache = new WorkloadIdentityCache();
      const target = chain({ workloadIdentityCache: cache });
      const signer = mint(billing);
      for (let i = 0; i < 5; i++) {
        expect((await run(() => target.invoke(request(signer)))).result.statusCode).toBe(200);
      }
      expect(cache.stats).toEqual({ hits: 4, misses: 1, size: 1 });
    });

    it('gives no cache room to a caller the allow list refuses', async () => {
      const cache = new WorkloadIdentityCache();
      const target = chain({ workloadIdentityCache: cache, allow: [`billing.prod.${ZONE}`] });
      for (let i = 0; i < 3; i++) {
        const { result } = await run(() => target.invoke(request(mint(orders))));
        expect(result.statusCode).toBe(403);
      }
      expect(cache.size).toBe(0);
      expect((await run(() => target.invoke(request(mint(billing))))).result.statusCode).toBe(200);
      expect(cache.size).toBe(1);
    });

    it("stays bounded under a flood of 5 000 distinct valid WITs from one caller, and keeps the others'", async () => {
      const cache = new WorkloadIdentityCache();
      const target = chain({ workloadIdentityCache: cache, replayStore: new MemoryReplayStore() });
      const quiet = mint(orders);
      expect((await run(() => target.invoke(request(quiet)))).result.statusCode).toBe(200);
      // One confirmation key for the whole flood: each WIT differs by its jti, as a minting loop's would.
      const confirmation = generateKeyPairSync('ed25519');
      const out = captureOutput();
      let largest = 0;
      try {
        for (let i = 0; i < 5000; i++) {
          const signer = mint(billing, { confirmation, jti: `flood-${String(i).padStart(12, '0')}` });
          const result = (await target.invoke(request(signer))) as Answer;
          if (result.statusCode !== 200) throw new Error(`flood request ${i}: ${result.body}`);
          largest = Math.max(largest, cache.size);
        }
      } finally {
        out.restore();
      }
      expect(largest).toBeLessThanOrEqual(cache.maxEntriesPerIssuer + 1);
      expect(cache.size).toBeLessThanOrEqual(cache.maxEntries);
      const before = cache.stats;
      expect((await run(() => target.invoke(request(quiet)))).result.statusCode).toBe(200);
      // The quiet caller's WIT was still remembered: a hit, no signature check.
      expect(cache.stats).toMatchObject({ hits: before.hits + 1, misses: before.misses });
    }, 60_000);

    it('evicts the issuer holding the most when full, and forgets WITs at their exp', async () => {
      const cache = new WorkloadIdentityCache({ maxEntries: 4, maxEntriesPerIssuer: 3 });
      const target = chain({ workloadIdentityCache: cache });
      const quiet = mint(orders);
      expect((await run(() => target.invoke(request(quiet)))).result.statusCode).toBe(200);
      for (let i = 0; i < 6; i++) {
        expect((await run(() => target.invoke(request(mint(billing))))).result.statusCode).toBe(200);
        expect(cache.size).toBeLessThanOrEqual(4);
      }
      const before = cache.stats;
      expect((await run(() => target.invoke(request(quiet)))).result.statusCode).toBe(200);
      expect(cache.stats.misses).toBe(before.misses);
    });

    it('refuses bounds that are not positive integers', () => {
      for (const options of [{ maxEntries: 0 }, { maxEntries: 1.5 }, { maxEntriesPerIssuer: -1 }]) {
        expect(() => new WorkloadIdentityCache(options)).toThrow(
          expect.objectContaining({ reason: 'invalid_config' }),
        );
      }
      expect(new WorkloadIdentityCache({ maxEntries: 8 })).toMatchObject({
        maxEntries: 8,
        maxEntriesPerIssuer: 2,
      });
      expect(new WorkloadIdentityCache({ maxEntries: 2, maxEntriesPerIssuer: 5 }).maxEntriesPerIssuer).toBe(
        2,
      );
    });

    it('forgets a WIT at its exp: after it, the WIT is checked again, and refused once past the skew', async () => {
      let clock = nowSeconds();
      const cache = new WorkloadIdentityCache();
      const target = chain({ workloadIdentityCache: cache, now: () => clock });
      const signer = mint(billing, { now: clock, lifetime: 120 });
      const at = () =>
        pairEvent(signer.wit, signer.sign({ aud: SELF, body: BODY, method: 'POST', now: clock }));
      expect((await run(() => target.invoke(at()))).result.statusCode).toBe(200);
      expect((await run(() => target.invoke(at()))).result.statusCode).toBe(200);
      expect(cache.stats).toEqual({ hits: 1, misses: 1, size: 1 });
      clock += 121; // past exp, within the clock skew: verified again (a miss), accepted
      expect((await run(() => target.invoke(at()))).result.statusCode).toBe(200);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 2, size: 0 });
      clock += 60;
      await expectDenied(target, at(), 401, 'expired');
      expect(cache.size).toBe(0);
    });
  });
});
