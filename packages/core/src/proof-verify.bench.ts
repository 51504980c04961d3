/**
 * Cost of verifying one proof, against baselines measured in the same run (DESIGN §3):
 * - `crypto.verify` alone over the same bytes: the floor;
 * - `decodeProof` + `verifyProof`: what every invocation pays;
 * - `jose.jwtVerify` with the same policy, given a KeyObject and given a CryptoKey.
 * Median µs per call over interleaved rounds, for Ed25519 and P-256.
 *
 * Run: `node scripts/run-ts.mjs packages/core/src/proof-verify.bench.ts [--json]`
 */
import { verify as cryptoVerify, type KeyObject, webcrypto } from 'node:crypto';
import { jwtVerify } from 'jose';
import { importRecordKeys } from './keys.js';
import { decodeProof } from './proof-decode.js';
import { signProof } from './proof-sign.js';
import { ALGORITHM_BY_KEY_TYPE, verifyProof } from './proof-verify.js';
import { parseRecordSet } from './record.js';
import { createTestIdentity } from './test-support/test-identity.js';

const ROUNDS = 20;
const CALLS_PER_ROUND = 500;
const AUD = 'billing.prod.auth.example.com';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Median µs of one call, over rounds interleaved across candidates to share thermal and GC noise. */
const measure = async (candidates: Record<string, () => unknown>): Promise<Record<string, number>> => {
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(candidates).map((name) => [name, []]),
  );
  for (let r = 0; r < ROUNDS; r += 1) {
    for (const [name, run] of Object.entries(candidates)) {
      for (let i = 0; i < CALLS_PER_ROUND; i += 1) {
        const start = process.hrtime.bigint();
        const result = run();
        if (result instanceof Promise) await result;
        samples[name]!.push(Number(process.hrtime.bigint() - start) / 1000);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, round(median(values))]));
};

const results: Record<string, Record<string, number>> = {};
for (const keyType of ['ed25519', 'p256'] as const) {
  const identity = createTestIdentity('orders.prod.auth.example.com', { keyType });
  const key = importRecordKeys(parseRecordSet(identity.name, [identity.record]).keys).keys.get(identity.kid)!;
  const keyObject = key.keyObject as KeyObject;
  const token = await signProof({
    privateKey: identity.privateKey,
    kid: identity.kid,
    iss: identity.name,
    aud: AUD,
  });
  const decoded = decodeProof(token);
  const cryptoKey = await webcrypto.subtle.importKey(
    'spki',
    keyObject.export({ format: 'der', type: 'spki' }),
    keyType === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  const joseOptions = {
    algorithms: [ALGORITHM_BY_KEY_TYPE[keyType]],
    typ: 'nhi+jwt',
    audience: AUD,
    maxTokenAge: 300,
    clockTolerance: 60,
  };
  const bare =
    keyType === 'ed25519'
      ? () => cryptoVerify(null, decoded.signingInput, keyObject, decoded.signature)
      : () =>
          cryptoVerify(
            'sha256',
            decoded.signingInput,
            { key: keyObject, dsaEncoding: 'ieee-p1363' },
            decoded.signature,
          );
  if (!bare()) throw new Error('baseline does not verify');
  const figures = await measure({
    cryptoVerify: bare,
    verifyProof: () => verifyProof(decodeProof(token), { key, audience: AUD }),
    joseKeyObject: () => jwtVerify(token, keyObject, joseOptions),
    joseCryptoKey: () => jwtVerify(token, cryptoKey, joseOptions),
  });
  results[keyType] = {
    ...figures,
    verifyProofRatio: round(figures.verifyProof! / figures.cryptoVerify!, 2),
    joseKeyObjectRatio: round(figures.joseKeyObject! / figures.cryptoVerify!, 2),
    joseCryptoKeyRatio: round(figures.joseCryptoKey! / figures.cryptoVerify!, 2),
  };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ node: process.version, unit: 'µs median per call', results }, null, 2));
} else {
  console.log(`proof verification, ${process.version}, median µs per call (ratio to crypto.verify)`);
  for (const [keyType, r] of Object.entries(results)) {
    console.log(
      `${keyType.padEnd(8)} crypto.verify ${r.cryptoVerify}  verifyProof ${r.verifyProof} (${r.verifyProofRatio}x)` +
        `  jose/KeyObject ${r.joseKeyObject} (${r.joseKeyObjectRatio}x)  jose/CryptoKey ${r.joseCryptoKey} (${r.joseCryptoKeyRatio}x)`,
    );
  }
}
