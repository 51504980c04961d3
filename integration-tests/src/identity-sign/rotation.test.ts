// Rotation end to end (issue 14): `nhi-dns keygen` → identity-sign signs → `nhi-dns rotate` (old
// and new kid overlap) → `rotate --finish`, against the CLI's stateful Route 53 + Secrets Manager
// fake. The callee chain (identity-resolve → identity-verify) reads the caller's record from what
// Route 53 holds at each lookup, so DNS follows every change the CLI makes. One test clock drives
// the CLI (its waits advance it instead of sleeping) and the signer's key cache (`now`); proofs'
// own times and the main callee stay on the real clock, which the test clock only ever runs ahead of.

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import { type CommandDeps, finishRotation, keygen, parseTxtValue, rotate } from '@nhi-dns/cli';
import { IdentityError, type NhiLogger, parseRecordSet, signProof } from '@nhi-dns/core';
import { captureOutput } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { createSigner, type IdentitySigner, SigningError, type SigningKeyJwk } from '@nhi-dns/identity-sign';
import identityVerify from '@nhi-dns/identity-verify';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import { fakeAws, NAME, TARGET } from '../../../packages/cli/src/fake-aws.test-helper.js';
import { apiGatewayEvent, lambdaContext } from '../support/http-event.js';

const ZONE = TARGET.zone;
const CALLEE = `ledger.prod.${ZONE}`;
const SECRET = '/prod/nhi/billing/signing-key';
const KEY_MAX_AGE = 60;
/** keygen's and rotate's default TTL; rotate's propagation wait is it + 5 s. */
const TTL = 300;
/** The shortest overlap rotate allows with default signers and verifiers: max(TTL, 60 + 60) + 300. */
const OVERLAP = TTL + 300;

const kidOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')).kid;

/** A logger that keeps what identity-sign (and its secret reader) log, off the test output. */
const recordingLogger = () => {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, fields });
    };
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger: logger as unknown as NhiLogger };
};

/** Everything one rotation needs: the AWS fake, the test clock, DNS, the callee, the signer. */
const setUp = () => {
  const aws = fakeAws();
  // Whole seconds, so that Unix-second times the CLI writes (exp) line up with the clock.
  let clock = Math.ceil(Date.now() / 1000) * 1000;
  const sleeps: number[] = [];
  const cliLog: string[] = [];
  /** Runs instead of the next sleep (it must advance the clock by the time slept). */
  let duringNextSleep: ((ms: number) => Promise<void>) | undefined;
  const deps: CommandDeps = {
    route53: aws.route53,
    secrets: aws.secrets,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      const hook = duringNextSleep;
      duringNextSleep = undefined;
      if (hook === undefined) clock += ms;
      else await hook(ms);
    },
    log: (line) => cliLog.push(line),
  };

  // DNS follows Route 53: every lookup reads the RRset the fake holds right now (no cache).
  const answerOf = (name: string): string[][] | undefined =>
    aws.txt(name)?.flatMap((value) => {
      const strings = parseTxtValue(value);
      return strings === undefined ? [] : [strings.map((bytes) => bytes.toString('utf8'))];
    });
  const publishedKeys = () =>
    parseRecordSet(NAME, answerOf(NAME) ?? []).keys.map((key) => ({
      kid: key.kid,
      expiresAt: key.expiresAt,
    }));

  /** The callee; `now` (Unix seconds) replaces the verifier's clock when given. */
  const calleeOn = (now?: () => number) => {
    const chain = middy()
      .use(identityResolve({ zone: ZONE, resolver: createTableResolver(answerOf) }))
      .use(identityVerify({ self: CALLEE, allow: [NAME], ...(now === undefined ? {} : { now }) }))
      .handler(async (event: unknown, context) =>
        (event as { version?: string }).version === '2.0'
          ? { statusCode: 200, body: context.caller.kid }
          : { caller: context.caller.name, kid: context.caller.kid },
      );
    /** Invokes it directly with `{ nhiProof }`: the kid it accepted, or the reason it denied. */
    const call = async (token: string): Promise<{ accepted: string } | { denied: string }> => {
      const out = captureOutput();
      try {
        const result = await chain({ nhiProof: token }, lambdaContext() as never);
        expect(result).toMatchObject({ caller: NAME });
        return { accepted: (result as { kid: string }).kid };
      } catch (error) {
        if (error instanceof IdentityError) return { denied: error.reason };
        throw error;
      } finally {
        out.restore();
      }
    };
    /** Calls it behind API Gateway (HTTP API, payload 2.0): status and body. */
    const callHttp = async (token: string) => {
      const out = captureOutput();
      try {
        return (await chain(apiGatewayEvent(token), lambdaContext() as never)) as {
          statusCode: number;
          body: string;
        };
      } finally {
        out.restore();
      }
    };
    return { call, callHttp };
  };

  const signerLog = recordingLogger();
  const signerOf = (options: Parameters<typeof createSigner>[0] = {}): IdentitySigner =>
    createSigner({
      self: NAME,
      client: aws.secrets,
      keyMaxAge: KEY_MAX_AGE,
      now: () => clock,
      logger: signerLog.logger,
      ...options,
    });
  /** GetSecretValue calls of the signing key's AWSCURRENT made by the signer's reader (the CLI names no stage). */
  const signerReads = () =>
    aws.secretsMock
      .commandCalls(GetSecretValueCommand)
      .filter(({ args: [command] }) => command.input.VersionStage === 'AWSCURRENT').length;
  const storedJwk = (stage: string): SigningKeyJwk => JSON.parse(aws.secretAt(SECRET, stage) ?? 'null');

  return {
    aws,
    deps,
    sleeps,
    cliLog,
    signerLog: signerLog.lines,
    clock: () => clock,
    advance: (seconds: number) => {
      clock += seconds * 1000;
    },
    duringNextSleep: (hook: (ms: number) => Promise<void>) => {
      duringNextSleep = hook;
    },
    publishedKeys,
    calleeOn,
    signerOf,
    signerReads,
    storedJwk,
  };
};

describe('rotation end to end: keygen → sign → rotate → rotate --finish', () => {
  it('signers switch only after the new AWSCURRENT, callees accept both kids in the overlap and only the new one after finish, and a planted key whose halves disagree is never used', async () => {
    const t = setUp();
    const callee = t.calleeOn();
    const aud = CALLEE;

    // 1. keygen: publish k-old to a brand-new name, wait out negative caching, then store its key.
    const generated = await keygen({ ...TARGET, kid: 'k-old' }, t.deps);
    expect(generated).toMatchObject({
      kid: 'k-old',
      propagationWaitSeconds: 905,
      negativeCacheTtlSeconds: 900,
    });
    expect(t.sleeps).toEqual([905_000]);
    expect(t.publishedKeys()).toEqual([{ kid: 'k-old', expiresAt: undefined }]);
    expect(t.storedJwk('AWSCURRENT')).toMatchObject({ kid: 'k-old', kty: 'OKP', crv: 'Ed25519' });

    // 2. identity-sign reads the key keygen stored; the callee accepts its proofs.
    const signer = t.signerOf();
    await signer.ready();
    expect(t.signerReads()).toBe(1);
    const first = await signer.sign({ aud });
    expect(kidOf(first)).toBe('k-old');
    await expect(callee.call(first)).resolves.toEqual({ accepted: 'k-old' });
    await expect(callee.callHttp(await signer.sign({ aud }))).resolves.toMatchObject({
      statusCode: 200,
      body: 'k-old',
    });
    const oldJwk = t.storedJwk('AWSCURRENT');

    // 3. rotate. Its propagation wait (previous TTL + 5 s) runs between publishing k-new and
    // storing it as AWSCURRENT: during it, k-new is in DNS but staged only under AWSPENDING.
    let pendingJwk: SigningKeyJwk | undefined;
    t.duringNextSleep(async (ms) => {
      expect(ms).toBe((TTL + 5) * 1000);
      expect(t.publishedKeys().map((key) => key.kid)).toEqual(['k-old', 'k-new']);
      expect(t.storedJwk('AWSCURRENT').kid).toBe('k-old');
      pendingJwk = t.storedJwk('AWSPENDING');
      expect(pendingJwk.kid).toBe('k-new');
      // Past keyMaxAge the signer asks Secrets Manager again, and still gets k-old: it reads
      // AWSCURRENT only, never the staged version.
      const readsBefore = t.signerReads();
      t.advance(KEY_MAX_AGE + 1);
      const waiting = await signer.sign({ aud });
      expect(t.signerReads()).toBe(readsBefore + 1);
      expect(kidOf(waiting)).toBe('k-old');
      await expect(callee.call(waiting)).resolves.toEqual({ accepted: 'k-old' });
      // The callee already knows k-new (this is what the wait is for), so the switch cannot be early.
      const staged = await signProof({ privateKey: pendingJwk, kid: 'k-new', iss: NAME, aud });
      await expect(callee.call(staged)).resolves.toEqual({ accepted: 'k-new' });
      // The rest of the wait; the signer's cached value is fresh as the wait ends.
      t.advance(ms / 1000 - (KEY_MAX_AGE + 1));
      expect(kidOf(await signer.sign({ aud }))).toBe('k-old');
      expect(t.signerReads()).toBe(readsBefore + 2);
    });
    const started = await rotate({ ...TARGET, kid: 'k-new', overlapSeconds: OVERLAP }, t.deps);
    expect(pendingJwk).toBeDefined();
    expect(started).toMatchObject({
      kid: 'k-new',
      resumed: false,
      propagationWaitSeconds: TTL + 5,
      retiring: ['k-old'],
      finishAfter: t.clock() / 1000 + OVERLAP,
    });
    expect(t.sleeps).toEqual([905_000, 305_000]);
    expect(t.storedJwk('AWSCURRENT')).toEqual(pendingJwk);
    expect(t.storedJwk('AWSPREVIOUS')).toEqual(oldJwk);
    expect(t.aws.secretAt(SECRET, 'AWSPENDING')).toBeUndefined();
    expect(t.publishedKeys()).toEqual([
      { kid: 'k-old', expiresAt: started.finishAfter },
      { kid: 'k-new', expiresAt: undefined },
    ]);

    // AWSCURRENT is k-new now; the signer keeps its cached k-old until keyMaxAge has passed.
    const readsAtSwitch = t.signerReads();
    expect(kidOf(await signer.sign({ aud }))).toBe('k-old');
    t.advance(KEY_MAX_AGE / 2);
    expect(kidOf(await signer.sign({ aud }))).toBe('k-old');
    expect(t.signerReads()).toBe(readsAtSwitch);
    t.advance(KEY_MAX_AGE / 2 + 1);
    const rotated = await signer.sign({ aud });
    expect(kidOf(rotated)).toBe('k-new');
    expect(t.signerReads()).toBe(readsAtSwitch + 1);
    expect(t.signerLog.filter((line) => line.message === 'identity-sign: signing key loaded')).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ 'nhi.kid': 'k-old' }) }),
      expect.objectContaining({ fields: expect.objectContaining({ 'nhi.kid': 'k-old' }) }),
      expect.objectContaining({ fields: expect.objectContaining({ 'nhi.kid': 'k-old' }) }),
      expect.objectContaining({ fields: expect.objectContaining({ 'nhi.kid': 'k-new' }) }),
    ]);

    // The overlap: proofs under either kid are accepted (k-old held by a caller still on it).
    const lagging = t.signerOf({ signingKey: { jwk: oldJwk } });
    await expect(callee.call(await lagging.sign({ aud }))).resolves.toEqual({ accepted: 'k-old' });
    await expect(callee.call(rotated)).resolves.toEqual({ accepted: 'k-new' });
    await expect(callee.callHttp(await signer.sign({ aud }))).resolves.toMatchObject({
      statusCode: 200,
      body: 'k-new',
    });

    // 4. rotate --finish: nothing before the overlap has passed.
    const early = await finishRotation(TARGET, t.deps);
    expect(early).toMatchObject({ removed: [], pending: [{ kid: 'k-old', expiresAt: started.finishAfter }] });
    expect(early.record.status).toBe('unchanged');
    t.advance(started.finishAfter - t.clock() / 1000);
    // A callee whose own clock has reached exp already refuses k-old, before finish runs: expired_key.
    const onTestClock = t.calleeOn(() => t.clock() / 1000);
    const proofAt = (privateKey: SigningKeyJwk, kid: string) =>
      signProof({ privateKey, kid, iss: NAME, aud, now: t.clock() / 1000 });
    await expect(onTestClock.call(await proofAt(oldJwk, 'k-old'))).resolves.toEqual({
      denied: 'expired_key',
    });
    await expect(onTestClock.call(await proofAt(t.storedJwk('AWSCURRENT'), 'k-new'))).resolves.toEqual({
      accepted: 'k-new',
    });
    const finished = await finishRotation(TARGET, t.deps);
    expect(finished).toMatchObject({ removed: ['k-old'], pending: [] });
    expect(t.publishedKeys()).toEqual([{ kid: 'k-new', expiresAt: undefined }]);
    // The RR of k-old is gone (finish removes it, it does not revoke it): unknown_kid, on any clock.
    const afterFinish = await lagging.sign({ aud });
    expect(kidOf(afterFinish)).toBe('k-old');
    await expect(callee.call(afterFinish)).resolves.toEqual({ denied: 'unknown_kid' });
    await expect(callee.callHttp(await lagging.sign({ aud }))).resolves.toMatchObject({
      statusCode: 401,
      body: '{"error":"unknown_kid"}',
    });
    await expect(onTestClock.call(await proofAt(oldJwk, 'k-old'))).resolves.toEqual({
      denied: 'unknown_kid',
    });
    const current = await signer.sign({ aud });
    expect(kidOf(current)).toBe('k-new');
    await expect(callee.call(current)).resolves.toEqual({ accepted: 'k-new' });

    // 5. Someone with secretsmanager:PutSecretValue plants an AWSCURRENT with k-new's kid and x
    // (what DNS publishes) but their own d.
    const attacker = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const genuine = t.storedJwk('AWSCURRENT');
    const planted: SigningKeyJwk = { ...genuine, d: attacker.d };
    expect(planted.x).toBe(genuine.x);
    t.aws.putSecretValue(SECRET, JSON.stringify(planted));
    expect(t.storedJwk('AWSCURRENT')).toEqual(planted);
    // Until keyMaxAge has passed, the signer still signs with the genuine key it holds.
    const beforeExpiry = await signer.sign({ aud });
    await expect(callee.call(beforeExpiry)).resolves.toEqual({ accepted: 'k-new' });
    t.advance(KEY_MAX_AGE + 1);
    const readsAtPlant = t.signerReads();
    const attempt = () =>
      signer.sign({ aud }).then(
        (token) => ({ token }),
        (error: unknown) => ({ error }),
      );
    const refused = {
      error: expect.objectContaining({ name: 'SigningError', reason: 'invalid_signing_key' }),
    };
    // The refusals count SigningKeyLoadError (dimension Reason), which Powertools flushes at once.
    const emitted = captureOutput();
    const outcomes: unknown[] = [];
    try {
      outcomes.push(await attempt(), await attempt());
      outcomes.push(
        await signer.ready().then(
          () => ({ ready: true }),
          (error: unknown) => ({ error }),
        ),
      );
      // Past the 1 s failure backoff it fetches again (a refused value is not cached) and refuses again.
      t.advance(2);
      outcomes.push(await attempt());
      // And later still: every fetch finds the planted value, and it is never used.
      t.advance(KEY_MAX_AGE + 1);
      outcomes.push(await attempt());
    } finally {
      emitted.restore();
    }
    expect(outcomes).toEqual([refused, refused, refused, refused, refused]);
    expect((outcomes[0] as { error: unknown }).error).toBeInstanceOf(SigningError);
    expect(emitted.emf()).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({ Reason: 'invalid_signing_key', SigningKeyLoadError: 1 }),
      ),
    );
    // One read per load that got past the backoff: the value is never cached, so a fixed secret
    // is picked up within a second.
    expect(t.signerReads()).toBe(readsAtPlant + 3);
    const failures = t.signerLog.filter((line) => line.message === 'identity-sign: signing key load failed');
    expect(failures).toHaveLength(3);
    for (const failure of failures) {
      expect(failure.fields).toMatchObject({ 'secret.name': SECRET, 'nhi.reason': 'invalid_signing_key' });
    }
    // Nothing the signer logged names d (the genuine or the planted one).
    const logged = JSON.stringify(t.signerLog);
    expect(logged).not.toContain(String(planted.d));
    expect(logged).not.toContain(String(genuine.d));
    // What a signer that used the planted d under k-new would have sent: refused as bad_signature.
    const forged = await signProof({
      privateKey: createPrivateKey({ key: attacker, format: 'jwk' }),
      kid: 'k-new',
      iss: NAME,
      aud,
    });
    await expect(callee.call(forged)).resolves.toEqual({ denied: 'bad_signature' });
    // The genuine key still verifies: only the stored value is bad.
    await expect(
      callee.call(await signProof({ privateKey: genuine, kid: 'k-new', iss: NAME, aud })),
    ).resolves.toEqual({ accepted: 'k-new' });
    // The operator puts the genuine key back: the signer signs again once the bad value's cache
    // entry has expired (within keyMaxAge; the 1 s backoff alone reuses the cached bad value).
    t.aws.putSecretValue(SECRET, JSON.stringify(genuine));
    t.advance(KEY_MAX_AGE + 1);
    const recovered = await signer.sign({ aud });
    expect(kidOf(recovered)).toBe('k-new');
    await expect(callee.call(recovered)).resolves.toEqual({ accepted: 'k-new' });
  });
});
