import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { importJWK, jwtVerify, SignJWT } from 'jose';
import { importRecordKeys, type VerificationKey } from './keys.js';
import { decodeProof, decodeWorkloadProof } from './proof-decode.js';
import { ProofSigner } from './proof-signer.js';
import { verifyProof } from './proof-verify.js';
import { type KeyType, parseRecord } from './record.js';
import {
  assembleWit,
  ecdsaDerToJose,
  identityNameOfWorkloadUri,
  mintWorkloadIdentity,
  tokenHash,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
  WorkloadProofSigner,
  witSigningInput,
  workloadUri,
} from './workload-token.js';

const CALLER = 'billing.prod.auth.example.com';
const OTHER = 'orders.prod.auth.example.com';
const CALLEE = 'ledger.prod.auth.example.com';
const NOW = 1_767_225_600;

/** A record key as the verifier sees it, from the public half of `privateKey`. */
const recordKey = (privateKey: KeyObject, keyType: KeyType, kid = 'kms-1', extra = ''): VerificationKey => {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const p = keyType === 'ed25519' ? der.subarray(12).toString('base64') : der.toString('base64');
  const [svc, env] = CALLER.split('.');
  const parsed = parseRecord(
    `v=NHI1; svc=${svc}; env=${env}; kid=${kid}; k=${keyType}; p=${p}${extra}`,
    CALLER,
  );
  if (parsed.status !== 'valid') throw new Error(`test record invalid: ${JSON.stringify(parsed)}`);
  const key = importRecordKeys([parsed.record]).keys.get(kid);
  if (key === undefined) throw new Error('test key not imported');
  return key;
};

/** Signs as AWS KMS would: Ed25519 raw, or ECDSA_SHA_256 as DER (converted for JOSE). */
const kmsSign = (privateKey: KeyObject, keyType: KeyType, message: string): Buffer =>
  keyType === 'ed25519'
    ? sign(null, Buffer.from(message), privateKey)
    : ecdsaDerToJose(sign('sha256', Buffer.from(message), privateKey));

interface Caller {
  root: KeyObject;
  key: VerificationKey;
  wit: string;
  signer: WorkloadProofSigner;
  ephemeral: KeyObject;
}

const makeCaller = (
  keyType: KeyType,
  options: { name?: string; lifetime?: number; now?: number } = {},
): Caller => {
  const root =
    keyType === 'ed25519'
      ? generateKeyPairSync('ed25519').privateKey
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const ephemeral = generateKeyPairSync('ed25519');
  const { signingInput } = witSigningInput({
    name: options.name ?? CALLER,
    kid: 'kms-1',
    keyType,
    confirmationKey: ephemeral.publicKey,
    now: options.now ?? NOW,
    ...(options.lifetime === undefined ? {} : { lifetime: options.lifetime }),
  });
  const wit = assembleWit(signingInput, kmsSign(root, keyType, signingInput));
  return {
    root,
    key: recordKey(root, keyType),
    wit,
    signer: new WorkloadProofSigner({ wit, privateKey: ephemeral.privateKey }),
    ephemeral: ephemeral.privateKey,
  };
};

const checkPair = (caller: Caller, wpt: string, key = caller.key, wit = caller.wit, now = NOW + 10) => {
  const identity = verifyWorkloadIdentity(decodeProof(wit), { key, now });
  return verifyWorkloadProof(decodeWorkloadProof(wpt), identity, { audience: CALLEE, now });
};

const reasonOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as { reason?: string }).reason ?? String(error);
  }
};

describe('workload identifiers', () => {
  it('maps an identity name to wimse://<zone>/<env>/<service> and back, and nothing else back', () => {
    expect(workloadUri('Billing.Prod.Auth.Example.com.')).toBe('wimse://auth.example.com/prod/billing');
    expect(identityNameOfWorkloadUri('wimse://auth.example.com/prod/billing')).toBe(CALLER);
    for (const uri of [
      'spiffe://auth.example.com/prod/billing',
      'wimse://auth.example.com/prod/billing/x',
      'wimse://auth.example.com/prod',
      'wimse://AUTH.example.com/prod/billing',
      'wimse://auth.example.com/prod/bil.ling',
    ]) {
      expect(identityNameOfWorkloadUri(uri)).toBeUndefined();
    }
  });
});

describe.each(['ed25519', 'p256'] as const)('a WIT signed by a %s record key (as KMS signs)', (keyType) => {
  it('is a JWT jose verifies with the record key, typ wit+jwt, confirming an Ed25519 key', async () => {
    const caller = makeCaller(keyType);
    const { payload, protectedHeader } = await jwtVerify(caller.wit, caller.key.keyObject as KeyObject, {
      typ: 'wit+jwt',
      currentDate: new Date((NOW + 1) * 1000),
    });
    expect(protectedHeader).toEqual({
      alg: keyType === 'ed25519' ? 'EdDSA' : 'ES256',
      kid: 'kms-1',
      typ: 'wit+jwt',
    });
    expect(payload).toMatchObject({
      iss: CALLER,
      sub: 'wimse://auth.example.com/prod/billing',
      iat: NOW,
      exp: NOW + 3600,
      cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' } },
    });
  });

  it('carries WPTs that jose verifies with the cnf key and ours accepts, naming the WIT issuer', async () => {
    const caller = makeCaller(keyType);
    const wpt = caller.signer.sign({ aud: CALLEE, now: NOW, body: '{"a":1}', method: 'POST' });
    const cnf = decodeProof(caller.wit).claims.cnf as { jwk: Record<string, string> };
    const { payload, protectedHeader } = await jwtVerify(wpt, await importJWK(cnf.jwk, 'EdDSA'), {
      typ: 'wpt+jwt',
      audience: CALLEE,
      currentDate: new Date((NOW + 1) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'wpt+jwt' });
    expect(payload.wth).toBe(tokenHash(caller.wit));
    expect(payload.iss).toBeUndefined();
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW + 1 });
    const claims = verifyWorkloadProof(decodeWorkloadProof(wpt), identity, {
      audience: CALLEE,
      now: NOW + 1,
      body: '{"a":1}',
      method: 'POST',
      requireBodyHash: true,
    });
    expect(claims.iss).toBe(CALLER);
    expect(claims.aud).toBe(CALLEE);
  });

  it('accepts a pair jose signed (the verifier is not tied to our signer)', async () => {
    const caller = makeCaller(keyType);
    const ephemeral = generateKeyPairSync('ed25519');
    const x = ephemeral.publicKey.export({ format: 'jwk' }).x;
    const wit = await new SignJWT({
      sub: workloadUri(CALLER),
      jti: 'jose-made-wit-0001',
      cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x } },
    })
      .setProtectedHeader({ alg: keyType === 'ed25519' ? 'Ed25519' : 'ES256', kid: 'kms-1', typ: 'wit+jwt' })
      .setIssuer(CALLER)
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 600)
      .sign(caller.root);
    const wpt = await new SignJWT({ wth: tokenHash(wit), jti: 'jose-made-wpt-0001' })
      .setProtectedHeader({ alg: 'Ed25519', typ: 'wpt+jwt' })
      .setAudience(CALLEE)
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 60)
      .sign(ephemeral.privateKey);
    expect(checkPair(caller, wpt, caller.key, wit).iss).toBe(CALLER);
  });
});

describe('attacks on a WIT + WPT pair', () => {
  const caller = makeCaller('ed25519');
  const wpt = caller.signer.sign({ aud: CALLEE, now: NOW });

  it('refuses a WIT signed by a key not in the record', () => {
    const stranger = makeCaller('ed25519');
    expect(reasonOf(() => checkPair(caller, wpt, stranger.key))).toBe('bad_signature');
  });

  it('refuses a WIT whose record key is revoked or past its exp, though the WIT is unexpired', () => {
    const revoked = { ...caller.key, revoked: true, keyObject: undefined };
    expect(reasonOf(() => checkPair(caller, wpt, revoked))).toBe('revoked_key');
    expect(reasonOf(() => checkPair(caller, wpt, { ...caller.key, expiresAt: NOW }))).toBe('expired_key');
  });

  it('refuses an expired WIT, and WPTs of a WIT that expired after it was verified', () => {
    expect(reasonOf(() => checkPair(caller, wpt, caller.key, caller.wit, NOW + 3600 + 61))).toBe('expired');
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW + 3000 });
    const late = caller.signer.sign({ aud: CALLEE, now: NOW + 3650 });
    expect(
      reasonOf(() =>
        verifyWorkloadProof(decodeWorkloadProof(late), identity, { audience: CALLEE, now: NOW + 3661 }),
      ),
    ).toBe('expired');
  });

  it('refuses a WIT that lives longer than a day, or that names another workload as sub', () => {
    const ephemeral = generateKeyPairSync('ed25519');
    expect(() =>
      witSigningInput({
        name: CALLER,
        kid: 'k',
        keyType: 'ed25519',
        confirmationKey: ephemeral.publicKey,
        lifetime: 86_401,
      }),
    ).toThrow(/lifetime/);
    const long = `${Buffer.from('{"alg":"EdDSA","kid":"kms-1","typ":"wit+jwt"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({
        iss: CALLER,
        sub: workloadUri(CALLER),
        iat: NOW,
        exp: NOW + 86_401,
        jti: 'a-long-lived-wit-01',
        cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: ephemeral.publicKey.export({ format: 'jwk' }).x } },
      }),
    ).toString('base64url')}`;
    const longWit = assembleWit(long, kmsSign(caller.root, 'ed25519', long));
    expect(reasonOf(() => verifyWorkloadIdentity(decodeProof(longWit), { key: caller.key, now: NOW }))).toBe(
      'lifetime_too_long',
    );
    const otherSub =
      long.replace(/\..*/, '') +
      '.' +
      Buffer.from(
        JSON.stringify({
          iss: CALLER,
          sub: workloadUri(OTHER),
          iat: NOW,
          exp: NOW + 60,
          jti: 'a-wit-for-orders-01',
          cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: ephemeral.publicKey.export({ format: 'jwk' }).x } },
        }),
      ).toString('base64url');
    const subWit = assembleWit(otherSub, kmsSign(caller.root, 'ed25519', otherSub));
    expect(reasonOf(() => verifyWorkloadIdentity(decodeProof(subWit), { key: caller.key, now: NOW }))).toBe(
      'malformed_proof',
    );
  });

  it('refuses a WPT signed by a key other than the one the WIT confirms', () => {
    const other = makeCaller('ed25519');
    const forged = other.signer.sign({ aud: CALLEE, now: NOW });
    // The forger rewrites wth to name the victim's WIT; the signature is still theirs.
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW });
    expect(
      reasonOf(() =>
        verifyWorkloadProof(decodeWorkloadProof(forged), identity, { audience: CALLEE, now: NOW }),
      ),
    ).toBe('bad_signature');
  });

  it('refuses a WPT whose wth names another WIT, and WITs swapped between two callers', () => {
    const other = makeCaller('ed25519');
    // Same confirmation key, a WIT re-minted for it: the WPT was made for the first one.
    expect(reasonOf(() => checkPair(other, wpt, other.key, other.wit))).toBe('bad_signature');
    const ephemeral = generateKeyPairSync('ed25519');
    const mint = (jti: string) => {
      const { signingInput } = witSigningInput({
        name: CALLER,
        kid: 'kms-1',
        keyType: 'ed25519',
        confirmationKey: ephemeral.publicKey,
        now: NOW,
        jti,
      });
      return assembleWit(signingInput, kmsSign(caller.root, 'ed25519', signingInput));
    };
    const [first, second] = [mint('first-wit-of-caller'), mint('second-wit-of-caller')];
    const proofForFirst = new WorkloadProofSigner({ wit: first, privateKey: ephemeral.privateKey }).sign({
      aud: CALLEE,
      now: NOW,
    });
    expect(reasonOf(() => checkPair(caller, proofForFirst, caller.key, second))).toBe('wrong_token');
    expect(checkPair(caller, proofForFirst, caller.key, first).iss).toBe(CALLER);
  });

  it('keeps the types apart: a WIT is not a proof, a proof is not a WIT, a WPT is not an NHI1 proof', () => {
    expect(
      reasonOf(() => verifyProof(decodeProof(caller.wit), { key: caller.key, audience: CALLEE, now: NOW })),
    ).toBe('bad_typ');
    const nhi1 = new ProofSigner({ privateKey: caller.root, kid: 'kms-1', iss: CALLER }).sign({
      aud: CALLEE,
      now: NOW,
    });
    expect(reasonOf(() => verifyWorkloadIdentity(decodeProof(nhi1), { key: caller.key, now: NOW }))).toBe(
      'bad_typ',
    );
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW });
    expect(
      reasonOf(() =>
        verifyWorkloadProof(decodeWorkloadProof(caller.wit), identity, { audience: CALLEE, now: NOW }),
      ),
    ).toBe('bad_typ');
    expect(reasonOf(() => decodeProof(wpt))).toBe('malformed_proof');
  });

  it('refuses a WPT whose alg is not the one cnf.jwk binds', () => {
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW });
    const [, claims, signature] = wpt.split('.');
    const relabelled = `${Buffer.from('{"alg":"Ed25519","typ":"wpt+jwt"}').toString('base64url')}.${claims}.${signature}`;
    expect(
      reasonOf(() =>
        verifyWorkloadProof(decodeWorkloadProof(relabelled), identity, { audience: CALLEE, now: NOW }),
      ),
    ).toBe('bad_alg');
  });

  it('checks a WIT nbf and refuses exp before iat; refuses a WPT naming another sub', () => {
    const ephemeral = generateKeyPairSync('ed25519');
    const x = ephemeral.publicKey.export({ format: 'jwk' }).x;
    const mint = (claims: Record<string, unknown>) => {
      const head = Buffer.from('{"alg":"EdDSA","kid":"kms-1","typ":"wit+jwt"}').toString('base64url');
      const input = `${head}.${Buffer.from(
        JSON.stringify({
          iss: CALLER,
          sub: workloadUri(CALLER),
          iat: NOW,
          exp: NOW + 600,
          jti: 'a-wit-with-edges-01',
          cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x } },
          ...claims,
        }),
      ).toString('base64url')}`;
      return assembleWit(input, kmsSign(caller.root, 'ed25519', input));
    };
    expect(
      reasonOf(() =>
        verifyWorkloadIdentity(decodeProof(mint({ nbf: NOW + 3000 })), { key: caller.key, now: NOW }),
      ),
    ).toBe('not_yet_valid');
    expect(
      reasonOf(() =>
        verifyWorkloadIdentity(decodeProof(mint({ exp: NOW - 1 })), { key: caller.key, now: NOW - 30 }),
      ),
    ).toBe('malformed_proof');
    const identity = verifyWorkloadIdentity(decodeProof(caller.wit), { key: caller.key, now: NOW });
    const cnfPrivate = caller.ephemeral;
    const withSub = (sub: string) => {
      const [head, body] = caller.signer.sign({ aud: CALLEE, now: NOW }).split('.') as [string, string];
      const claims = { ...JSON.parse(Buffer.from(body, 'base64url').toString()), sub };
      const input = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${input}.${sign(null, Buffer.from(input), cnfPrivate).toString('base64url')}`;
    };
    expect(
      reasonOf(() =>
        verifyWorkloadProof(decodeWorkloadProof(withSub('wimse://auth.example.com/prod/admin')), identity, {
          audience: CALLEE,
          now: NOW,
        }),
      ),
    ).toBe('wrong_token');
    expect(
      verifyWorkloadProof(decodeWorkloadProof(withSub(workloadUri(CALLER))), identity, {
        audience: CALLEE,
        now: NOW,
      }).iss,
    ).toBe(CALLER);
  });

  it('refuses a cnf key anyone can sign for (small order)', () => {
    const smallOrder = Buffer.alloc(32);
    smallOrder[0] = 1; // the identity point
    const head = Buffer.from('{"alg":"EdDSA","kid":"kms-1","typ":"wit+jwt"}').toString('base64url');
    const body = Buffer.from(
      JSON.stringify({
        iss: CALLER,
        sub: workloadUri(CALLER),
        iat: NOW,
        exp: NOW + 60,
        jti: 'small-order-cnf-01',
        cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: smallOrder.toString('base64url') } },
      }),
    ).toString('base64url');
    const input = `${head}.${body}`;
    const wit = assembleWit(input, kmsSign(caller.root, 'ed25519', input));
    expect(reasonOf(() => verifyWorkloadIdentity(decodeProof(wit), { key: caller.key, now: NOW }))).toBe(
      'malformed_proof',
    );
  });

  it('will not sign with a key the WIT does not confirm', () => {
    expect(
      () =>
        new WorkloadProofSigner({ wit: caller.wit, privateKey: generateKeyPairSync('ed25519').privateKey }),
    ).toThrow(/not the key the WIT confirms/);
  });
});

describe('ecdsaDerToJose', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('turns every DER signature KMS could return into the r||s that verifies (short r and s included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (message) => {
        const der = sign('sha256', message, privateKey);
        const raw = ecdsaDerToJose(der);
        expect(raw).toHaveLength(64);
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('pads short integers and refuses what is not a DER signature', () => {
    // r = 1, s = 0x80 (encoded with its leading zero).
    expect(ecdsaDerToJose(Buffer.from('3007020101020200' + '80', 'hex')).toString('hex')).toBe(
      `${'00'.repeat(31)}01${'00'.repeat(31)}80`,
    );
    for (const bad of [
      '',
      '3006020101020101ff',
      '30070201010202008000',
      '310602010102010100',
      '3006020101030101',
    ]) {
      expect(() => ecdsaDerToJose(Buffer.from(bad, 'hex'))).toThrow(/DER/);
    }
  });
});

describe('mintWorkloadIdentity', () => {
  it('makes a fresh confirmation key per WIT, has the record key sign it once, and signs WPTs locally', async () => {
    const root = generateKeyPairSync('ed25519').privateKey;
    const key = recordKey(root, 'ed25519');
    const signed: Uint8Array[] = [];
    const remote = async (input: Uint8Array) => {
      signed.push(input);
      return sign(null, input, root);
    };
    const first = await mintWorkloadIdentity({
      name: CALLER,
      kid: 'kms-1',
      keyType: 'ed25519',
      sign: remote,
      now: NOW,
    });
    const second = await mintWorkloadIdentity({
      name: CALLER,
      kid: 'kms-1',
      keyType: 'ed25519',
      sign: remote,
      now: NOW,
    });
    expect(signed).toHaveLength(2);
    const cnfOf = (wit: string) => (decodeProof(wit).claims.cnf as { jwk: { x: string } }).jwk.x;
    expect(cnfOf(first.wit)).not.toBe(cnfOf(second.wit));
    const identity = verifyWorkloadIdentity(decodeProof(first.wit), { key, now: NOW });
    const wpt = first.sign({ aud: CALLEE, now: NOW });
    expect(verifyWorkloadProof(decodeWorkloadProof(wpt), identity, { audience: CALLEE, now: NOW }).iss).toBe(
      CALLER,
    );
    expect(first.expiresAt).toBe(NOW + 3600);
  });

  it('passes on what the remote signer throws, and makes no signer', async () => {
    const failing = async (): Promise<Uint8Array> => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };
    await expect(
      mintWorkloadIdentity({ name: CALLER, kid: 'kms-1', keyType: 'p256', sign: failing, now: NOW }),
    ).rejects.toThrow('Rate exceeded');
  });
});
