/**
 * The optional native Ed25519 verifier (DESIGN §3): `verifyProof` with libsodium
 * (`sodium-native`, an optional peer) vs `verifyProof` with `node:crypto`, over the same
 * distinct pre-signed proofs in one run, and the two bare verifies over the same signing inputs.
 * Both `verifyProof` candidates run the same code: the `node:crypto` one gets a copy of the key
 * without `rawPublicKey`, which is what sends a key to `crypto.verify`.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { createRequire } from 'node:module';
// Not exported from the package index (yet): the bench needs to know the backend it measures.
import {
  type DecodedProof,
  decodeProof,
  ed25519Backend,
  importRecordKeys,
  NhiError,
  parseRecordSet,
  selectEd25519Backend,
  type VerificationKey,
  verifyProof,
} from '@nhi-dns/core';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { round, summarise } from './lib/stats.js';

const SIZES = {
  full: { rounds: 10, callsPerRound: 1000 },
  quick: { rounds: 2, callsPerRound: 100 },
};

const ISS = 'billing.prod.auth.example.com';
const AUD = 'ledger.prod.auth.example.com';
const BODY = JSON.stringify({ orderId: 'o-12345', amount: 1250, currency: 'EUR' });
const URL_ = 'https://ledger.example.com/pay';

interface SodiumVerify {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  // The suites after this one keep the backend they would have had (NHI_ED25519 decides).
  const before = ed25519Backend();
  try {
    return await measure(context, size);
  } finally {
    selectEd25519Backend(before === 'node:crypto' ? 'node' : 'auto');
  }
};

const measure = async (context: BenchContext, size: (typeof SIZES)['full']): Promise<Figure[]> => {
  if (selectEd25519Backend('auto') !== 'sodium-native') {
    throw new NhiError(
      'bench_failed',
      'sodium-native did not load: npm install (it is a root devDependency)',
    );
  }
  const sodium = createRequire(import.meta.url)('sodium-native') as SodiumVerify;
  const identity = createTestIdentity(ISS, { kid: 'k1' });
  const native = importRecordKeys(parseRecordSet(ISS, [identity.record]).keys).keys.get('k1');
  if (native?.keyObject === undefined || native.rawPublicKey === undefined) {
    throw new NhiError('bench_failed', 'the test key did not import');
  }
  // Same properties in the same order (one object shape), only without the raw key.
  const floorKey: VerificationKey = Object.freeze({ ...native, rawPublicKey: undefined });
  const keyObject = native.keyObject;
  const rawKey = native.rawPublicKey;

  // Every call verifies a proof no call before it used (both candidates walk the same list).
  const count = size.callsPerRound * (size.rounds + 1);
  context.log(`native-verify: signing ${count} proofs`);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, () =>
      identity.sign({ aud: AUD, body: BODY, method: 'POST', url: URL_ }),
    );
    tokens.push(...(await Promise.all(batch)));
  }
  const proofs: DecodedProof[] = tokens.map((token) => decodeProof(token));
  const now = Math.floor(Date.now() / 1000);
  const options = (key: VerificationKey) => ({
    key,
    audience: AUD,
    now,
    body: BODY,
    method: 'POST',
    url: URL_,
  });
  const withSodium = options(native);
  const withNode = options(floorKey);
  const proofAt = (index: number): DecodedProof => proofs[index % proofs.length] as DecodedProof;
  for (const proof of proofs.slice(0, 3)) {
    verifyProof(proof, withSodium);
    verifyProof(proof, withNode);
  }

  context.log('native-verify: verifyProof (sodium) vs verifyProof (node:crypto)');
  const proofRuns = await interleave(
    {
      sodium: (index: number) => verifyProof(proofAt(index), withSodium),
      node: (index: number) => verifyProof(proofAt(index), withNode),
    },
    size,
  );

  context.log('native-verify: bare sodium verify vs bare crypto.verify');
  const bareRuns = await interleave(
    {
      sodium: (index: number) => {
        const proof = proofAt(index);
        if (!sodium.crypto_sign_verify_detached(proof.signature, proof.signingInput, rawKey)) {
          throw new NhiError('bench_failed', 'sodium refused a valid proof');
        }
      },
      node: (index: number) => {
        const proof = proofAt(index);
        if (!cryptoVerify(null, proof.signingInput, keyObject, proof.signature)) {
          throw new NhiError('bench_failed', 'crypto.verify refused a valid proof');
        }
      },
    },
    size,
  );
  const signingInputBytes = proofAt(0).signingInput.length;
  const proofSodium = summarise(proofRuns.sodium);
  const proofNode = summarise(proofRuns.node);
  const bareSodium = summarise(bareRuns.sodium);
  const bareNode = summarise(bareRuns.node);
  return [
    figure({
      id: 'nativeVerifyProof',
      title: 'verifyProof with sodium-native vs with node:crypto (Ed25519)',
      subject: measurement('verifyProof, libsodium (sodium-native)', 'µs', proofSodium),
      baseline: measurement('verifyProof, node:crypto', 'µs', proofNode),
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 0.75 },
      details: {
        backend: ed25519Backend(),
        savedMedianUs: round(proofNode.median - proofSodium.median, 1),
        signingInputBytes,
      },
      method: `Distinct pre-signed Ed25519 proofs (bh, htm, htu; ${signingInputBytes}-byte signing input), decoded beforehand, verified by the same verifyProof with the record's key (sodium) and with the same key without its raw bytes (node:crypto), interleaved.`,
    }),
    figure({
      id: 'nativeEd25519Floor',
      title: 'Bare Ed25519 verify: libsodium vs crypto.verify',
      subject: measurement('sodium-native crypto_sign_verify_detached', 'µs', bareSodium),
      baseline: measurement('crypto.verify (KeyObject)', 'µs', bareNode),
      ratioOf: 'subject/baseline',
      details: { signingInputBytes },
      method: 'The same signing inputs and signatures as above, one bare verify per call, interleaved.',
    }),
  ];
};

/** verifyProof on libsodium vs on node:crypto, and the two bare verifies. */
export const nativeVerifyBench: BenchSuite = { name: 'native-verify', run };
