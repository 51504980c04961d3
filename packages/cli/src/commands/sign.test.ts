import { createHash, createPublicKey, generateKeyPairSync, type JsonWebKey, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bodyHash,
  decodeProof,
  formatRecord,
  importRecordKeys,
  parseRecordSet,
  type VerificationKey,
  verifyProof,
} from '@nhi-dns/core';
import { jwtVerify } from 'jose';
import type { CliDeps } from '../cli.js';
import { runCli } from '../cli.js';
import { EXIT_CODE } from '../errors.js';
import { fakeAws, NAME, NOW_MS } from '../fake-aws.test-helper.js';
import { type GeneratedSigningKey, generateSigningKey, publicKeyFingerprint } from '../keys.js';
import { storeSigningKey } from '../secret-store.js';
import { keyFileSource, readBodyFile, readKeyFile, sign } from './sign.js';

const ISS = NAME; // billing.prod.auth.example.com
const AUD = 'ledger.prod.auth.example.com';
const URL_ = 'https://api.example.com/v1/payments?id=7';
const NOW_S = NOW_MS / 1000;
const SECRET = '/prod/nhi/billing/signing-key';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nhi-sign-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes `content` to a fresh file in the temp dir with `mode` (chmod'ed, so umask does not matter). */
const fileWith = async (content: string | Uint8Array, mode = 0o600): Promise<string> => {
  files += 1;
  const path = join(dir, `f${files}`);
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
};
const keyFile = async (jwk: unknown, mode = 0o600) => fileWith(JSON.stringify(jwk), mode);

/** The key as the caller's identity record publishes it, ready for core's verifyProof. */
const recordKey = (key: GeneratedSigningKey): VerificationKey => {
  const record = formatRecord({
    service: 'billing',
    environment: 'prod',
    kid: key.kid,
    keyType: key.keyType,
    publicKey: key.publicKey,
  });
  const imported = importRecordKeys(parseRecordSet(ISS, [record]).keys).keys.get(key.kid);
  if (imported === undefined) throw new Error('record key did not import');
  return imported;
};

const publicKeyOf = (key: GeneratedSigningKey) => {
  const { kty, crv, x, y } = key.privateJwk;
  return createPublicKey({
    key: { kty, crv, x, ...(y === undefined ? {} : { y }) } as JsonWebKey,
    format: 'jwk',
  });
};

const harness = () => {
  const aws = fakeAws();
  const out: string[] = [];
  const err: string[] = [];
  const clientConfigs: unknown[] = [];
  let stdin: Uint8Array = Buffer.alloc(0);
  const deps: CliDeps = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    createAwsClients: (config) => {
      clientConfigs.push(config);
      return { route53: aws.route53, secrets: aws.secrets };
    },
    createResolver: () => ({ resolveTxt: async () => Promise.reject(new Error('no resolver')) }),
    now: () => NOW_MS,
    sleep: async () => {},
    readStdin: async () => stdin,
  };
  return {
    aws,
    run: (...argv: string[]) => runCli(argv, deps),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    clientConfigs,
    setStdin: (bytes: Uint8Array) => {
      stdin = bytes;
    },
  };
};

let ed: GeneratedSigningKey;
let p256: GeneratedSigningKey;
beforeAll(async () => {
  ed = await generateSigningKey('ed25519', 'k1');
  p256 = await generateSigningKey('p256', 'kp');
});

describe('sign (function)', () => {
  it('signs a proof that jose and core verify, binding body, method and URL', async () => {
    const body = Buffer.from('{"amount":12,"currency":"EUR"}\n');
    const result = sign(
      { iss: ISS, aud: AUD, privateJwk: ed.privateJwk, method: 'post', url: URL_, body },
      { now: () => NOW_MS },
    );
    expect(result).toEqual({
      token: expect.any(String),
      kid: 'k1',
      alg: 'EdDSA',
      iss: ISS,
      aud: AUD,
      exp: NOW_S + 60,
    });
    const { payload, protectedHeader } = await jwtVerify(result.token, publicKeyOf(ed), {
      issuer: ISS,
      audience: AUD,
      typ: 'nhi+jwt',
      algorithms: ['EdDSA'],
      currentDate: new Date(NOW_MS),
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: 'k1', typ: 'nhi+jwt' });
    expect(payload).toMatchObject({
      iat: NOW_S,
      exp: NOW_S + 60,
      bh: createHash('sha256').update(body).digest('base64url'),
      htm: 'POST',
      htu: URL_,
    });
    const claims = verifyProof(decodeProof(result.token), {
      key: recordKey(ed),
      audience: AUD,
      now: NOW_S,
      body,
      method: 'POST',
      url: 'https://api.example.com/v1/payments?id=8',
      requireBodyHash: true,
    });
    expect(claims.jti).toHaveLength(22);
    expect(() =>
      verifyProof(decodeProof(result.token), {
        key: recordKey(ed),
        audience: AUD,
        now: NOW_S,
        body,
        method: 'GET',
      }),
    ).toThrow(expect.objectContaining({ reason: 'wrong_audience' }));
  });

  it('signs ES256 with a P-256 key, and Ed25519 (RFC 9864) on request', async () => {
    const es = sign(
      { iss: ISS, aud: [AUD, 'audit.prod.auth.example.com'], privateJwk: p256.privateJwk },
      { now: () => NOW_MS },
    );
    expect(es).toMatchObject({ alg: 'ES256', kid: 'kp', aud: [AUD, 'audit.prod.auth.example.com'] });
    await expect(
      jwtVerify(es.token, publicKeyOf(p256), { audience: AUD, currentDate: new Date(NOW_MS) }),
    ).resolves.toBeDefined();
    expect(verifyProof(decodeProof(es.token), { key: recordKey(p256), audience: AUD, now: NOW_S }).iss).toBe(
      ISS,
    );
    const rfc9864 = sign(
      { iss: ISS, aud: AUD, privateJwk: ed.privateJwk, algorithm: 'Ed25519' },
      { now: () => NOW_MS },
    );
    expect(decodeProof(rfc9864.token).header.alg).toBe('Ed25519');
    expect(
      verifyProof(decodeProof(rfc9864.token), { key: recordKey(ed), audience: AUD, now: NOW_S }).iss,
    ).toBe(ISS);
  });

  it('canonicalises iss and aud, and takes --kid over the JWK kid (also for a JWK without one)', () => {
    const { kid: _kid, ...noKid } = ed.privateJwk;
    const result = sign(
      { iss: `${ISS.toUpperCase()}.`, aud: AUD.toUpperCase(), privateJwk: noKid, kid: 'k2' },
      { now: () => NOW_MS },
    );
    expect(result).toMatchObject({ iss: ISS, aud: AUD, kid: 'k2' });
  });

  it('refuses a P-256 JWK carrying another key’s public point (node would import it as given)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    expect(() =>
      sign(
        { iss: ISS, aud: AUD, privateJwk: { ...p256.privateJwk, x: other.x, y: other.y } },
        { now: () => NOW_MS },
      ),
    ).toThrow(expect.objectContaining({ reason: 'key_mismatch', exitCode: EXIT_CODE.other }));
  });

  it('refuses bad options as usage errors and JWKs not meant for signing', () => {
    const base = { iss: ISS, aud: AUD, privateJwk: ed.privateJwk };
    const now = { now: () => NOW_MS };
    for (const options of [
      { ...base, lifetime: 301 },
      { ...base, lifetime: 0 },
      { ...base, lifetime: 1.5 },
      { ...base, iss: 'billing' },
      { ...base, aud: [] },
      { ...base, aud: 'not a name' },
      { ...base, method: 'PO ST' },
      { ...base, url: 'ftp://example.com/' },
      { ...base, url: '/relative' },
      { ...base, kid: 'bad kid' },
      { ...base, algorithm: 'ES256' as const },
      { ...base, aud: Array.from({ length: 400 }, (_, i) => `s${i}.prod.auth.example.com`) },
    ]) {
      expect(() => sign(options, now)).toThrow(expect.objectContaining({ exitCode: EXIT_CODE.usage }));
    }
    const source = keyFileSource('k.jwk');
    for (const privateJwk of [
      { ...ed.privateJwk, use: 'enc' },
      { ...ed.privateJwk, alg: 'ES256' },
      { ...ed.privateJwk, key_ops: ['verify'] },
    ]) {
      expect(() => sign({ ...base, privateJwk, keySource: source }, now)).toThrow(
        expect.objectContaining({ reason: 'bad_key_file', exitCode: EXIT_CODE.usage }),
      );
    }
    // The JWK's own alg is the default when no --alg is given.
    expect(sign({ ...base, privateJwk: { ...ed.privateJwk, alg: 'Ed25519' } }, now).alg).toBe('Ed25519');
    expect(sign({ ...base, lifetime: 300 }, now).exp).toBe(NOW_S + 300);
  });
});

describe('readKeyFile and readBodyFile', () => {
  it('accepts 0600 and 0400, refuses a key file group or others can access (insecure_key_file, exit 5)', async () => {
    for (const mode of [0o600, 0o400]) {
      await expect(readKeyFile(await keyFile(ed.privateJwk, mode))).resolves.toEqual(ed.privateJwk);
    }
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
      const path = await keyFile(ed.privateJwk, mode);
      const refused = readKeyFile(path);
      await expect(refused).rejects.toMatchObject({
        reason: 'insecure_key_file',
        exitCode: EXIT_CODE.insecureKeyFile,
      });
      await expect(refused).rejects.toThrow(`chmod 600 ${path}`);
    }
  });

  it('refuses a missing file, a directory and a file that is not JSON, without quoting it', async () => {
    await expect(readKeyFile(join(dir, 'nope'))).rejects.toMatchObject({
      reason: 'bad_key_file',
      exitCode: 2,
    });
    await chmod(dir, 0o700);
    await expect(readKeyFile(dir)).rejects.toMatchObject({ reason: 'bad_key_file' });
    const truncated = JSON.stringify(ed.privateJwk).slice(0, -3);
    const error = await readKeyFile(await fileWith(truncated)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: 'bad_key_file', exitCode: 2 });
    expect((error as Error).message).toContain('is not JSON');
    expect(JSON.stringify(error) + String(error) + (error as Error).message).not.toContain(ed.privateJwk.d);
  });

  it('reads the body bytes unchanged (binary, CRLF, no trailing newline added) or stdin for -', async () => {
    const bytes = Buffer.concat([randomBytes(512), Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a])]);
    expect(Buffer.compare(await readBodyFile(await fileWith(bytes, 0o644)), bytes)).toBe(0);
    await expect(readBodyFile('-', async () => bytes)).resolves.toBe(bytes);
    await expect(readBodyFile(join(dir, 'nope'))).rejects.toMatchObject({ reason: 'usage', exitCode: 2 });
  });
});

describe('nhi-dns sign (in process)', () => {
  it('prints the compact JWS and a newline; the proof verifies and binds the body file bytes', async () => {
    const cli = harness();
    const bytes = Buffer.concat([Buffer.from('\u00e9t\u00e9\r\n'), randomBytes(300)]);
    const bodyPath = await fileWith(bytes, 0o644);
    const code = await cli.run(
      'sign',
      '--iss',
      ISS,
      '--aud',
      AUD,
      '--method',
      'POST',
      '--url',
      URL_,
      '--body-file',
      bodyPath,
      '--key-file',
      await keyFile(ed.privateJwk),
    );
    expect(code).toBe(0);
    expect(cli.stdout()).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const token = cli.stdout().trimEnd();
    const claims = verifyProof(decodeProof(token), {
      key: recordKey(ed),
      audience: AUD,
      now: NOW_S,
      body: bytes,
      method: 'POST',
      url: URL_,
    });
    expect(claims).toMatchObject({ iss: ISS, aud: AUD, bh: bodyHash(bytes), htm: 'POST', htu: URL_ });
    expect(claims.bh).toBe(createHash('sha256').update(bytes).digest('base64url'));
    // One byte more (curl -d would strip the CR LF; --data-binary sends them) is another body.
    expect(() =>
      verifyProof(decodeProof(token), {
        key: recordKey(ed),
        audience: AUD,
        now: NOW_S,
        body: bytes.subarray(1),
      }),
    ).toThrow(expect.objectContaining({ reason: 'body_mismatch' }));
    expect(cli.stderr()).toBe('');
    expect(cli.clientConfigs).toEqual([]);
  });

  it('--header prints the Authorization header line; --body-file - binds stdin', async () => {
    const cli = harness();
    const body = Buffer.from('{"from":"stdin"}');
    cli.setStdin(body);
    await expect(
      cli.run(
        'sign',
        '--header',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--body-file',
        '-',
        '--key-file',
        await keyFile(ed.privateJwk),
      ),
    ).resolves.toBe(0);
    const match = /^Authorization: NHI ([A-Za-z0-9_.-]+)\n$/.exec(cli.stdout());
    expect(match).not.toBeNull();
    expect(decodeProof(match?.[1] ?? '').claims.bh).toBe(bodyHash(body));
  });

  it('--json prints {token, kid, alg, iss, aud, exp}; several --aud make an array; --lifetime sets exp', async () => {
    const cli = harness();
    await expect(
      cli.run(
        '--json',
        'sign',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--aud',
        'audit.prod.auth.example.com',
        '--lifetime',
        '120',
        '--alg',
        'Ed25519',
        '--kid',
        'k1',
        '--key-file',
        await keyFile(ed.privateJwk),
      ),
    ).resolves.toBe(0);
    const printed = JSON.parse(cli.stdout());
    expect(Object.keys(printed).sort()).toEqual(['alg', 'aud', 'exp', 'iss', 'kid', 'token']);
    expect(printed).toEqual({
      token: expect.any(String),
      kid: 'k1',
      alg: 'Ed25519',
      iss: ISS,
      aud: [AUD, 'audit.prod.auth.example.com'],
      exp: NOW_S + 120,
    });
    const { payload } = await jwtVerify(printed.token, publicKeyOf(ed), {
      audience: 'audit.prod.auth.example.com',
      currentDate: new Date(NOW_MS),
    });
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('refuses a key file of mode 0644 with exit code 5 and accepts it after chmod 600', async () => {
    const cli = harness();
    const path = await keyFile(ed.privateJwk, 0o644);
    const argv = ['sign', '--iss', ISS, '--aud', AUD, '--key-file', path];
    await expect(cli.run('--json', ...argv)).resolves.toBe(5);
    expect(JSON.parse(cli.stdout())).toEqual({
      error: {
        reason: 'insecure_key_file',
        message: expect.stringContaining('permissions 0644 are too open'),
      },
    });
    expect(cli.stderr()).toContain(`chmod 600 ${path}`);
    expect(cli.stdout() + cli.stderr()).not.toContain(ed.privateJwk.d);
    await chmod(path, 0o600);
    const again = harness();
    await expect(again.run(...argv)).resolves.toBe(0);
  });

  it('refuses a JWK whose x is not its d (key_mismatch, exit 4) without printing d', async () => {
    const other = await generateSigningKey('ed25519', 'k1');
    const cli = harness();
    const forged = { ...ed.privateJwk, x: other.privateJwk.x };
    await expect(
      cli.run('--json', 'sign', '--iss', ISS, '--aud', AUD, '--key-file', await keyFile(forged)),
    ).resolves.toBe(4);
    expect(JSON.parse(cli.stdout()).error.reason).toBe('key_mismatch');
    expect(cli.stderr()).toContain('--key-file');
    expect(cli.stdout() + cli.stderr()).not.toContain(ed.privateJwk.d);
  });

  it('refuses a key file that is not a private JWK (bad_key_file, exit 2) without printing its content', async () => {
    const { d: _d, ...publicOnly } = ed.privateJwk;
    for (const [content, detail] of [
      [JSON.stringify(publicOnly), 'private part (d) missing'],
      [`${JSON.stringify(ed.privateJwk)},`, 'is not JSON'],
      [JSON.stringify({ keys: [ed.privateJwk] }), 'not a usable JWK'],
      [JSON.stringify({ ...ed.privateJwk, d: 'AAAA' }), 'key_mismatch'],
    ] as const) {
      const cli = harness();
      const code = await cli.run(
        '--json',
        'sign',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--key-file',
        await fileWith(content),
      );
      const printed = cli.stdout() + cli.stderr();
      expect(printed).toContain(detail);
      expect(code).toBe(detail === 'key_mismatch' ? 4 : 2);
      expect(printed).not.toContain(ed.privateJwk.d);
      expect(printed).not.toContain(ed.privateJwk.x);
    }
  });

  it('--from-secret signs with the current key keygen stored, derived from --iss', async () => {
    const cli = harness();
    await storeSigningKey({
      secrets: cli.aws.secrets,
      service: 'billing',
      environment: 'prod',
      privateJwk: ed.privateJwk,
    });
    const writes = cli.aws.secretWrites();
    await expect(
      cli.run(
        '--region',
        'eu-west-1',
        'sign',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--from-secret',
        '--method',
        'GET',
        '--url',
        URL_,
      ),
    ).resolves.toBe(0);
    const claims = verifyProof(decodeProof(cli.stdout().trimEnd()), {
      key: recordKey(ed),
      audience: AUD,
      now: NOW_S,
      method: 'GET',
      url: URL_,
    });
    expect(claims).toMatchObject({ htm: 'GET', htu: URL_ });
    expect(cli.clientConfigs).toEqual([{ region: 'eu-west-1' }]);
    expect(cli.aws.secretWrites()).toBe(writes);
    expect(cli.stdout() + cli.stderr()).not.toContain(ed.privateJwk.d);
  });

  it('--from-secret refuses a key planted with PutSecretValue (untrusted_key) unless --trust-stored-key names it', async () => {
    const cli = harness();
    await storeSigningKey({
      secrets: cli.aws.secrets,
      service: 'billing',
      environment: 'prod',
      privateJwk: ed.privateJwk,
    });
    const planted = await generateSigningKey('ed25519', 'kevil');
    cli.aws.putSecretValue(SECRET, JSON.stringify(planted.privateJwk));
    await expect(cli.run('--json', 'sign', '--iss', ISS, '--aud', AUD, '--from-secret')).resolves.toBe(4);
    expect(JSON.parse(cli.stdout()).error).toMatchObject({
      reason: 'untrusted_key',
      message: expect.stringContaining('key kevil'),
    });
    expect(cli.stdout() + cli.stderr()).not.toContain(planted.privateJwk.d);
    const trusting = harness();
    trusting.aws.setSecret(SECRET, JSON.stringify(planted.privateJwk));
    await expect(
      trusting.run(
        'sign',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--from-secret',
        '--trust-stored-key',
        publicKeyFingerprint(planted),
      ),
    ).resolves.toBe(0);
    expect(decodeProof(trusting.stdout().trimEnd()).header.kid).toBe('kevil');
    expect(trusting.stderr()).toContain('WARNING: trusting the unmarked key kevil');
    expect(trusting.aws.secretWrites()).toBe(0);
  });

  it('--from-secret refuses a secret whose x is not its d, without printing d', async () => {
    const cli = harness();
    const other = await generateSigningKey('ed25519', 'k1');
    cli.aws.setSecret(SECRET, JSON.stringify({ ...ed.privateJwk, x: other.privateJwk.x }));
    await expect(cli.run('--json', 'sign', '--iss', ISS, '--aud', AUD, '--from-secret')).resolves.toBe(4);
    expect(JSON.parse(cli.stdout()).error.reason).toBe('key_mismatch');
    expect(cli.stdout() + cli.stderr()).not.toContain(ed.privateJwk.d);
  });

  it.each([
    ['no key', ['--iss', ISS, '--aud', AUD]],
    ['both key sources', ['--iss', ISS, '--aud', AUD, '--key-file', 'k.jwk', '--from-secret']],
    ['no --aud', ['--iss', ISS, '--from-secret']],
    ['a bad --iss', ['--iss', 'billing', '--aud', AUD, '--from-secret']],
    ['a bad --aud', ['--iss', ISS, '--aud', 'Led_ger.prod.x', '--from-secret']],
    ['--lifetime 301', ['--iss', ISS, '--aud', AUD, '--from-secret', '--lifetime', '301']],
    ['--lifetime 0', ['--iss', ISS, '--aud', AUD, '--from-secret', '--lifetime', '0']],
    ['--lifetime -5', ['--iss', ISS, '--aud', AUD, '--from-secret', '--lifetime', '-5']],
    ['a bad --method', ['--iss', ISS, '--aud', AUD, '--from-secret', '--method', 'P/OST']],
    ['a relative --url', ['--iss', ISS, '--aud', AUD, '--from-secret', '--url', '/pay']],
    ['a bad --alg', ['--iss', ISS, '--aud', AUD, '--from-secret', '--alg', 'RS256']],
    [
      '--trust-stored-key without --from-secret',
      ['--iss', ISS, '--aud', AUD, '--key-file', 'k', '--trust-stored-key', 'x'.repeat(43)],
    ],
  ])('exits 2 for %s without calling AWS', async (_, argv) => {
    const cli = harness();
    await expect(cli.run('sign', ...argv)).resolves.toBe(2);
    expect(cli.stderr()).not.toBe('');
    expect(cli.clientConfigs).toEqual([]);
    expect(cli.aws.secretsMock.calls()).toHaveLength(0);
  });

  it('--alg ES256 for an Ed25519 key is a usage error naming what the key signs', async () => {
    const cli = harness();
    await expect(
      cli.run(
        'sign',
        '--iss',
        ISS,
        '--aud',
        AUD,
        '--alg',
        'ES256',
        '--key-file',
        await keyFile(ed.privateJwk),
      ),
    ).resolves.toBe(2);
    expect(cli.stderr()).toContain('it signs EdDSA or Ed25519');
  });
});
