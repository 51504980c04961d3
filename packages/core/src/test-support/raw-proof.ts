import { type KeyObject, sign } from 'node:crypto';

/** base64url of a JSON value, or of raw text when given a string. */
export const encodeSegment = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Signs any header and claims with `node:crypto`, bypassing every check of `signProof`, so
 * tests can build proofs that are validly signed but wrong in one precise way.
 * The signing algorithm follows the key (Ed25519, or ECDSA P-256 with raw r||s), whatever
 * the header claims.
 */
export const signRawProof = (header: unknown, claims: unknown, privateKey: KeyObject): string => {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  return `${signingInput}.${signSegment(signingInput, privateKey)}`;
};

/** The base64url signature of `signingInput` under `privateKey`. */
export const signSegment = (signingInput: string, privateKey: KeyObject): string => {
  const data = Buffer.from(signingInput, 'latin1');
  const signature =
    privateKey.asymmetricKeyType === 'ed25519'
      ? sign(null, data, privateKey)
      : sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return signature.toString('base64url');
};
