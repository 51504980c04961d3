import { MAX_PROOF_BYTES, ProofError } from './proof.js';
import { decodeProof } from './proof-decode.js';
import { encodeSegment } from './test-support/raw-proof.js';

const HEADER = { alg: 'EdDSA', kid: 'k1', typ: 'nhi+jwt' };
const CLAIMS = {
  iss: 'orders.prod.auth.example.com',
  aud: 'billing.prod.auth.example.com',
  jti: 'x'.repeat(22),
};
const SIGNATURE = Buffer.alloc(64, 9).toString('base64url');
const token = (header: unknown = HEADER, claims: unknown = CLAIMS, signature = SIGNATURE) =>
  `${encodeSegment(header)}.${encodeSegment(claims)}.${signature}`;

const expectDecodeError = (input: unknown, reason: string): void => {
  expect(() => decodeProof(input as string)).toThrow(ProofError);
  expect(() => decodeProof(input as string)).toThrow(expect.objectContaining({ reason }));
};

describe('decodeProof', () => {
  it('splits and decodes header, claims and signature without verifying', () => {
    const text = token();
    const proof = decodeProof(text);
    expect(proof.header).toEqual(HEADER);
    expect(proof.claims).toEqual(CLAIMS);
    expect(proof.token).toBe(text);
    expect(proof.signingInput.toString('latin1')).toBe(text.slice(0, text.lastIndexOf('.')));
    expect(proof.signature).toEqual(Buffer.alloc(64, 9));
    expect(Object.isFrozen(proof.header) && Object.isFrozen(proof.claims)).toBe(true);
  });

  it('rejects a token over 8 KiB before parsing it, and parses one at the limit', () => {
    expectDecodeError('.'.repeat(MAX_PROOF_BYTES + 1), 'proof_too_large');
    expectDecodeError('a'.repeat(MAX_PROOF_BYTES), 'malformed_proof');
    const padded = token(HEADER, { ...CLAIMS, pad: '' });
    const atLimit = token(HEADER, {
      ...CLAIMS,
      pad: 'p'.repeat(((MAX_PROOF_BYTES - padded.length) * 3) / 4),
    });
    expect(atLimit.length).toBeLessThanOrEqual(MAX_PROOF_BYTES);
    expect(atLimit.length).toBeGreaterThan(MAX_PROOF_BYTES - 4);
    expect(decodeProof(atLimit).claims.iss).toBe(CLAIMS.iss);
  });

  it('rejects anything but three segments', () => {
    const [h, p, s] = token().split('.') as [string, string, string];
    for (const bad of ['', '.', `${h}.${p}`, `${h}.${p}.${s}.`, `${h}.${p}.${s}.${s}`, `${h}..${p}.${s}`]) {
      expectDecodeError(bad, 'malformed_proof');
    }
    for (const bad of [undefined, null, 42, {}, Buffer.from(token())])
      expectDecodeError(bad, 'malformed_proof');
  });

  it('rejects non-canonical base64url in every segment', () => {
    const [h, p, s] = token().split('.') as [string, string, string];
    const variants = (segment: string): string[] => [
      `${segment}=`,
      `${segment}==`,
      ` ${segment}`,
      `${segment.slice(0, 4)}\n${segment.slice(4)}`,
      `${segment.slice(0, 4)}+${segment.slice(5)}`,
      `${segment.slice(0, 8)}/${segment.slice(9)}`,
      // A length of 4n + 1 characters cannot encode whole bytes.
      segment + 'A'.repeat((5 - (segment.length % 4)) % 4 || 4),
    ];
    for (const bad of variants(h)) expectDecodeError(`${bad}.${p}.${s}`, 'malformed_proof');
    for (const bad of variants(p)) expectDecodeError(`${h}.${bad}.${s}`, 'malformed_proof');
    for (const bad of variants(s)) expectDecodeError(`${h}.${p}.${bad}`, 'malformed_proof');
  });

  it('rejects a last character with unused bits set (one byte, two encodings)', () => {
    // 64 bytes → 86 characters: the last one carries 2 bits and 4 unused bits.
    expect(SIGNATURE).toHaveLength(86);
    const last = SIGNATURE.slice(-1);
    const alias = String.fromCharCode(last.charCodeAt(0) + 1);
    expect(Buffer.from(SIGNATURE.slice(0, -1) + alias, 'base64url')).toEqual(
      Buffer.from(SIGNATURE, 'base64url'),
    );
    expectDecodeError(token(HEADER, CLAIMS, SIGNATURE.slice(0, -1) + alias), 'malformed_proof');
  });

  it('requires header and claims to be JSON objects in strict UTF-8', () => {
    for (const bad of ['{', 'null', '[1]', '"text"', '7', '']) {
      expectDecodeError(token(bad), 'malformed_proof');
      expectDecodeError(token(HEADER, bad), 'malformed_proof');
    }
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]).toString(
      'base64url',
    );
    expectDecodeError(`${encodeSegment(HEADER)}.${invalidUtf8}.${SIGNATURE}`, 'malformed_proof');
  });

  it('requires string alg, kid and typ, no crit, and a string iss', () => {
    const headers = [
      { ...HEADER, alg: undefined },
      { ...HEADER, alg: '' },
      { ...HEADER, alg: 1 },
      { ...HEADER, kid: undefined },
      { ...HEADER, kid: 7 },
      { ...HEADER, kid: ['k1'] },
      { ...HEADER, crit: ['exp'] },
      { ...HEADER, crit: [] },
    ];
    for (const header of headers) expectDecodeError(token(header), 'malformed_proof');
    // One cause, one reason: a missing or non-string typ is bad_typ, like a wrong one.
    for (const typ of [undefined, null, 7, ['nhi+jwt']])
      expectDecodeError(token({ ...HEADER, typ }), 'bad_typ');
    for (const iss of [undefined, 1, null, ['a'], { name: 'a' }]) {
      expectDecodeError(token(HEADER, { ...CLAIMS, iss }), 'malformed_proof');
    }
  });

  it('never puts the token in an error message', () => {
    const bad = `${encodeSegment({ ...HEADER, kid: 1 })}.${encodeSegment(CLAIMS)}.${SIGNATURE}`;
    try {
      decodeProof(bad);
      throw new Error('expected a denial');
    } catch (error) {
      expect((error as Error).message).not.toContain(SIGNATURE);
      expect((error as Error).message).not.toContain(encodeSegment(CLAIMS));
    }
  });
});
