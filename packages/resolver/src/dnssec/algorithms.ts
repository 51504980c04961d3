/**
 * The DNSSEC signature algorithms this validator checks, on node:crypto: 8 (RSA/SHA-256, the
 * root's and most TLDs'), 13 (ECDSA P-256/SHA-256, Route 53's) and 15 (Ed25519). Any other
 * algorithm is unsupported: a zone signed only with it is insecure, never secure (RFC 6840 §5.2).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** DNSSEC algorithm numbers this validator supports. */
export const SUPPORTED_ALGORITHMS: ReadonlySet<number> = new Set([8, 13, 15]);

/** Smallest RSA modulus accepted, bits (RFC 8624 deprecates shorter keys). */
const MIN_RSA_BITS = 1024;
/** Largest RSA modulus accepted, bits (RFC 3110's limit): bounds the cost of one verify. */
const MAX_RSA_BITS = 4096;

/** A DNSKEY's public key ready for `verify`, or `undefined` when the key bytes are not valid for its algorithm. */
export const importDnskey = (algorithm: number, key: Buffer): KeyObject | undefined => {
  try {
    switch (algorithm) {
      case 8: {
        // RFC 3110 §2: exponent length (1 byte, or 0 then 2 bytes), exponent, modulus.
        let offset = 1;
        let exponentLength = key[0] ?? 0;
        if (exponentLength === 0) {
          exponentLength = key.readUInt16BE(1);
          offset = 3;
        }
        const exponent = key.subarray(offset, offset + exponentLength);
        const modulus = key.subarray(offset + exponentLength);
        const bits = modulus.length * 8;
        if (
          exponent.length !== exponentLength ||
          exponentLength === 0 ||
          bits < MIN_RSA_BITS ||
          bits > MAX_RSA_BITS
        ) {
          return undefined;
        }
        return createPublicKey({
          key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') },
          format: 'jwk',
        });
      }
      case 13: {
        // RFC 6605 §4: X and Y, 32 bytes each.
        if (key.length !== 64) return undefined;
        return createPublicKey({
          key: {
            kty: 'EC',
            crv: 'P-256',
            x: key.subarray(0, 32).toString('base64url'),
            y: key.subarray(32).toString('base64url'),
          },
          format: 'jwk',
        });
      }
      case 15: {
        // RFC 8080 §3: the 32-byte public key.
        if (key.length !== 32) return undefined;
        return createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') },
          format: 'jwk',
        });
      }
      default:
        return undefined;
    }
  } catch {
    // Not a point on the curve, a malformed modulus: not a key.
    return undefined;
  }
};

/** Whether `signature` over `data` verifies with `key` under DNSSEC algorithm `algorithm`. */
export const verifySignature = (
  algorithm: number,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean => {
  try {
    switch (algorithm) {
      case 8:
        return verify('sha256', data, key, signature);
      case 13:
        // RFC 6605 §4: r and s, 32 bytes each (IEEE P1363), not DER.
        return (
          signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 15:
        return signature.length === 64 && verify(null, data, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
};
