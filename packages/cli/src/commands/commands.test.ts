import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRecord, parseRecordSet } from '@nhi-dns/core';
import { createTestCertificate } from '@nhi-dns/core/test-support';
import { fakeAws, NAME, NOW_MS, TARGET } from '../fake-aws.test-helper.js';
import { generateSigningKey, publicKeyFingerprint } from '../keys.js';
import { classifyValues } from '../route53-rrset.js';
import { stageSigningKey, storeSigningKey } from '../secret-store.js';
import { formatTxtValue, parseTxtValue } from '../txt-presentation.js';
import { keygen } from './keygen.js';
import { certThumbprintOfFile, publish } from './publish.js';
import { revoke } from './revoke.js';
import { finishRotation, minimumOverlap, rotate } from './rotate.js';

const SECRET = '/prod/nhi/billing/signing-key';
const SPF = '"v=spf1 -all"';
const NOW_S = NOW_MS / 1000;

const keysAt = (values: readonly string[] | undefined) =>
  parseRecordSet(
    NAME,
    (values ?? []).flatMap((value) => {
      const strings = parseTxtValue(value);
      return strings === undefined ? [] : [strings];
    }),
  ).keys;

const published = async (kid: string) => {
  const key = await generateSigningKey('ed25519', kid);
  return {
    key,
    value: formatTxtValue(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid,
        publicKey: key.publicKey,
        attributes: { tier: 'pci' },
      }),
    ),
  };
};

describe('keygen', () => {
  it('publishes the public key, then stores the private JWK with kid, alg and tags', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [SPF]);
    const result = await keygen({ ...TARGET, keyType: 'p256' }, aws.deps);
    expect(result.kid).toBe('k20261125T151300Z');
    expect(result.record.status).toBe('INSYNC');
    expect(aws.txt(NAME)?.[0]).toBe(SPF);
    expect(keysAt(aws.txt(NAME))).toEqual([
      expect.objectContaining({ kid: result.kid, keyType: 'p256', publicKey: result.publicKey }),
    ]);
    const [stored] = aws.secretVersions(SECRET);
    const jwk = JSON.parse(stored ?? '{}');
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: result.kid, alg: 'ES256', use: 'sig' });
    expect(typeof jwk.d).toBe('string');
    const create = aws.secretsMock.commandCalls(
      (await import('@aws-sdk/client-secrets-manager')).CreateSecretCommand,
    )[0]?.args[0].input;
    expect(create?.Tags).toEqual([
      { Key: 'nhi:service', Value: 'billing' },
      { Key: 'nhi:environment', Value: 'prod' },
      { Key: 'nhi:kid', Value: result.kid },
      // The mark publish requires: the version id (chosen as ClientRequestToken), kid, fingerprint.
      {
        Key: 'nhi:current',
        Value: `${create?.ClientRequestToken} ${result.kid} ${publicKeyFingerprint(result)}`,
      },
    ]);
    expect(result.secret?.versionId).toBe(create?.ClientRequestToken);
    // The result (what the CLI prints) never holds the private key.
    expect(JSON.stringify(result)).not.toContain(jwk.d);
  });

  it('adds a new secret version when the secret exists', async () => {
    const aws = fakeAws();
    await keygen({ ...TARGET, kid: 'k1' }, aws.deps);
    const second = await keygen({ ...TARGET, kid: 'k2' }, aws.deps);
    expect(second.secret?.created).toBe(false);
    expect(aws.secretVersions(SECRET)).toHaveLength(2);
    expect(keysAt(aws.txt(NAME)).map((key) => key.kid)).toEqual(['k1', 'k2']);
  });

  it('writes nothing in a dry run', async () => {
    const aws = fakeAws();
    const result = await keygen({ ...TARGET, dryRun: true }, aws.deps);
    expect(result.record.status).toBe('dry-run');
    expect(result.record.changeBatch?.Changes?.[0]?.Action).toBe('UPSERT');
    expect(result.secret).toBeUndefined();
    expect(aws.changeCalls()).toBe(0);
    expect(aws.secretWrites()).toBe(0);
  });

  it('refuses a kid that is already published', async () => {
    const aws = fakeAws();
    const { value } = await published('k1');
    aws.setTxt(NAME, [value]);
    await expect(keygen({ ...TARGET, kid: 'k1' }, aws.deps)).rejects.toMatchObject({
      reason: 'kid_conflict',
    });
    expect(aws.secretWrites()).toBe(0);
  });
});

describe('publish', () => {
  it('publishes the key of the signing-key secret, keeping foreign values and other keys', async () => {
    const aws = fakeAws();
    const other = await published('k0');
    aws.setTxt(NAME, [SPF, other.value]);
    const mine = await generateSigningKey('ed25519', 'k1');
    await storeSigningKey({ secrets: aws.secrets, ...TARGET, privateJwk: mine.privateJwk });
    const result = await publish(TARGET, aws.deps);
    expect(result).toMatchObject({ kid: 'k1', status: 'INSYNC' });
    expect(aws.txt(NAME)?.slice(0, 2)).toEqual([SPF, other.value]);
    // The new key inherits the attributes the other keys agree on.
    expect(keysAt(aws.txt(NAME))[1]).toMatchObject({
      kid: 'k1',
      publicKey: mine.publicKey,
      attributes: { tier: 'pci' },
    });
  });

  it('is idempotent: a second run makes no change', async () => {
    const aws = fakeAws();
    const { key } = await published('k1');
    await publish({ ...TARGET, key }, aws.deps);
    const before = aws.txt(NAME);
    const again = await publish({ ...TARGET, key }, aws.deps);
    expect(again.status).toBe('unchanged');
    expect(aws.changeCalls()).toBe(1);
    expect(aws.txt(NAME)).toEqual(before);
  });

  it('changes the TTL only when asked', async () => {
    const aws = fakeAws();
    const { key, value } = await published('k1');
    aws.setTxt(NAME, [value], 60);
    await expect(publish({ ...TARGET, key, attributes: { tier: 'pci' } }, aws.deps)).resolves.toMatchObject({
      status: 'unchanged',
      ttl: 60,
    });
    await publish({ ...TARGET, key, ttl: 300 }, aws.deps);
    expect(aws.ttl(NAME)).toBe(300);
  });

  it('pins a client certificate (--cert), keeps the pin on a re-publish and through a rotation', async () => {
    const certificate = createTestCertificate('billing');
    const dir = mkdtempSync(join(tmpdir(), 'nhi-cli-cert-'));
    try {
      const pemFile = join(dir, 'billing.pem');
      writeFileSync(pemFile, certificate.pem);
      const junkFile = join(dir, 'junk.pem');
      writeFileSync(junkFile, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
      const thumbprint = await certThumbprintOfFile(pemFile);
      // openssl's own DER, hashed by the test helper: an independent computation.
      expect(thumbprint).toBe(certificate.thumbprint);
      await expect(certThumbprintOfFile(junkFile)).rejects.toMatchObject({ exitCode: 2 });
      await expect(certThumbprintOfFile(join(dir, 'missing.pem'))).rejects.toThrow(/cannot read/);

      const aws = fakeAws();
      const { key } = await published('k1');
      await publish({ ...TARGET, key, certThumbprint: thumbprint }, aws.deps);
      expect(keysAt(aws.txt(NAME))[0]).toMatchObject({ kid: 'k1', certThumbprint: thumbprint });
      await expect(publish({ ...TARGET, key }, aws.deps)).resolves.toMatchObject({ status: 'unchanged' });
      aws.setSecret(SECRET, JSON.stringify(key.privateJwk));
      await rotate({ ...TARGET, overlapSeconds: 900, propagationWaitSeconds: 0, kid: 'k2' }, aws.deps);
      // The retiring key gets exp= and keeps its pin; the new key has none until published with --cert.
      expect(keysAt(aws.txt(NAME))).toEqual([
        expect.objectContaining({ kid: 'k1', certThumbprint: thumbprint, expiresAt: expect.any(Number) }),
        expect.not.objectContaining({ certThumbprint: expect.anything() }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to change the key of a published kid, or to un-revoke one', async () => {
    const aws = fakeAws();
    const { key } = await published('k1');
    const { key: otherKey } = await published('k1');
    await publish({ ...TARGET, key }, aws.deps);
    await expect(publish({ ...TARGET, key: otherKey }, aws.deps)).rejects.toMatchObject({
      reason: 'kid_conflict',
      exitCode: 4,
    });
    await revoke({ ...TARGET, kid: 'k1' }, aws.deps);
    await expect(publish({ ...TARGET, key }, aws.deps)).rejects.toMatchObject({ reason: 'kid_revoked' });
    expect(keysAt(aws.txt(NAME))[0]?.publicKey).toBe('');
  });

  it('prints the change batch and writes nothing in a dry run', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [SPF]);
    const { key } = await published('k1');
    const result = await publish({ ...TARGET, key, dryRun: true }, aws.deps);
    expect(result.status).toBe('dry-run');
    expect(result.changeBatch?.Changes?.[0]?.ResourceRecordSet?.ResourceRecords).toHaveLength(2);
    expect(aws.changeCalls()).toBe(0);
    expect(aws.txt(NAME)).toEqual([SPF]);
  });
});

describe('publish: negative caching and key consistency (security review, issue 13)', () => {
  it("waits the zone's negative TTL + 5 s after publishing to a name that had no TXT RRset", async () => {
    const aws = fakeAws();
    const key = await generateSigningKey('ed25519', 'k1');
    const result = await publish({ ...TARGET, key }, aws.deps);
    expect(result).toMatchObject({
      status: 'INSYNC',
      propagationWaitSeconds: 905,
      negativeCacheTtlSeconds: 900,
    });
    expect(aws.events).toEqual(['ChangeResourceRecordSets C1', 'GetChange INSYNC', 'sleep 905000']);
    // A name that had an RRset, and a re-run that changes nothing, do not wait.
    aws.events.length = 0;
    await expect(publish({ ...TARGET, key }, aws.deps)).resolves.toMatchObject({
      status: 'unchanged',
      propagationWaitSeconds: 0,
    });
    const next = await generateSigningKey('ed25519', 'k2');
    await expect(publish({ ...TARGET, key: next }, aws.deps)).resolves.toMatchObject({
      propagationWaitSeconds: 0,
    });
    expect(aws.events.filter((event) => event.startsWith('sleep'))).toEqual([]);
  });

  it('--propagation-wait 0 on a new name does not wait and says loudly that signers may be refused', async () => {
    const aws = fakeAws();
    const key = await generateSigningKey('ed25519', 'k1');
    const result = await publish({ ...TARGET, key, propagationWaitSeconds: 0 }, aws.deps);
    expect(result.propagationWaitSeconds).toBe(0);
    expect(result.warning).toMatch(/^WARNING: .*negative TTL is 900 s/);
    expect(aws.log).toContainEqual(result.warning);
    expect(aws.events.filter((event) => event.startsWith('sleep'))).toEqual([]);
  });

  it.each(['ed25519', 'p256'] as const)(
    'refuses a %s signing-key secret whose public part is not its private part (key_mismatch)',
    async (keyType) => {
      const aws = fakeAws();
      const victim = await generateSigningKey(keyType, 'k1');
      const attacker = await generateSigningKey(keyType, 'k1');
      aws.setSecret(
        SECRET,
        JSON.stringify({ ...attacker.privateJwk, x: victim.privateJwk.x, y: victim.privateJwk.y }),
      );
      await expect(publish(TARGET, aws.deps)).rejects.toMatchObject({ reason: 'key_mismatch', exitCode: 4 });
      expect(aws.changeCalls()).toBe(0);
    },
  );
});

describe('publish only publishes a key nhi-dns stored (nhi:current mark)', () => {
  const overlap = { overlapSeconds: 900, propagationWaitSeconds: 0 };

  it('refuses an AWSCURRENT version planted with PutSecretValue alone, and writes nothing to Route 53', async () => {
    const aws = fakeAws();
    await keygen({ ...TARGET, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
    const before = aws.txt(NAME);
    const changes = aws.changeCalls();
    // Well-formed, fresh kid, x consistent with d: only the missing mark gives it away.
    const attacker = await generateSigningKey('ed25519', 'kevil');
    aws.putSecretValue(SECRET, JSON.stringify(attacker.privateJwk));
    const refusal = publish(TARGET, aws.deps);
    await expect(refusal).rejects.toMatchObject({ reason: 'untrusted_key', exitCode: 4 });
    await expect(refusal).rejects.toThrow(/key kevil .*not written by nhi-dns keygen\/rotate/);
    await expect(refusal).rejects.toThrow(publicKeyFingerprint(attacker));
    expect(aws.changeCalls()).toBe(changes);
    expect(aws.txt(NAME)).toEqual(before);
    expect(JSON.stringify(keysAt(aws.txt(NAME)))).not.toContain(attacker.publicKey);
  });

  it('refuses a planted key under the genuine kid (the mark names the fingerprint, not just the kid)', async () => {
    const aws = fakeAws();
    await keygen({ ...TARGET, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
    aws.setTxt(NAME, [SPF]);
    const attacker = await generateSigningKey('ed25519', 'k1');
    aws.putSecretValue(SECRET, JSON.stringify(attacker.privateJwk));
    await expect(publish(TARGET, aws.deps)).rejects.toMatchObject({ reason: 'untrusted_key' });
    expect(aws.txt(NAME)).toEqual([SPF]);
  });

  it('keygen → publish still publishes the genuine key', async () => {
    const aws = fakeAws();
    const generated = await keygen({ ...TARGET, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
    aws.setTxt(NAME, [SPF]); // the record was lost: the deploy's publish puts the key back
    const result = await publish({ ...TARGET, propagationWaitSeconds: 0 }, aws.deps);
    expect(result).toMatchObject({ kid: 'k1', status: 'INSYNC' });
    expect(keysAt(aws.txt(NAME))).toEqual([
      expect.objectContaining({ kid: 'k1', publicKey: generated.publicKey }),
    ]);
  });

  it('rotate → publish works, and rotate replaces an unmarked (legacy or planted) current key', async () => {
    const aws = fakeAws();
    const old = await published('k0');
    aws.setTxt(NAME, [SPF, old.value], 120);
    aws.setSecret(SECRET, JSON.stringify(old.key.privateJwk)); // stored by a CLI without marks
    await expect(publish(TARGET, aws.deps)).rejects.toThrow(/run `nhi-dns rotate`.*--trust-stored-key/);
    const rotated = await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
    const mark = aws.secretTags(SECRET)['nhi:current'];
    expect(mark).toBe(`${rotated.secret?.versionId} k1 ${rotated.fingerprint}`);
    aws.setTxt(NAME, [SPF, old.value], 120);
    const result = await publish({ ...TARGET, propagationWaitSeconds: 0 }, aws.deps);
    expect(result).toMatchObject({ kid: 'k1', status: 'INSYNC' });
    expect(keysAt(aws.txt(NAME)).map((key) => key.kid)).toEqual(['k0', 'k1']);
  });

  it('a rotate interrupted between storing its key and marking it marks the version on the re-run', async () => {
    const aws = fakeAws();
    const old = await published('k0');
    const next = await published('k1');
    aws.setSecret(SECRET, JSON.stringify(old.key.privateJwk));
    await stageSigningKey({ secrets: aws.secrets, ...TARGET, privateJwk: next.key.privateJwk });
    aws.setTxt(NAME, [SPF, old.value, next.value], 120);
    // Step 2's PutSecretValue went through; its TagResource did not.
    const versionId = aws.putSecretValue(SECRET, JSON.stringify(next.key.privateJwk));
    await expect(publish(TARGET, aws.deps)).rejects.toMatchObject({ reason: 'untrusted_key' });
    const rerun = await rotate({ ...TARGET, ...overlap }, aws.deps);
    expect(rerun).toMatchObject({ kid: 'k1', resumed: true, propagationWaitSeconds: 0 });
    expect(aws.secretTags(SECRET)['nhi:current']).toBe(`${versionId} k1 ${rerun.fingerprint}`);
    await expect(publish(TARGET, aws.deps)).resolves.toMatchObject({ kid: 'k1', status: 'unchanged' });
  });

  it('a planted current version under the staged kid is not taken for the staged key', async () => {
    const aws = fakeAws();
    const old = await published('k0');
    const next = await published('k1');
    aws.setSecret(SECRET, JSON.stringify(old.key.privateJwk));
    await stageSigningKey({ secrets: aws.secrets, ...TARGET, privateJwk: next.key.privateJwk });
    aws.setTxt(NAME, [SPF, old.value, next.value], 120);
    const planted = await generateSigningKey('ed25519', 'k1');
    aws.putSecretValue(SECRET, JSON.stringify(planted.privateJwk));
    const rerun = await rotate({ ...TARGET, ...overlap }, aws.deps);
    expect(rerun).toMatchObject({ kid: 'k1', resumed: true });
    expect(JSON.parse(aws.secretAt(SECRET, 'AWSCURRENT') ?? '{}').x).toBe(next.key.privateJwk.x);
    await expect(publish(TARGET, aws.deps)).resolves.toMatchObject({ kid: 'k1', status: 'unchanged' });
  });

  it('--trust-stored-key accepts an unmarked key only by its fingerprint, and marks it (not in a dry run)', async () => {
    const aws = fakeAws();
    const legacy = await generateSigningKey('ed25519', 'k0');
    aws.setSecret(SECRET, JSON.stringify(legacy.privateJwk));
    const fingerprint = publicKeyFingerprint(legacy);
    const other = publicKeyFingerprint(await generateSigningKey('ed25519', 'k0'));
    await expect(publish({ ...TARGET, trustStoredKey: other }, aws.deps)).rejects.toMatchObject({
      reason: 'untrusted_key',
    });
    await expect(publish({ ...TARGET, trustStoredKey: 'k0' }, aws.deps)).rejects.toMatchObject({
      reason: 'usage',
    });
    expect(aws.changeCalls()).toBe(0);
    await publish({ ...TARGET, trustStoredKey: fingerprint, dryRun: true }, aws.deps);
    expect(aws.secretTags(SECRET)['nhi:current']).toBeUndefined();
    const result = await publish(
      { ...TARGET, trustStoredKey: fingerprint, propagationWaitSeconds: 0 },
      aws.deps,
    );
    expect(result).toMatchObject({ kid: 'k0', status: 'INSYNC' });
    expect(aws.secretTags(SECRET)['nhi:current']).toBe(`v1 k0 ${fingerprint}`);
    expect(aws.log).toContainEqual(expect.stringContaining('WARNING: trusting the unmarked key k0'));
    // Marked now: later deploys need no flag; a key planted afterwards is refused again.
    await expect(publish(TARGET, aws.deps)).resolves.toMatchObject({ status: 'unchanged' });
    aws.putSecretValue(SECRET, JSON.stringify((await generateSigningKey('ed25519', 'kevil')).privateJwk));
    await expect(publish(TARGET, aws.deps)).rejects.toMatchObject({ reason: 'untrusted_key' });
  });
});

describe('revoke', () => {
  it('publishes p= empty for the key, keeps it visible, and is idempotent', async () => {
    const aws = fakeAws();
    const a = await published('a');
    const b = await published('b');
    aws.setTxt(NAME, [SPF, a.value, b.value]);
    const result = await revoke({ ...TARGET, kid: 'a' }, aws.deps);
    expect(result).toMatchObject({ kid: 'a', usableKeys: 1, status: 'INSYNC' });
    const keys = keysAt(aws.txt(NAME));
    expect(keys.map((key) => [key.kid, key.publicKey === ''])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(aws.txt(NAME)?.[0]).toBe(SPF);
    await expect(revoke({ ...TARGET, kid: 'a' }, aws.deps)).resolves.toMatchObject({ status: 'unchanged' });
    expect(aws.changeCalls()).toBe(1);
  });

  it('reports the kill switch when the last usable key goes', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('a')).value]);
    await expect(revoke({ ...TARGET, kid: 'a' }, aws.deps)).resolves.toMatchObject({ usableKeys: 0 });
    expect(aws.log.join('\n')).toContain('no usable key left');
  });

  it('fails for an unknown kid without writing', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('a')).value]);
    await expect(revoke({ ...TARGET, kid: 'zz' }, aws.deps)).rejects.toMatchObject({ reason: 'unknown_kid' });
    expect(aws.changeCalls()).toBe(0);
  });
});

describe('keygen propagation wait', () => {
  // Security review, issue 13 item 2: anyone can make a VPC resolver cache NXDOMAIN for a name
  // before it is published, for the zone's negative TTL (min(SOA TTL, SOA MINIMUM), RFC 2308);
  // a 60 s wait let signers start while such resolvers still denied the name.
  it("waits the zone's negative TTL (min(SOA TTL, SOA MINIMUM)) + 5 s for a brand-new name before creating the secret", async () => {
    const aws = fakeAws(); // Route 53's default SOA: TTL 900, MINIMUM 86400
    const result = await keygen({ ...TARGET, kid: 'k1' }, aws.deps);
    expect(result).toMatchObject({ propagationWaitSeconds: 905, negativeCacheTtlSeconds: 900 });
    expect(result.warning).toBeUndefined();
    expect(aws.events.filter((event) => !event.startsWith('sleep') || event === 'sleep 905000')).toEqual([
      'ChangeResourceRecordSets C1',
      'GetChange INSYNC',
      'sleep 905000',
      'CreateSecret',
    ]);
    const other = fakeAws();
    other.setSoa(3600, 300);
    await expect(keygen({ ...TARGET, kid: 'k1' }, other.deps)).resolves.toMatchObject({
      propagationWaitSeconds: 305,
      negativeCacheTtlSeconds: 300,
    });
    expect(other.events).toContain('sleep 305000');
  });

  it('says loudly that signers may be refused when told to wait less than the negative TTL of a new name', async () => {
    const aws = fakeAws();
    const result = await keygen({ ...TARGET, kid: 'k1', propagationWaitSeconds: 60 }, aws.deps);
    expect(result.propagationWaitSeconds).toBe(60);
    expect(result.warning).toMatch(/^WARNING: .*negative TTL is 900 s.*up to 840 s more/);
    expect(aws.log).toContainEqual(result.warning);
    expect(aws.events).toContain('sleep 60000');
    const none = await keygen({ ...TARGET, kid: 'k2', propagationWaitSeconds: 0 }, fakeAws().deps);
    expect(none.warning).toMatch(/up to 900 s more/);
  });

  it('waits the TTL + 5 s when the name already had a TXT RRset, and not at all with 0', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [SPF], 200);
    await expect(keygen({ ...TARGET, kid: 'k1' }, aws.deps)).resolves.toMatchObject({
      propagationWaitSeconds: 205,
    });
    expect(aws.events).toContain('sleep 205000');
    aws.events.length = 0;
    await keygen({ ...TARGET, kid: 'k2', propagationWaitSeconds: 0 }, aws.deps);
    expect(aws.events.filter((event) => event.startsWith('sleep 2'))).toEqual([]);
  });

  it('shows the wait in a dry run and does not sleep', async () => {
    const aws = fakeAws();
    const result = await keygen({ ...TARGET, dryRun: true, propagationWaitSeconds: 30 }, aws.deps);
    expect(result.propagationWaitSeconds).toBe(30);
    expect(aws.events).toEqual([]);
  });
});

describe('rotate', () => {
  const overlap = { overlapSeconds: 900 };

  it('adds the new key, stores it, then gives the old key exp = now + overlap', async () => {
    const aws = fakeAws();
    const old = await published('k0');
    aws.setTxt(NAME, [SPF, old.value]);
    const result = await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
    expect(result).toMatchObject({ kid: 'k1', retiring: ['k0'], finishAfter: NOW_S + 900 });
    expect(result.steps.map((step) => step.status)).toEqual(['INSYNC', 'INSYNC']);
    const keys = keysAt(aws.txt(NAME));
    expect(keys.map((key) => [key.kid, key.expiresAt])).toEqual([
      ['k0', NOW_S + 900],
      ['k1', undefined],
    ]);
    expect(keys[1]?.attributes).toEqual({ tier: 'pci' });
    expect(JSON.parse(aws.secretVersions(SECRET)[0] ?? '{}')).toMatchObject({ kid: 'k1' });
    expect(aws.txt(NAME)?.[0]).toBe(SPF);
  });

  it('never leaves the name without a usable key at any step', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value]);
    const seen: number[] = [];
    aws.route53Mock
      .on((await import('@aws-sdk/client-route-53')).ChangeResourceRecordSetsCommand)
      .callsFake((input) => {
        const values = input.ChangeBatch.Changes[0].ResourceRecordSet.ResourceRecords.map(
          (rr: { Value: string }) => rr.Value,
        );
        seen.push(
          classifyValues(NAME, values).filter(
            ({ record }) => record && record.publicKey !== '' && (record.expiresAt ?? Infinity) > NOW_S,
          ).length,
        );
        aws.setTxt(NAME, values);
        return { ChangeInfo: { Id: `/change/R${seen.length}`, Status: 'INSYNC', SubmittedAt: new Date() } };
      });
    await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
    aws.setNow(NOW_MS + 901_000);
    await finishRotation(TARGET, aws.deps);
    expect(seen).toEqual([2, 2, 1]);
    expect(keysAt(aws.txt(NAME)).map((key) => key.kid)).toEqual(['k1']);
  });

  it('refuses an overlap shorter than TTL + max proof lifetime', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value], 300);
    await expect(rotate({ ...TARGET, overlapSeconds: 599 }, aws.deps)).rejects.toMatchObject({
      reason: 'usage',
      exitCode: 2,
    });
    expect(aws.changeCalls()).toBe(0);
  });

  it("counts the signers' key max age and the verifiers' clock skew in the shortest overlap", async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value], 60);
    // A signer that keeps its key 900 s signs with k0 until 900 s after the switch; its last
    // proof lives 300 s and verifies up to 60 s past its exp: k0 must last 1260 s.
    const slowSigners = { signerKeyMaxAgeSeconds: 900, propagationWaitSeconds: 0 };
    await expect(rotate({ ...TARGET, ...slowSigners, overlapSeconds: 1259 }, aws.deps)).rejects.toMatchObject(
      {
        reason: 'usage',
        message: expect.stringContaining('1260 seconds'),
      },
    );
    expect(aws.changeCalls()).toBe(0);
    await rotate({ ...TARGET, ...slowSigners, overlapSeconds: 1260, kid: 'k1' }, aws.deps);
    expect(minimumOverlap({ ttl: 300, maxProofLifetime: 300, signerKeyMaxAge: 60, clockSkew: 60 })).toBe(600);
    expect(minimumOverlap({ ttl: 60, maxProofLifetime: 120, signerKeyMaxAge: 60, clockSkew: 30 })).toBe(210);
  });

  it('refuses to start while a rotation is in progress, unless forced', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value]);
    await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
    await expect(rotate({ ...TARGET, ...overlap, kid: 'k2' }, aws.deps)).rejects.toMatchObject({
      reason: 'rotation_in_progress',
    });
    await expect(rotate({ ...TARGET, ...overlap, kid: 'k2', force: true }, aws.deps)).resolves.toMatchObject({
      retiring: ['k1'],
    });
  });

  it('refuses when there is nothing to rotate', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [SPF]);
    await expect(rotate({ ...TARGET, ...overlap }, aws.deps)).rejects.toMatchObject({
      reason: 'nothing_to_rotate',
    });
  });

  it('shows both change batches and writes nothing in a dry run', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value]);
    const result = await rotate({ ...TARGET, ...overlap, kid: 'k1', dryRun: true }, aws.deps);
    expect(result.steps.map((step) => step.status)).toEqual(['dry-run', 'dry-run']);
    expect(result.steps[1]?.keys.map((key) => [key.kid, key.expiresAt])).toEqual([
      ['k0', NOW_S + 900],
      ['k1', undefined],
    ]);
    expect(aws.changeCalls()).toBe(0);
    expect(aws.secretWrites()).toBe(0);
  });

  describe('propagation wait', () => {
    const withSecret = async (ttl = 120) => {
      const aws = fakeAws();
      const old = await published('k0');
      aws.setTxt(NAME, [SPF, old.value], ttl);
      aws.setSecret(SECRET, JSON.stringify(old.key.privateJwk));
      return aws;
    };
    const kidAt = (aws: ReturnType<typeof fakeAws>, stage: string) =>
      JSON.parse(aws.secretAt(SECRET, stage) ?? '{}').kid;

    it('stores the new key as current only after INSYNC and a sleep of the previous TTL + 5 s', async () => {
      const aws = await withSecret(120);
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
      expect(result).toMatchObject({ kid: 'k1', resumed: false, propagationWaitSeconds: 125 });
      const order = aws.events.filter((event) => !event.startsWith('sleep') || event === 'sleep 125000');
      expect(order).toEqual([
        'PutSecretValue AWSPENDING',
        'TagResource nhi:pending',
        'ChangeResourceRecordSets C1',
        'GetChange INSYNC',
        'sleep 125000',
        'UpdateSecretVersionStage +AWSCURRENT',
        'TagResource nhi:kid,nhi:current',
        'UpdateSecretVersionStage -AWSPENDING',
        'TagResource nhi:pending',
        'ChangeResourceRecordSets C2',
        'GetChange INSYNC',
      ]);
      expect(kidAt(aws, 'AWSCURRENT')).toBe('k1');
      expect(kidAt(aws, 'AWSPREVIOUS')).toBe('k0');
      expect(aws.secretAt(SECRET, 'AWSPENDING')).toBeUndefined();
      expect(aws.log).toContainEqual(expect.stringContaining('waiting 125 s'));
    });

    it('moves AWSCURRENT onto the staged version: one version per key, none left unlabelled', async () => {
      const aws = await withSecret(120);
      await rotate({ ...TARGET, ...overlap, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
      expect(aws.secretStages(SECRET)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
      expect(aws.secretVersions(SECRET).map((value) => JSON.parse(value).kid)).toEqual(['k0', 'k1']);
      aws.setNow(NOW_MS + 901_000);
      await finishRotation(TARGET, aws.deps);
      await rotate({ ...TARGET, ...overlap, kid: 'k2', propagationWaitSeconds: 0 }, aws.deps);
      expect(aws.secretStages(SECRET)).toEqual([[], ['AWSPREVIOUS'], ['AWSCURRENT']]);
      await expect(publish(TARGET, aws.deps)).resolves.toMatchObject({ kid: 'k2', status: 'unchanged' });
    });

    it('waits the TTL the name had before the change, not a new --ttl', async () => {
      const aws = await withSecret(60);
      const result = await rotate({ ...TARGET, overlapSeconds: 900, ttl: 300, kid: 'k1' }, aws.deps);
      expect(result.propagationWaitSeconds).toBe(65);
      expect(aws.events).toContain('sleep 65000');
    });

    it('--propagation-wait 0 stores right after INSYNC', async () => {
      const aws = await withSecret();
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
      expect(result.propagationWaitSeconds).toBe(0);
      const insync = aws.events.indexOf('GetChange INSYNC');
      expect(aws.events[insync + 1]).toBe('UpdateSecretVersionStage +AWSCURRENT');
      expect(aws.log.join('\n')).not.toContain('waiting');
    });

    it('refuses a negative --propagation-wait', async () => {
      const aws = await withSecret();
      await expect(
        rotate({ ...TARGET, ...overlap, propagationWaitSeconds: -1 }, aws.deps),
      ).rejects.toMatchObject({ reason: 'usage' });
      expect(aws.changeCalls() + aws.secretWrites()).toBe(0);
    });

    it('shows the wait in a dry run and neither sleeps nor writes', async () => {
      const aws = await withSecret(120);
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k1', dryRun: true }, aws.deps);
      expect(result).toMatchObject({ propagationWaitSeconds: 125, resumed: false });
      expect(aws.events.filter((event) => event.startsWith('sleep'))).toEqual([]);
      expect(aws.changeCalls() + aws.secretWrites()).toBe(0);
    });

    it('interrupted during the wait, a re-run carries on with the staged key instead of making another', async () => {
      const aws = await withSecret(120);
      const interrupted = {
        ...aws.deps,
        sleep: async (ms: number) => {
          if (ms === 125_000) throw new Error('SIGTERM');
        },
      };
      await expect(rotate({ ...TARGET, ...overlap, kid: 'k1' }, interrupted)).rejects.toThrow('SIGTERM');
      // Nothing switched and nothing lost validity: k0 still current and without exp.
      expect(kidAt(aws, 'AWSCURRENT')).toBe('k0');
      expect(kidAt(aws, 'AWSPENDING')).toBe('k1');
      expect(keysAt(aws.txt(NAME)).map((key) => [key.kid, key.expiresAt])).toEqual([
        ['k0', undefined],
        ['k1', undefined],
      ]);
      aws.events.length = 0;
      const rerun = await rotate({ ...TARGET, ...overlap, kid: 'k2' }, aws.deps);
      expect(rerun).toMatchObject({
        kid: 'k1',
        resumed: true,
        retiring: ['k0'],
        propagationWaitSeconds: 125,
      });
      expect(rerun.steps[0]?.status).toBe('unchanged');
      expect(aws.events.filter((event) => !event.startsWith('sleep') || event === 'sleep 125000')).toEqual([
        'sleep 125000',
        'UpdateSecretVersionStage +AWSCURRENT',
        'TagResource nhi:kid,nhi:current',
        'UpdateSecretVersionStage -AWSPENDING',
        'TagResource nhi:pending',
        'ChangeResourceRecordSets C2',
        'GetChange INSYNC',
      ]);
      expect(keysAt(aws.txt(NAME)).map((key) => [key.kid, key.expiresAt])).toEqual([
        ['k0', NOW_S + 900],
        ['k1', undefined],
      ]);
      expect(kidAt(aws, 'AWSCURRENT')).toBe('k1');
      expect(aws.secretAt(SECRET, 'AWSPENDING')).toBeUndefined();
      expect(aws.log).toContainEqual(
        expect.stringContaining(
          `resuming an interrupted rotation with the staged key k1 (fingerprint ${rerun.fingerprint})`,
        ),
      );
      expect(aws.secretTags(SECRET)['nhi:pending']).toBe('');
    });

    it('interrupted after storing, a re-run neither waits nor stores again', async () => {
      const aws = await withSecret(120);
      aws.failOnce(
        'UpdateSecretVersionStage',
        (input) => input.VersionStage === 'AWSPENDING',
        Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }),
      );
      await expect(rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps)).rejects.toThrow();
      expect(kidAt(aws, 'AWSCURRENT')).toBe('k1');
      aws.events.length = 0;
      const rerun = await rotate({ ...TARGET, ...overlap }, aws.deps);
      expect(rerun).toMatchObject({ kid: 'k1', resumed: true, propagationWaitSeconds: 0, retiring: ['k0'] });
      expect(rerun.secret).toBeUndefined();
      expect(aws.events.some((event) => event.startsWith('sleep 125'))).toBe(false);
      expect(aws.events.filter((event) => event.startsWith('PutSecretValue'))).toEqual([]);
      expect(kidAt(aws, 'AWSPREVIOUS')).toBe('k0');
      expect(aws.secretStages(SECRET)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    });

    it('ignores a staged key that DNS no longer treats as usable', async () => {
      const aws = await withSecret(120);
      const stale = await generateSigningKey('ed25519', 'old');
      await rotate({ ...TARGET, ...overlap, kid: 'k1', propagationWaitSeconds: 0 }, aws.deps);
      aws.setNow(NOW_MS + 901_000);
      await finishRotation(TARGET, aws.deps);
      // An AWSPENDING label left on a key that is revoked in DNS.
      aws.setTxt(NAME, [
        ...(aws.txt(NAME) ?? []),
        formatTxtValue(formatRecord({ service: 'billing', environment: 'prod', kid: 'old', publicKey: '' })),
      ]);
      await aws.secrets.send(
        new (await import('@aws-sdk/client-secrets-manager')).PutSecretValueCommand({
          SecretId: SECRET,
          SecretString: JSON.stringify(stale.privateJwk),
          VersionStages: ['AWSPENDING'],
        }),
      );
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k2' }, aws.deps);
      expect(result).toMatchObject({ kid: 'k2', resumed: false, retiring: ['k1'] });
      expect(kidAt(aws, 'AWSCURRENT')).toBe('k2');
    });
  });

  // Security review, issue 13 item 1: a principal that can only write the secret's value
  // (PutSecretValue) planted a JWK under AWSPENDING, and the next rotate published it and made it
  // current. Only a version rotate staged and marked (nhi:pending tag) is resumed.
  describe('AWSPENDING planted by a writer of the secret value (finding 13.1)', () => {
    const plant = async (aws: ReturnType<typeof fakeAws>, jwk: object) =>
      aws.secrets.send(
        new (await import('@aws-sdk/client-secrets-manager')).PutSecretValueCommand({
          SecretId: SECRET,
          SecretString: JSON.stringify(jwk),
          VersionStages: ['AWSPENDING'],
        }),
      );
    const setUp = async () => {
      const aws = fakeAws();
      const old = await published('k0');
      aws.setTxt(NAME, [SPF, old.value], 120);
      aws.setSecret(SECRET, JSON.stringify(old.key.privateJwk));
      return aws;
    };

    it('never publishes nor makes current a key rotate did not stage; warns and rotates to a fresh key', async () => {
      const aws = await setUp();
      const attacker = await generateSigningKey('ed25519', 'kevil');
      await plant(aws, attacker.privateJwk);
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
      expect(result).toMatchObject({ kid: 'k1', resumed: false, ignoredPending: { kid: 'kevil' } });
      expect(keysAt(aws.txt(NAME)).map((key) => key.kid)).toEqual(['k0', 'k1']);
      expect(aws.txt(NAME)?.join(' ')).not.toContain(attacker.publicKey);
      expect(JSON.parse(aws.secretAt(SECRET, 'AWSCURRENT') ?? '{}').kid).toBe('k1');
      expect(aws.log).toContainEqual(
        expect.stringMatching(/^WARNING: ignoring the version under AWSPENDING .*kevil/),
      );
      expect(aws.log.join('\n')).not.toContain('resuming');
    });

    it('does not resume a re-planted version of an interrupted rotation (same kid and x, attacker d)', async () => {
      const aws = await setUp();
      await expect(
        rotate(
          { ...TARGET, ...overlap, kid: 'k1' },
          {
            ...aws.deps,
            sleep: async (ms: number) => {
              if (ms === 125_000) throw new Error('SIGTERM');
            },
          },
        ),
      ).rejects.toThrow('SIGTERM');
      const legit = JSON.parse(aws.secretAt(SECRET, 'AWSPENDING') ?? '{}');
      const attacker = await generateSigningKey('ed25519', 'k1');
      await plant(aws, { ...attacker.privateJwk, x: legit.x });
      const result = await rotate({ ...TARGET, ...overlap, kid: 'k2' }, aws.deps);
      expect(result).toMatchObject({ kid: 'k2', resumed: false, retiring: ['k0', 'k1'] });
      expect(JSON.parse(aws.secretAt(SECRET, 'AWSCURRENT') ?? '{}').d).not.toBe(attacker.privateJwk.d);
      expect(JSON.parse(aws.secretAt(SECRET, 'AWSCURRENT') ?? '{}').kid).toBe('k2');
    });

    it('still resumes what rotate staged and marked (version, kid, fingerprint)', async () => {
      const aws = await setUp();
      await rotate(
        { ...TARGET, ...overlap, kid: 'k1' },
        {
          ...aws.deps,
          sleep: async (ms: number) => {
            if (ms === 125_000) throw new Error('SIGTERM');
          },
        },
      ).catch(() => undefined);
      const [versionId, kid, fingerprint] = (aws.secretTags(SECRET)['nhi:pending'] ?? '').split(' ');
      expect(versionId).toBe('v2');
      expect(kid).toBe('k1');
      const rerun = await rotate({ ...TARGET, ...overlap }, aws.deps);
      expect(rerun).toMatchObject({ kid: 'k1', resumed: true, fingerprint });
    });
  });

  it('finish removes nothing before the overlap has passed, then removes the expired keys', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [(await published('k0')).value]);
    await rotate({ ...TARGET, ...overlap, kid: 'k1' }, aws.deps);
    const early = await finishRotation(TARGET, aws.deps);
    expect(early).toMatchObject({ removed: [], pending: [{ kid: 'k0', expiresAt: NOW_S + 900 }] });
    expect(early.record.status).toBe('unchanged');
    aws.setNow(NOW_MS + 900_000);
    await expect(finishRotation(TARGET, aws.deps)).resolves.toMatchObject({ removed: ['k0'], pending: [] });
  });

  it('finish keeps revoked keys and refuses to leave no usable key', async () => {
    const aws = fakeAws();
    const expiring = formatTxtValue(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid: 'old',
        publicKey: (await generateSigningKey('ed25519', 'old')).publicKey,
        expiresAt: NOW_S - 1,
      }),
    );
    const revoked = formatTxtValue(
      formatRecord({ service: 'billing', environment: 'prod', kid: 'r', publicKey: '' }),
    );
    aws.setTxt(NAME, [expiring, revoked]);
    await expect(finishRotation(TARGET, aws.deps)).rejects.toMatchObject({ reason: 'would_empty' });
    expect(aws.changeCalls()).toBe(0);
    aws.setTxt(NAME, [expiring, revoked, (await published('new')).value]);
    await expect(finishRotation(TARGET, aws.deps)).resolves.toMatchObject({ removed: ['old'] });
    expect(keysAt(aws.txt(NAME)).map((key) => key.kid)).toEqual(['r', 'new']);
  });
});

describe('validation before any AWS call (every command, as a library)', () => {
  type Override = Partial<Record<keyof typeof TARGET, string>>;
  const cases: Array<[string, Override]> = [
    ['an upper-case --env', { environment: 'PROD' }],
    ['an upper-case --service', { service: 'Billing' }],
    ['a bad --hosted-zone-id', { hostedZoneId: 'not-an-id!' }],
    ['a bad --zone', { zone: 'bad zone' }],
  ];

  it.each(cases)('refuses %s with a usage error and calls nothing', async (_, override) => {
    const aws = fakeAws();
    const options = { ...TARGET, ...override };
    const key = await generateSigningKey('ed25519', 'k1');
    const runs: Array<() => Promise<unknown>> = [
      () => keygen(options, aws.deps),
      () => publish({ ...options, key }, aws.deps),
      () => publish(options, aws.deps),
      () => rotate({ ...options, overlapSeconds: 3600 }, aws.deps),
      () => finishRotation(options, aws.deps),
      () => revoke({ ...options, kid: 'k1' }, aws.deps),
    ];
    for (const run of runs) {
      await expect(run()).rejects.toThrow(expect.objectContaining({ exitCode: 2 }));
    }
    expect(aws.route53Mock.calls()).toHaveLength(0);
    expect(aws.secretsMock.calls()).toHaveLength(0);
  });

  it('refuses a bad kid, a bad public key or a bad attribute before any AWS call', async () => {
    const aws = fakeAws();
    const key = await generateSigningKey('ed25519', 'k1');
    const runs: Array<() => Promise<unknown>> = [
      () => keygen({ ...TARGET, kid: 'bad kid' }, aws.deps),
      () => keygen({ ...TARGET, attributes: { tier: 'a;b' } }, aws.deps),
      () => publish({ ...TARGET, key: { ...key, kid: 'bad kid' } }, aws.deps),
      () => publish({ ...TARGET, key: { ...key, publicKey: 'not base64!' } }, aws.deps),
      () => rotate({ ...TARGET, overlapSeconds: 3600, kid: 'bad kid' }, aws.deps),
      () => rotate({ ...TARGET, overlapSeconds: 3600, propagationWaitSeconds: -1 }, aws.deps),
      () => revoke({ ...TARGET, kid: 'bad kid' }, aws.deps),
    ];
    for (const run of runs) {
      await expect(run()).rejects.toThrow(expect.objectContaining({ exitCode: 2 }));
    }
    expect(aws.route53Mock.calls()).toHaveLength(0);
    expect(aws.secretsMock.calls()).toHaveLength(0);
  });
});
