// The WIMSE profile (WIT + WPT, DESIGN §3a) with a toolchain that is not ours: the Python
// reference (`nhi_wimse.py`: the standard library, `cryptography`, and boto3 for KMS) reproduces
// the vectors of packages/core/test-vectors/workload-tokens.json byte for byte and gives each
// vector's outcome; a pair Python makes passes our verifyWorkloadIdentity + verifyWorkloadProof,
// and a pair our code makes passes Python's verify. No AWS here: the KMS call is checked against
// botocore's own model with its Stubber (the exact Sign request, a real KMS-shaped answer).
// python3 with `cryptography` and boto3 are required: without them the suite FAILS naming what
// is missing, it never skips.

import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  assembleWit,
  decodeProof,
  decodeWorkloadProof,
  ecdsaDerToJose,
  importRecordKeys,
  type KeyType,
  ProofError,
  parseRecordSet,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
  WorkloadProofSigner,
  witSigningInput,
} from '@nhi-dns/core';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';

const SCRIPT = fileURLToPath(new URL('./nhi_wimse.py', import.meta.url));
const VECTORS = new URL('../../../packages/core/test-vectors/workload-tokens.json', import.meta.url);

const ZONE = 'auth.example.com';
const CALLER = `billing.prod.${ZONE}`;
const CALLEE = `ledger.prod.${ZONE}`;
const URL_ = 'https://api.ledger.example.com/v1/payments';
/** Non-ASCII on purpose: bh covers the UTF-8 bytes, in every language. */
const BODY = '{"orderId":"o-1","amount":10,"note":"café ☕"}';

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
/** The one line a successful command prints. */
const printed = (result: Run): string => {
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return result.stdout.trim();
};

let folder: string;
let fileCount = 0;
const tempFile = async (content: string | Uint8Array): Promise<string> => {
  fileCount += 1;
  const path = join(folder, `f${fileCount}`);
  await writeFile(path, content, { mode: 0o600 });
  return path;
};
const jwkFile = (key: KeyObject | object): Promise<string> =>
  tempFile(JSON.stringify('export' in key ? (key as KeyObject).export({ format: 'jwk' }) : key));

const denialOf = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    if (error instanceof ProofError) return error.reason;
    throw error;
  }
  return 'accepted';
};

/** The callee's side: the records as DNS gives them, the WIT's key by kid, then the pair. */
const verifyAsCallee = (
  wit: string,
  wpt: string,
  records: readonly string[],
  request: { now?: number; audience?: string; body?: string; method?: string; url?: string } = {},
  settings: { clockSkew?: number; maxLifetime?: number; maxWitLifetime?: number } = {},
) => {
  const decoded = decodeProof(wit);
  const key = importRecordKeys(parseRecordSet(CALLER, records).keys).keys.get(decoded.header.kid);
  if (key === undefined) throw new Error(`no key ${decoded.header.kid} in the records`);
  const { audience = CALLEE, now, ...binding } = request;
  const { maxWitLifetime, ...proofSettings } = settings;
  const identity = verifyWorkloadIdentity(decoded, {
    key,
    ...(now === undefined ? {} : { now }),
    ...(settings.clockSkew === undefined ? {} : { clockSkew: settings.clockSkew }),
    ...(maxWitLifetime === undefined ? {} : { maxLifetime: maxWitLifetime }),
  });
  return verifyWorkloadProof(decodeWorkloadProof(wpt), identity, {
    audience,
    ...(now === undefined ? {} : { now }),
    ...proofSettings,
    ...binding,
  });
};

beforeAll(async () => {
  let result: Run | undefined;
  try {
    result = await run('python3', ['-c', 'import cryptography, boto3, botocore.stub; print("ok")']);
  } catch {
    // reported below
  }
  if (result?.code !== 0 || result.stdout.trim() !== 'ok') {
    throw new Error(
      'python3 with the cryptography and boto3 packages is required by the WIMSE interop tests ' +
        `(${result === undefined ? 'python3 did not run' : result.stderr.trim().split('\n').pop()}). ` +
        'Install python3 and `pip install cryptography boto3` (Debian: apt-get install python3-cryptography python3-boto3).',
    );
  }
  folder = await mkdtemp(join(tmpdir(), 'nhi-wimse-interop-'));
});

afterAll(async () => {
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

describe('Python and the WIMSE test vectors (packages/core/test-vectors/workload-tokens.json)', () => {
  interface Token<Inputs> {
    signedBy: string;
    sign?: Inputs;
    deterministic: boolean;
    token: string;
  }
  interface WitInputs {
    name: string;
    kid: string;
    keyType: KeyType;
    confirmationKey: string;
    iat: number;
    lifetime: number;
    jti: string;
  }
  interface WptInputs {
    wit?: string;
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
    identity: string;
    records: string[];
    wit: Token<WitInputs>;
    wpt: Token<WptInputs>;
    verify: { now: number; audience: string; body?: string; method?: string; url?: string };
    expect: { valid: true; claims: Record<string, unknown> } | { valid: false; reason: string };
  }
  // Read while collecting: a missing or unreadable file fails the suite, it never empties it.
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    verifier: { clockSkew: number; maxLifetime: number; maxWitLifetime: number };
    keys: Array<{ kid: string; keyType: KeyType; privateJwk: { x: string } }>;
    vectors: Vector[];
  };
  const keyOf = (kid: string) => {
    const key = file.keys.find((candidate) => candidate.kid === kid);
    if (key === undefined) throw new Error(`no key ${kid} in ${VECTORS.pathname}`);
    return key;
  };
  const signingInputOf = (token: string) => token.slice(0, token.lastIndexOf('.'));
  const signatureOf = (token: string) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  const signedWits = file.vectors.filter(
    (vector): vector is Vector & { wit: { sign: WitInputs } } => vector.wit.sign !== undefined,
  );
  const signedWpts = file.vectors.filter(
    (vector): vector is Vector & { wpt: { sign: WptInputs } } => vector.wpt.sign !== undefined,
  );
  const witArguments = async (inputs: WitInputs) => [
    ...['--name', inputs.name, '--kid', inputs.kid, '--key-type', inputs.keyType],
    ...['--cnf-key-file', await jwkFile(keyOf(inputs.confirmationKey).privateJwk)],
    ...['--iat', String(inputs.iat), '--lifetime', String(inputs.lifetime), '--jti', inputs.jti],
  ];

  it('has vectors to check', () => {
    expect(signedWits.length).toBeGreaterThanOrEqual(5);
    expect(signedWpts.length).toBeGreaterThanOrEqual(10);
    expect(file.vectors.filter((vector) => vector.expect.valid).length).toBeGreaterThanOrEqual(3);
    expect(new Set(file.vectors.map((vector) => vector.identity))).toEqual(new Set([CALLER]));
  });

  it.each(signedWits)('$name: sign-wit (KMS-shaped signer) reproduces the WIT', async (vector) => {
    const inputs = vector.wit.sign;
    const args = await witArguments(inputs);
    const token = printed(
      await python('sign-wit', '--key-file', await jwkFile(keyOf(vector.wit.signedBy).privateJwk), ...args),
    );
    if (vector.wit.deterministic) expect(token).toBe(vector.wit.token);
    else {
      // ES256 is randomized: the same signing input, and a signature the record key verifies.
      expect(signingInputOf(token)).toBe(signingInputOf(vector.wit.token));
      const key = importRecordKeys(parseRecordSet(CALLER, vector.records).keys).keys.get(inputs.kid);
      if (key === undefined) throw new Error(`${vector.name}: no record key ${inputs.kid}`);
      const identity = verifyWorkloadIdentity(decodeProof(token), { key, now: vector.verify.now });
      expect(identity.iss).toBe(CALLER);
    }
    // Signing elsewhere: wit-input, then wit-assemble over the raw (or, for ES256, DER) signature.
    expect(printed(await python('wit-input', ...args))).toBe(signingInputOf(vector.wit.token));
    const raw = signatureOf(vector.wit.token);
    const der = inputs.keyType === 'p256' ? rsToDer(raw) : undefined;
    const assembled = await python(
      'wit-assemble',
      ...['--signing-input', signingInputOf(vector.wit.token)],
      ...['--signature', (der ?? raw).toString('base64'), ...(der === undefined ? [] : ['--der'])],
    );
    expect(printed(assembled)).toBe(vector.wit.token);
  });

  it.each(signedWpts)('$name: sign-wpt reproduces the WPT', async (vector) => {
    const { wit, aud, iat, lifetime, jti, body, method, url } = vector.wpt.sign;
    const witToken = wit ?? vector.wit.token;
    const cnf = (decodeProof(witToken).claims.cnf as { jwk: { x: string } }).jwk.x;
    const confirmed = file.keys.find((key) => key.privateJwk.x === cnf);
    if (confirmed === undefined) throw new Error(`${vector.name}: no key of the file is the WIT's cnf`);
    const token = printed(
      await python(
        'sign-wpt',
        ...['--wit', witToken, '--key-file', await jwkFile(confirmed.privateJwk)],
        ...(typeof aud === 'string' ? [aud] : aud).flatMap((name) => ['--aud', name]),
        ...['--iat', String(iat), '--lifetime', String(lifetime), '--jti', jti],
        ...(body === undefined ? [] : ['--body-file', await tempFile(body)]),
        ...(method === undefined ? [] : ['--method', method]),
        ...(url === undefined ? [] : ['--url', url]),
      ),
    );
    // A WPT signed by a stranger (signedBy) has the signer's bytes up to the signature.
    if (vector.wpt.signedBy === confirmed.kid) expect(token).toBe(vector.wpt.token);
    else expect(signingInputOf(token)).toBe(signingInputOf(vector.wpt.token));
  });

  it.each(file.vectors)('$name: nhi_wimse.py verify gives the expected outcome', async (vector) => {
    const { now, audience, body, method, url } = vector.verify;
    const result = await python(
      'verify',
      ...['--identity', vector.identity, ...vector.records.flatMap((record) => ['--record', record])],
      ...['--audience', audience, '--now', String(now)],
      ...[
        '--clock-skew',
        String(file.verifier.clockSkew),
        '--max-lifetime',
        String(file.verifier.maxLifetime),
      ],
      ...['--max-wit-lifetime', String(file.verifier.maxWitLifetime)],
      ...(body === undefined ? [] : ['--body-file', await tempFile(body)]),
      ...(method === undefined ? [] : ['--method', method]),
      ...(url === undefined ? [] : ['--url', url]),
      vector.wit.token,
      vector.wpt.token,
    );
    if (vector.expect.valid) expect(JSON.parse(printed(result))).toEqual(vector.expect.claims);
    else expect(result).toMatchObject({ code: 1, stderr: `denied: ${vector.expect.reason}\n` });
  });
});

/** r||s as a DER ECDSA signature, as KMS returns it (INTEGERs minimal, a 0x00 before a high bit). */
const rsToDer = (raw: Buffer): Buffer => {
  const integer = (half: Buffer) => {
    let bytes = half;
    while (bytes.length > 1 && bytes[0] === 0 && (bytes[1] ?? 0) < 0x80) bytes = bytes.subarray(1);
    if ((bytes[0] ?? 0) >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
};

describe('a pair made by Python passes our verifier', () => {
  const identities: ReadonlyArray<TestIdentity> = [
    createTestIdentity(CALLER, { kid: 'kms-ed' }),
    createTestIdentity(CALLER, { kid: 'kms-ec', keyType: 'p256' }),
  ];

  const pythonPair = async (identity: TestIdentity) => {
    const cnf = printed(await python('keygen'));
    const cnfFile = await tempFile(cnf);
    const wit = printed(
      await python(
        'sign-wit',
        ...['--key-file', await jwkFile(identity.privateKey), '--kid', identity.kid],
        ...['--key-type', identity.keyType, '--name', CALLER, '--cnf-key-file', cnfFile],
      ),
    );
    const wpt = printed(
      await python(
        'sign-wpt',
        ...['--wit', wit, '--key-file', cnfFile, '--aud', CALLEE],
        ...['--method', 'post', '--url', URL_, '--body-file', await tempFile(BODY)],
      ),
    );
    return { wit, wpt };
  };

  it.each(identities)('$keyType record key: accepted, binding body, method and URL', async (identity) => {
    const { wit, wpt } = await pythonPair(identity);
    expect(decodeProof(wit).header).toEqual({
      alg: identity.keyType === 'ed25519' ? 'EdDSA' : 'ES256',
      kid: identity.kid,
      typ: 'wit+jwt',
    });
    expect(decodeWorkloadProof(wpt).header).toEqual({ alg: 'EdDSA', typ: 'wpt+jwt' });
    const request = { body: BODY, method: 'POST', url: URL_ };
    const claims = verifyAsCallee(wit, wpt, [identity.record], request);
    expect(claims).toMatchObject({ iss: CALLER, aud: CALLEE, htm: 'POST', htu: URL_ });
    expect(Object.keys(claims)).toEqual(['aud', 'iat', 'exp', 'jti', 'bh', 'htm', 'htu', 'wth', 'iss']);
    expect(decodeProof(wit).claims.exp).toBe(Number(decodeProof(wit).claims.iat) + 3600);
    // And its denials: another body; the same WPT beside a WIT the same record key issued anew.
    expect(
      denialOf(() => verifyAsCallee(wit, wpt, [identity.record], { ...request, body: `${BODY} ` })),
    ).toBe('body_mismatch');
    const other = await pythonPair(identity);
    expect(denialOf(() => verifyAsCallee(other.wit, wpt, [identity.record], request))).toBe('bad_signature');
  });

  it('sign-wpt refuses a key the WIT does not confirm', async () => {
    const [identity] = identities;
    if (identity === undefined) throw new Error('no identity');
    const { wit } = await pythonPair(identity);
    const result = await python(
      'sign-wpt',
      ...['--wit', wit, '--key-file', await tempFile(printed(await python('keygen'))), '--aud', CALLEE],
    );
    expect(result).toMatchObject({
      code: 1,
      stderr: 'cannot sign: the private key is not the key the WIT confirms\n',
    });
  });

  it.each(identities)(
    '$keyType record key: sign_wit makes the exact KMS Sign request through boto3 (botocore Stubber)',
    async (identity) => {
      const cnf = generateKeyPairSync('ed25519');
      const { signingInput } = witSigningInput({
        name: CALLER,
        kid: identity.kid,
        keyType: identity.keyType,
        confirmationKey: cnf.publicKey,
        now: 1_767_225_600,
        jti: 'boto3-stubbed-wit-01',
      });
      // KMS's answer: Ed25519 raw, ECDSA_SHA_256 as DER (what node:crypto's sign gives by default).
      const kmsSignature =
        identity.keyType === 'ed25519'
          ? sign(null, Buffer.from(signingInput), identity.privateKey)
          : sign('sha256', Buffer.from(signingInput), identity.privateKey);
      const algorithm = identity.keyType === 'ed25519' ? 'ED25519_SHA_512' : 'ECDSA_SHA_256';
      const program = [
        'import base64, json, sys, boto3',
        'from botocore.stub import Stubber',
        'from cryptography.hazmat.primitives.asymmetric import ed25519',
        'args = json.loads(sys.argv[1])',
        "sys.path.insert(0, args['dir'])",
        'import nhi_wimse',
        "kms = boto3.client('kms', region_name='eu-west-1', aws_access_key_id='x', aws_secret_access_key='x')",
        'stub = Stubber(kms)',
        "stub.add_response('sign', {'KeyId': args['arn'], 'Signature': base64.b64decode(args['signature']),",
        "    'SigningAlgorithm': args['algorithm']},",
        "    {'KeyId': 'alias/billing', 'Message': args['signingInput'].encode(), 'MessageType': 'RAW',",
        "     'SigningAlgorithm': args['algorithm']})",
        'with stub:',
        "    cnf = ed25519.Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(args['x'] + '='))",
        "    print(nhi_wimse.sign_wit(kms, 'alias/billing', args['keyType'], args['kid'], args['name'], cnf,",
        "                             iat=1767225600, jti='boto3-stubbed-wit-01'))",
        '    stub.assert_no_pending_responses()',
      ].join('\n');
      const result = await run('python3', [
        '-c',
        program,
        JSON.stringify({
          dir: dirname(SCRIPT),
          arn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          signature: kmsSignature.toString('base64'),
          algorithm,
          signingInput,
          keyType: identity.keyType,
          kid: identity.kid,
          name: CALLER,
          x: cnf.publicKey.export({ format: 'jwk' }).x,
        }),
      ]);
      const wit = printed(result);
      // The same WIT our own assembleWit makes from KMS's answer.
      const raw = identity.keyType === 'ed25519' ? kmsSignature : ecdsaDerToJose(kmsSignature);
      expect(wit).toBe(assembleWit(signingInput, raw));
      const wpt = new WorkloadProofSigner({ wit, privateKey: cnf.privateKey }).sign({
        aud: CALLEE,
        now: 1_767_225_610,
      });
      expect(verifyAsCallee(wit, wpt, [identity.record], { now: 1_767_225_620 }).iss).toBe(CALLER);
    },
  );
});

describe('a pair made by our signer passes Python', () => {
  const identities: ReadonlyArray<TestIdentity> = [
    createTestIdentity(CALLER, { kid: 'kms-ed' }),
    createTestIdentity(CALLER, { kid: 'kms-ec', keyType: 'p256' }),
  ];

  /** What identity-sign does with a KMS key: the signing input to KMS, its answer to assembleWit. */
  const ourPair = (identity: TestIdentity, body = BODY) => {
    const cnf = generateKeyPairSync('ed25519');
    const { signingInput } = witSigningInput({
      name: CALLER,
      kid: identity.kid,
      keyType: identity.keyType,
      confirmationKey: cnf.publicKey,
    });
    const signature =
      identity.keyType === 'ed25519'
        ? sign(null, Buffer.from(signingInput), identity.privateKey)
        : ecdsaDerToJose(sign('sha256', Buffer.from(signingInput), identity.privateKey));
    const wit = assembleWit(signingInput, signature);
    const wpt = new WorkloadProofSigner({ wit, privateKey: cnf.privateKey }).sign({
      aud: [CALLEE, `audit.prod.${ZONE}`],
      body,
      method: 'POST',
      url: URL_,
    });
    return { wit, wpt, cnf };
  };
  const verifyWithPython = async (wit: string, wpt: string, record: string, body = BODY) =>
    python(
      'verify',
      ...['--identity', CALLER, '--record', record, '--audience', CALLEE],
      ...['--body-file', await tempFile(body), '--method', 'POST', '--url', URL_, wit, wpt],
    );

  it.each(identities)(
    '$keyType record key: Python prints the WPT claims with the WIT iss',
    async (identity) => {
      const { wit, wpt } = ourPair(identity);
      const claims = JSON.parse(printed(await verifyWithPython(wit, wpt, identity.record)));
      expect(claims).toEqual({ ...decodeWorkloadProof(wpt).claims, iss: CALLER });
      expect(verifyAsCallee(wit, wpt, [identity.record], { body: BODY, method: 'POST', url: URL_ })).toEqual(
        claims,
      );
    },
  );

  it.each(identities)(
    '$keyType record key: Python denies another body, a stranger WPT and a revoked kid',
    async (identity) => {
      const { wit, wpt } = ourPair(identity);
      expect(await verifyWithPython(wit, wpt, identity.record, `${BODY} `)).toMatchObject({
        code: 1,
        stderr: 'denied: body_mismatch\n',
      });
      // Another caller's WPT (its own cnf key) beside this WIT: not signed by the confirmed key.
      expect(await verifyWithPython(wit, ourPair(identity).wpt, identity.record)).toMatchObject({
        code: 1,
        stderr: 'denied: bad_signature\n',
      });
      const revoked = identity.record.replace(/p=[^;]*/, 'p=');
      expect(await verifyWithPython(wit, wpt, revoked)).toMatchObject({
        code: 1,
        stderr: 'denied: revoked_key\n',
      });
    },
  );
});
