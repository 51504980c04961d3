/**
 * The WIMSE profile (DESIGN §3a) against the NHI1 proof, each figure in one process and run:
 * - callee, warm: a WPT checked against a WIT this instance verified before (hash the WIT, find
 *   it, decode and verify the WPT) vs decoding and verifying an NHI1 proof;
 * - callee, first request with a new WIT: the WIT's signature and claims, then the WPT, vs one NHI1
 *   proof verify (two signature checks against one);
 * - caller, warm: `WorkloadProofSigner.sign` vs `ProofSigner.sign` (what `IdentitySigner.sign` runs);
 * - caller, cold: minting a WIT through KMS `Sign` on loopback moto (a fresh Ed25519 key, one
 *   signature; P-256, as moto has no Ed25519 keys) vs reading a JWK from Secrets Manager on the
 *   same moto and importing it (what a secret-held signer does at init).
 */
import { generateKeyPairSync } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mintKmsWorkloadIdentity, readKmsPublicKey } from '@nhi-dns/cli';
import {
  decodeProof,
  decodeWorkloadProof,
  importRecordKeys,
  mintWorkloadIdentity,
  ProofSigner,
  parseRecordSet,
  tokenHash,
  type VerifiedWorkloadIdentity,
  verifyProof,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import { startMoto } from '../integration-tests/src/lab/moto.js';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { summarise } from './lib/stats.js';

const SIZES = {
  full: { rounds: 10, calls: 2000, coldRounds: 3, coldCalls: 20 },
  quick: { rounds: 2, calls: 100, coldRounds: 1, coldCalls: 3 },
};

const CALLER = 'billing.prod.auth.example.com';
const CALLEE = 'ledger.prod.auth.example.com';
const BODY = JSON.stringify({ orderId: 'o-12345', amount: 1250, currency: 'EUR' });
const URL_ = 'https://ledger.example.com/pay';

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const now = Math.floor(Date.now() / 1000);
  // The caller's record: a secret-held key for NHI1 proofs, a "KMS" key (here in memory) for WITs.
  const secretHeld = generateKeyPairSync('ed25519');
  const kmsHeld = generateKeyPairSync('ed25519');
  const raw = (key: typeof secretHeld.publicKey) =>
    Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
  const { keys } = importRecordKeys(
    parseRecordSet(CALLER, [
      `v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${raw(secretHeld.publicKey).toString('base64')}`,
      `v=NHI1; svc=billing; env=prod; kid=kms-1; k=ed25519; p=${raw(kmsHeld.publicKey).toString('base64')}; kc=kms`,
    ]).keys,
  );
  const nhi1Key = keys.get('k1');
  const witKey = keys.get('kms-1');
  if (nhi1Key === undefined || witKey === undefined) throw new Error('bench keys not imported');
  const { sign } = await import('node:crypto');
  const proofSigner = new ProofSigner({ privateKey: secretHeld.privateKey, kid: 'k1', iss: CALLER });
  const wptSigner = await mintWorkloadIdentity({
    name: CALLER,
    kid: 'kms-1',
    keyType: 'ed25519',
    sign: async (input) => sign(null, input, kmsHeld.privateKey),
  });
  const request = { aud: CALLEE, body: BODY, method: 'POST', url: URL_ };
  const nhi1 = proofSigner.sign(request);
  const wpt = wptSigner.sign(request);
  const checks = { audience: CALLEE, now, body: BODY, method: 'POST', url: URL_, requireBodyHash: true };

  // Warm callee: the verified WIT is found by its hash, as identity-verify's cache finds it.
  const verifiedWits = new Map<string, VerifiedWorkloadIdentity>();
  verifiedWits.set(
    tokenHash(wptSigner.wit),
    verifyWorkloadIdentity(decodeProof(wptSigner.wit), { key: witKey, now }),
  );
  const nhi1Verify = () => verifyProof(decodeProof(nhi1), { key: nhi1Key, ...checks });
  const pairWarm = () => {
    const identity = verifiedWits.get(tokenHash(wptSigner.wit));
    if (identity === undefined) throw new Error('WIT not cached');
    return verifyWorkloadProof(decodeWorkloadProof(wpt), identity, checks);
  };
  const pairCold = () => {
    const identity = verifyWorkloadIdentity(decodeProof(wptSigner.wit), { key: witKey, now });
    return verifyWorkloadProof(decodeWorkloadProof(wpt), identity, checks);
  };
  context.log('workload-token: verify a pair (cached WIT, new WIT) vs an NHI1 proof');
  const verify = await interleave(
    { nhi1Verify, pairWarm, pairCold },
    { rounds: size.rounds, callsPerRound: size.calls },
  );
  context.log('workload-token: sign a WPT vs an NHI1 proof');
  const signing = await interleave(
    { nhi1Sign: () => proofSigner.sign(request), wptSign: () => wptSigner.sign(request) },
    { rounds: size.rounds, callsPerRound: size.calls },
  );

  context.log('workload-token: mint a WIT through KMS on moto vs read a JWK from Secrets Manager on moto');
  const moto = await startMoto();
  let cold: Record<'secretInit' | 'kmsInit', number[]>;
  try {
    const kms = new KMSClient(moto.clientConfig);
    const secrets = new SecretsManagerClient(moto.clientConfig);
    const created = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = created.KeyMetadata?.KeyId ?? '';
    await readKmsPublicKey(kms, keyId);
    const jwk = { ...secretHeld.privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    await secrets.send(
      new CreateSecretCommand({ Name: '/prod/nhi/billing/signing-key', SecretString: JSON.stringify(jwk) }),
    );
    cold = await interleave(
      {
        secretInit: async () => {
          const { SecretString = '' } = await secrets.send(
            new GetSecretValueCommand({ SecretId: '/prod/nhi/billing/signing-key' }),
          );
          return new ProofSigner({ privateKey: JSON.parse(SecretString), kid: 'k1', iss: CALLER });
        },
        kmsInit: () => mintKmsWorkloadIdentity({ kms, kmsKeyId: keyId, name: CALLER }),
      },
      { rounds: size.coldRounds, callsPerRound: size.coldCalls, warmupCalls: 2 },
    );
  } finally {
    await moto.stop();
  }

  const nhi1Summary = summarise(verify.nhi1Verify);
  return [
    figure({
      id: 'wimsePairWarm',
      title: 'Callee, warm: a WIT + WPT pair (WIT verified before) vs an NHI1 proof',
      subject: measurement(
        'tokenHash(WIT) + cache hit + decode and verify the WPT',
        'µs',
        summarise(verify.pairWarm),
      ),
      baseline: measurement('decodeProof + verifyProof of an NHI1 proof (same claims)', 'µs', nhi1Summary),
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.05 },
      method:
        'Both with aud, bh, htm and htu, node:crypto Ed25519, body hash required; the WIT is found by its SHA-256 as identity-verify finds it. Interleaved.',
    }),
    figure({
      id: 'wimsePairFirst',
      title: 'Callee, first request with a new WIT vs one NHI1 proof verify',
      subject: measurement(
        'verify the WIT (signature, claims, cnf key import) + the WPT',
        'µs',
        summarise(verify.pairCold),
      ),
      baseline: measurement('decodeProof + verifyProof of an NHI1 proof', 'µs', nhi1Summary),
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 2.1 },
      method:
        'Two signature checks (record key, then the confirmed key) and the cnf JWK import, against one. Interleaved.',
    }),
    figure({
      id: 'wimseSignWarm',
      title: 'Caller, warm: signing a WPT vs an NHI1 proof',
      subject: measurement('WorkloadProofSigner.sign', 'µs', summarise(signing.wptSign)),
      baseline: measurement(
        'ProofSigner.sign (what IdentitySigner.sign runs)',
        'µs',
        summarise(signing.nhi1Sign),
      ),
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.0 },
      method: 'Same request (aud, bh, htm, htu), one Ed25519 crypto.sign each. Interleaved.',
    }),
    figure({
      id: 'wimseSignerInit',
      title: 'Caller, cold: minting a WIT through KMS vs loading a key from Secrets Manager (loopback moto)',
      subject: measurement(
        'DescribeKey + GetPublicKey + Sign on moto, fresh Ed25519 key, WIT assembled',
        'ms',
        summarise(cold.kmsInit.map((us) => us / 1000)),
      ),
      baseline: measurement(
        'GetSecretValue on moto + JWK import',
        'ms',
        summarise(cold.secretInit.map((us) => us / 1000)),
      ),
      ratioOf: 'subject/baseline',
      details: { kmsRoundTrips: 3, secretRoundTrips: 1 },
      method:
        'What the WIT adds to a signer init, on a loopback moto (no network latency: on AWS add one KMS round trip per call; identity-sign skips DescribeKey and GetPublicKey when keyType is given). Reported, no target.',
    }),
  ];
};

/** WIT + WPT figures: the callee's and the caller's cost of keys that never leave KMS. */
export const workloadTokenBench: BenchSuite = { name: 'workload-token', run };
