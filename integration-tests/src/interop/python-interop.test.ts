// Interop with toolchains that are not ours: proofs made by Python (`nhi_proof.py`: the standard
// library and `cryptography`, the "calling from Python" reference) pass our decodeProof +
// verifyProof against the caller's NHI1 record, and proofs made by our ProofSigner pass Python's
// verification and, for Ed25519, `openssl pkeyutl`. Python also reproduces the core test vectors
// (packages/core/test-vectors/proofs.json) byte for byte and agrees with their outcomes.
// No DNS lab here: the record is parsed as the callee parses what DNS answers.
// python3 with `cryptography` and OpenSSL 3 are required (CI images have them): without them the
// suite FAILS naming what is missing, it never skips.

import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  decodeProof,
  importRecordKeys,
  type ProofAlgorithm,
  ProofError,
  ProofSigner,
  parseRecordSet,
  verifyProof,
} from '@nhi-dns/core';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';

const SCRIPT = fileURLToPath(new URL('./nhi_proof.py', import.meta.url));
const VECTORS = new URL('../../../packages/core/test-vectors/proofs.json', import.meta.url);

const ZONE = 'auth.example.com';
const CALLER = `billing.prod.${ZONE}`;
const CALLEE = `ledger.prod.${ZONE}`;
const URL_ = 'https://api.ledger.example.com/v1/payments';
/** Non-ASCII on purpose: bh covers the UTF-8 bytes, in every language. */
const BODY = '{"orderId":"o-1","amount":10,"note":"café ☕"}';

const ed25519 = createTestIdentity(CALLER, { kid: 'ed-1' });
const p256 = createTestIdentity(CALLER, { kid: 'ec-1', keyType: 'p256' });
const CASES: ReadonlyArray<{ alg: ProofAlgorithm; identity: TestIdentity }> = [
  { alg: 'EdDSA', identity: ed25519 },
  { alg: 'Ed25519', identity: ed25519 },
  { alg: 'ES256', identity: p256 },
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a non-zero exit is a result, not a rejection. */
const run = (file: string, args: readonly string[]): Promise<Run> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error); // ENOENT, a timeout: the tool did not run
        return;
      }
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });

const python = (...args: string[]): Promise<Run> => run('python3', [SCRIPT, ...args]);

/** Fails the suite with how to install a missing tool. */
const requireTool = async (what: string, file: string, args: string[], check: RegExp, install: string) => {
  let result: Run | undefined;
  try {
    result = await run(file, args);
  } catch {
    // reported below
  }
  if (result?.code !== 0 || !check.test(result.stdout)) {
    throw new Error(
      `${what} is required by the interop tests and is missing or unusable (${file} ${args.join(' ')}: ` +
        `${result === undefined ? 'did not run' : `exit ${result.code}, ${(result.stderr || result.stdout).trim().split('\n').pop()}`}). ${install}`,
    );
  }
};

let folder: string;
let fileCount = 0;
const tempFile = async (content: string | Uint8Array, mode = 0o600): Promise<string> => {
  fileCount += 1;
  const path = join(folder, `f${fileCount}`);
  await writeFile(path, content, { mode });
  return path;
};
const keyFileOf = (identity: TestIdentity): Promise<string> =>
  tempFile(JSON.stringify(identity.privateKey.export({ format: 'jwk' })));

/** The callee's side: the caller's record as DNS gives it, parsed and imported; the key by kid. */
const verifyAsCallee = (
  token: string,
  record: string,
  request: { body?: string; method?: string; url?: string; now?: number; audience?: string } = {},
) => {
  const proof = decodeProof(token);
  const key = importRecordKeys(parseRecordSet(CALLER, [record]).keys).keys.get(proof.header.kid);
  if (key === undefined) throw new Error(`no key ${proof.header.kid} in the record`);
  const { audience = CALLEE, ...rest } = request;
  return verifyProof(proof, { key, audience, ...rest });
};
const denialOf = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    if (error instanceof ProofError) return error.reason;
    throw error;
  }
  return 'accepted';
};

/** The token with its claims re-encoded after `change`, header and signature kept. */
const tamperClaims = (token: string, change: (claims: Record<string, unknown>) => void): string => {
  const [header, claims, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString('utf8'));
  change(decoded);
  return `${header}.${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${signature}`;
};

beforeAll(async () => {
  await requireTool(
    'python3 with the cryptography package',
    'python3',
    ['-c', 'import cryptography; print(cryptography.__version__)'],
    /^\d+\./,
    'Install python3 and `pip install cryptography` (Debian: apt-get install python3-cryptography).',
  );
  await requireTool(
    'OpenSSL 3',
    'openssl',
    ['version'],
    /^OpenSSL 3\./,
    'Install openssl 3 (Debian: apt-get install openssl).',
  );
  folder = await mkdtemp(join(tmpdir(), 'nhi-interop-'));
});

afterAll(async () => {
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

describe('a proof signed by Python is verified by decodeProof + verifyProof', () => {
  const signWithPython = async (alg: ProofAlgorithm, identity: TestIdentity): Promise<string> => {
    const result = await python(
      'sign',
      ...['--key-file', await keyFileOf(identity), '--kid', identity.kid, '--alg', alg],
      ...['--iss', CALLER, '--aud', CALLEE, '--method', 'post', '--url', URL_],
      ...['--body-file', await tempFile(BODY)],
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return result.stdout.trim();
  };

  it.each(CASES)('$alg: accepted, binding the body, method and URL', async ({ alg, identity }) => {
    const token = await signWithPython(alg, identity);
    expect(decodeProof(token).header).toEqual({ alg, kid: identity.kid, typ: 'nhi+jwt' });
    const claims = verifyAsCallee(token, identity.record, { body: BODY, method: 'POST', url: URL_ });
    expect(claims).toMatchObject({ iss: CALLER, aud: CALLEE, htm: 'POST', htu: URL_ });
    expect(Object.keys(claims)).toEqual(['iss', 'aud', 'iat', 'exp', 'jti', 'bh', 'htm', 'htu']);
    expect(claims.exp - claims.iat).toBe(60);
    expect(claims.jti).toHaveLength(22);
  });

  it.each(CASES)(
    '$alg: tampered claims, another body or another audience are denied',
    async ({ alg, identity }) => {
      const token = await signWithPython(alg, identity);
      const request = { body: BODY, method: 'POST', url: URL_ };
      const refunds = 'https://api.ledger.example.com/v1/refunds';
      const redirected = tamperClaims(token, (claims) => {
        claims.htu = refunds;
      });
      expect(denialOf(() => verifyAsCallee(redirected, identity.record, { ...request, url: refunds }))).toBe(
        'bad_signature',
      );
      expect(denialOf(() => verifyAsCallee(token, identity.record, request))).toBe('accepted');
      expect(
        denialOf(() =>
          verifyAsCallee(token, identity.record, { ...request, body: BODY.replace('10', '1000') }),
        ),
      ).toBe('body_mismatch');
      expect(
        denialOf(() =>
          verifyAsCallee(token, identity.record, { ...request, audience: `audit.prod.${ZONE}` }),
        ),
      ).toBe('wrong_audience');
    },
  );

  it("nhi_proof.py refuses to sign ES256 with an Ed25519 key (the record's k= fixes the alg)", async () => {
    const result = await python(
      'sign',
      ...['--key-file', await keyFileOf(ed25519), '--kid', ed25519.kid, '--alg', 'ES256'],
      ...['--iss', CALLER, '--aud', CALLEE],
    );
    // Such a proof is bad_alg (neg-alg-es256-on-ed25519-key): the reference does not make one.
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('cannot sign: ed25519 keys sign EdDSA or Ed25519, not ES256');
  });
});

describe('a proof signed by ProofSigner is verified by Python and by openssl', () => {
  const signWithOurs = (alg: ProofAlgorithm, identity: TestIdentity): string =>
    new ProofSigner({ privateKey: identity.privateKey, kid: identity.kid, iss: CALLER, algorithm: alg }).sign(
      {
        aud: [CALLEE, `audit.prod.${ZONE}`],
        body: BODY,
        method: 'POST',
        url: URL_,
      },
    );
  const verifyWithPython = async (token: string, identity: TestIdentity, body = BODY) =>
    python(
      'verify',
      ...['--key-type', identity.keyType, '--public-key', identity.publicKey, '--audience', CALLEE],
      ...['--body-file', await tempFile(body), token],
    );

  it.each(CASES)('$alg: Python prints the claims we signed', async ({ alg, identity }) => {
    const token = signWithOurs(alg, identity);
    const result = await verifyWithPython(token, identity);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(decodeProof(token).claims);
  });

  it.each(CASES)(
    '$alg: Python denies it tampered, over another body, or under another key',
    async ({ alg, identity }) => {
      const token = signWithOurs(alg, identity);
      const extended = tamperClaims(token, (claims) => {
        claims.exp = Number(claims.exp) + 240;
      });
      expect(await verifyWithPython(extended, identity)).toMatchObject({
        code: 1,
        stderr: 'denied: bad_signature\n',
      });
      expect(await verifyWithPython(token, identity, `${BODY} `)).toMatchObject({
        code: 1,
        stderr: 'denied: body_mismatch\n',
      });
      const stranger = createTestIdentity(CALLER, { kid: identity.kid, keyType: identity.keyType });
      expect(await verifyWithPython(token, stranger)).toMatchObject({
        code: 1,
        stderr: 'denied: bad_signature\n',
      });
    },
  );

  it.each(['EdDSA', 'Ed25519'] as const)(
    '%s: openssl pkeyutl -verify accepts the Ed25519 signature over the signing input, not over another',
    async (alg) => {
      const token = signWithOurs(alg, ed25519);
      const signingInputOf = (jws: string) => jws.slice(0, jws.lastIndexOf('.'));
      const pem = await tempFile(createPublicKey(ed25519.privateKey).export({ format: 'pem', type: 'spki' }));
      const sig = await tempFile(Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url'));
      const openssl = async (signingInput: string) =>
        run('openssl', [
          ...['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin'],
          ...['-in', await tempFile(signingInput), '-sigfile', sig],
        ]);
      const good = await openssl(signingInputOf(token));
      expect(good).toMatchObject({ code: 0, stdout: 'Signature Verified Successfully\n' });
      const redirected = tamperClaims(token, (claims) => {
        claims.aud = `mallory.prod.${ZONE}`;
      });
      const bad = await openssl(signingInputOf(redirected));
      expect(bad.code).not.toBe(0);
      expect(bad.stdout).toContain('Signature Verification Failure');
    },
  );
});

describe('Python and the core test vectors (packages/core/test-vectors/proofs.json)', () => {
  interface SignInputs {
    algorithm: string;
    iss: string;
    aud: string | string[];
    iat: number;
    lifetime: number;
    jti: string;
    body?: string;
    method?: string;
    url?: string;
  }
  interface Vector {
    name: string;
    kid: string;
    sign?: SignInputs;
    deterministic: boolean;
    claims: Record<string, unknown>;
    token: string;
    identity: string;
    record: string;
    verify: { now: number; audience: string; body?: string; method?: string; url?: string };
    expect: { valid: boolean; reason?: string };
  }
  // Read while collecting: a missing or unreadable file fails the suite, it never empties it.
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    keys: Array<{ kid: string; keyType: string; privateJwk: object; publicKey: string }>;
    vectors: Vector[];
  };
  const keyOf = (kid: string) => {
    const key = file.keys.find((candidate) => candidate.kid === kid);
    if (key === undefined) throw new Error(`no key ${kid} in ${VECTORS.pathname}`);
    return key;
  };
  const signed = file.vectors.filter(
    (vector): vector is Vector & { sign: SignInputs } => vector.sign !== undefined,
  );
  // nhi_proof.py verify leaves htm/htu to the callee: the denials it cannot decide are those.
  const audiences = (aud: unknown): unknown[] => (Array.isArray(aud) ? aud : [aud]);
  const decidedByPython = file.vectors.filter(
    (vector) =>
      vector.expect.valid ||
      vector.expect.reason !== 'wrong_audience' ||
      !audiences(vector.claims.aud).includes(vector.verify.audience),
  );

  it('has vectors to check', () => {
    expect(signed.length).toBeGreaterThanOrEqual(10);
    expect(decidedByPython.length).toBe(file.vectors.length - 1);
    // verifyAsCallee parses records at CALLER's name.
    expect(new Set(file.vectors.map((vector) => vector.identity))).toEqual(new Set([CALLER]));
  });

  it.each(signed)('$name: nhi_proof.py sign reproduces the token from its inputs', async (vector) => {
    const inputs = vector.sign;
    const result = await python(
      'sign',
      ...['--key-file', await tempFile(JSON.stringify(keyOf(vector.kid).privateJwk)), '--kid', vector.kid],
      ...['--alg', inputs.algorithm, '--iss', inputs.iss],
      ...audiences(inputs.aud).flatMap((aud) => ['--aud', String(aud)]),
      ...['--iat', String(inputs.iat), '--lifetime', String(inputs.lifetime), '--jti', inputs.jti],
      ...(inputs.body === undefined ? [] : ['--body-file', await tempFile(inputs.body)]),
      ...(inputs.method === undefined ? [] : ['--method', inputs.method]),
      ...(inputs.url === undefined ? [] : ['--url', inputs.url]),
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const token = result.stdout.trim();
    // ES256 signatures are randomized: the signing input must be equal, and the signature verify.
    if (vector.deterministic) expect(token).toBe(vector.token);
    else {
      expect(token.slice(0, token.lastIndexOf('.'))).toBe(
        vector.token.slice(0, vector.token.lastIndexOf('.')),
      );
      expect(verifyAsCallee(token, vector.record, vector.verify)).toEqual(vector.claims);
    }
  });

  it.each(decidedByPython)('$name: nhi_proof.py verify agrees with the expected outcome', async (vector) => {
    const key = keyOf(vector.kid);
    const result = await python(
      'verify',
      ...['--key-type', key.keyType, '--public-key', key.publicKey],
      ...['--audience', vector.verify.audience, '--now', String(vector.verify.now)],
      ...(vector.verify.body === undefined ? [] : ['--body-file', await tempFile(vector.verify.body)]),
      vector.token,
    );
    if (vector.expect.valid) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual(vector.claims);
    } else {
      expect(result).toMatchObject({ code: 1, stderr: `denied: ${vector.expect.reason}\n` });
    }
  });
});
