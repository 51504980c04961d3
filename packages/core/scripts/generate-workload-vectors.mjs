#!/usr/bin/env node
/**
 * Writes packages/core/test-vectors/workload-tokens.json: the WIMSE profile's test vectors (WIT +
 * WPT pairs, DESIGN §3a), from fixed keys, times and jtis, with core's own signing code (the
 * built dist, so build core first):
 *
 *   npm run build -w @nhi-dns/core && node packages/core/scripts/generate-workload-vectors.mjs
 *   npx biome format --write packages/core/test-vectors/workload-tokens.json
 *
 * (biome puts short arrays on one line, JSON.stringify does not; the tokens are unaffected.)
 * Ed25519 tokens come out byte for byte the same on every run. ES256 signatures are randomized,
 * so the P-256 WIT's signature is kept from the existing file when its signing input is
 * unchanged: regenerating without a change to the code rewrites an identical file. The file is
 * held to the code (both ways) by src/workload-test-vectors.test.ts, not by this script.
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  assembleWit,
  ecdsaDerToJose,
  formatRecord,
  tokenHash,
  WorkloadProofSigner,
  witSigningInput,
  workloadUri,
} from '../dist/index.js';

const OUT = new URL('../test-vectors/workload-tokens.json', import.meta.url);
const PROOFS = new URL('../test-vectors/proofs.json', import.meta.url);

const CALLER = 'billing.prod.auth.example.com';
const CALLEE = 'ledger.prod.auth.example.com';
const AUDIT = 'audit.prod.auth.example.com';
const OTHER = 'orders.prod.auth.example.com';
/** 2026-01-01T00:00:00Z, as proofs.json. */
const T0 = 1_767_225_600;
const WIT_LIFETIME = 3600;
const WPT_IAT = T0 + 120;
const NOW = WPT_IAT + 10;
const URL_ = 'https://api.ledger.example.com/v1/payments';
/** Non-ASCII on purpose: bh covers the UTF-8 bytes. */
const BODY = '{"orderId":"o-1","amount":10,"note":"café ☕"}';

const segment = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const textOf = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const signingInputOf = (token) => token.slice(0, token.lastIndexOf('.'));

/** An Ed25519 private JWK from a 32-byte RFC 8032 seed (PKCS#8 is the one form Node takes without x). */
const ed25519Jwk = (seedHex) => {
  const { d, x } = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  }).export({ format: 'jwk' });
  return { kty: 'OKP', crv: 'Ed25519', d, x };
};

const proofsKeys = JSON.parse(readFileSync(PROOFS, 'utf8')).keys;
const fromProofs = (kid) => proofsKeys.find((key) => key.kid === kid).privateJwk;

const KEYS = [
  {
    kid: 'rfc8037-a1',
    keyType: 'ed25519',
    role: 'record key, held in AWS KMS (the record says kc=kms): signs WITs (KMS ED25519_SHA_512, RAW)',
    source: 'RFC 8037 Appendix A.1 (a published test key: never use it for real)',
    privateJwk: fromProofs('rfc8037-a1'),
    keyCustody: 'kms',
  },
  {
    kid: 'p256-2026-01',
    keyType: 'p256',
    role: 'second record key: signs WITs as KMS ECDSA_SHA_256 does (DER, converted to r||s)',
    source: 'the P-256 key of proofs.json',
    privateJwk: fromProofs('p256-2026-01'),
  },
  {
    kid: 'cnf-rfc8032-test2',
    keyType: 'ed25519',
    role: 'the short-lived key a WIT confirms (cnf.jwk): signs WPTs',
    source: 'RFC 8032 section 7.1 TEST 2 (a published test key)',
    privateJwk: ed25519Jwk('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'),
  },
  {
    kid: 'stranger-rfc8032-test3',
    keyType: 'ed25519',
    role: "an attacker's key: in no record, confirmed by no WIT",
    source: 'RFC 8032 section 7.1 TEST 3 (a published test key)',
    privateJwk: ed25519Jwk('c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7'),
  },
].map((key) => {
  const publicKey = createPublicKey(createPrivateKey({ key: key.privateJwk, format: 'jwk' }));
  const published =
    key.keyType === 'ed25519'
      ? Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('base64')
      : publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const inRecord = key.kid === 'rfc8037-a1' || key.kid === 'p256-2026-01';
  const { keyCustody, ...entry } = key;
  return {
    ...entry,
    publicKey: published,
    ...(inRecord
      ? {
          record: formatRecord({
            service: 'billing',
            environment: 'prod',
            kid: key.kid,
            keyType: key.keyType,
            publicKey: published,
            ...(keyCustody === undefined ? {} : { keyCustody }),
          }),
        }
      : {}),
  };
});
const keyOf = (kid) => KEYS.find((key) => key.kid === kid);
const privateKeyOf = (kid) => createPrivateKey({ key: keyOf(kid).privateJwk, format: 'jwk' });
const ED_RECORD = keyOf('rfc8037-a1').record;
const P256_RECORD = keyOf('p256-2026-01').record;
const REVOKED_RECORD = formatRecord({
  service: 'billing',
  environment: 'prod',
  kid: 'rfc8037-a1',
  keyType: 'ed25519',
  publicKey: '',
});
const CNF = 'cnf-rfc8032-test2';
const STRANGER = 'stranger-rfc8032-test3';
const cnfPublicKey = createPublicKey(privateKeyOf(CNF));

const previous = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : undefined;
/** The token of a previous run with this signing input: keeps randomized ES256 signatures stable. */
const previousToken = (signingInput) => {
  for (const vector of previous?.vectors ?? []) {
    for (const token of [vector.wit.token, vector.wpt.token]) {
      if (signingInputOf(token) === signingInput) return token;
    }
  }
  return undefined;
};

/** Signs as KMS does: Ed25519 over the raw bytes, ECDSA P-256 with SHA-256 as DER, then r||s. */
const signAs = (kid, signingInput) => {
  if (keyOf(kid).keyType === 'ed25519') return sign(null, Buffer.from(signingInput), privateKeyOf(kid));
  return ecdsaDerToJose(sign('sha256', Buffer.from(signingInput), privateKeyOf(kid)));
};
const finish = (signedBy, signingInput) => {
  const deterministic = keyOf(signedBy).keyType === 'ed25519';
  const token =
    (!deterministic && previousToken(signingInput)) ||
    `${signingInput}.${Buffer.from(signAs(signedBy, signingInput)).toString('base64url')}`;
  const [header, claims] = token.split('.');
  return { deterministic, header: textOf(header), claims: textOf(claims), token };
};

/** A WIT from witSigningInput's inputs, signed by `signedBy` (the record key, or not). */
const witFrom = (inputs, signedBy = inputs.kid) => {
  const { signingInput } = witSigningInput({
    name: inputs.name,
    kid: inputs.kid,
    keyType: inputs.keyType,
    confirmationKey: createPublicKey(privateKeyOf(inputs.confirmationKey)),
    now: inputs.iat,
    lifetime: inputs.lifetime,
    jti: inputs.jti,
  });
  const wit = { signedBy, sign: inputs, ...finish(signedBy, signingInput) };
  if (keyOf(signedBy).keyType === 'ed25519' && signedBy === inputs.kid) {
    // What a KMS caller does: assembleWit over the raw signature gives the same bytes.
    const raw = Buffer.from(wit.token.slice(wit.token.lastIndexOf('.') + 1), 'base64url');
    if (assembleWit(signingInput, raw) !== wit.token) throw new Error('assembleWit disagrees');
  }
  return wit;
};

/** A token built by hand: header and claims as given, signed by `signedBy`. */
const constructed = (signedBy, construction, header, claims) => ({
  signedBy,
  construction,
  ...finish(signedBy, `${segment(header)}.${segment(claims)}`),
});

/** A WPT from WorkloadProofSigner's inputs; signed by another key than `cnf` when `signedBy` says so. */
const wptFrom = (wit, inputs, signedBy = CNF) => {
  const request = {
    aud: inputs.aud,
    now: inputs.iat,
    lifetime: inputs.lifetime,
    jti: inputs.jti,
    ...(inputs.body === undefined ? {} : { body: inputs.body }),
    ...(inputs.method === undefined ? {} : { method: inputs.method }),
    ...(inputs.url === undefined ? {} : { url: inputs.url }),
  };
  const token = new WorkloadProofSigner({ wit, privateKey: privateKeyOf(CNF) }).sign(request);
  return { signedBy, sign: inputs, ...finish(signedBy, signingInputOf(token)) };
};

const witInputs = (overrides = {}) => ({
  name: CALLER,
  kid: 'rfc8037-a1',
  keyType: 'ed25519',
  confirmationKey: CNF,
  iat: T0,
  lifetime: WIT_LIFETIME,
  jti: 'wit-tv-01-ed25519-kms',
  ...overrides,
});
const wptInputs = (jti, overrides = {}) => ({ aud: CALLEE, iat: WPT_IAT, lifetime: 60, jti, ...overrides });
const verifyAt = (overrides = {}) => ({ now: NOW, audience: CALLEE, ...overrides });
const bound = { body: BODY, method: 'POST', url: URL_ };

const edWit = witFrom(witInputs());
const p256Wit = witFrom(witInputs({ kid: 'p256-2026-01', keyType: 'p256', jti: 'wit-tv-02-p256-kms' }));
const secondEdWit = witFrom(witInputs({ jti: 'wit-tv-03-ed25519-reissued' }));
const forgedWit = witFrom(witInputs({ jti: 'wit-tv-04-forged-by-stranger' }), STRANGER);
/** WIT claims as witSigningInput writes them, for the hand-built WITs. */
const witClaims = (overrides = {}) => ({
  iss: CALLER,
  sub: workloadUri(CALLER),
  iat: T0,
  exp: T0 + WIT_LIFETIME,
  jti: 'wit-tv-00-constructed',
  cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: cnfPublicKey.export({ format: 'jwk' }).x, alg: 'EdDSA' } },
  ...overrides,
});
const WIT_HEADER = { alg: 'EdDSA', kid: 'rfc8037-a1', typ: 'wit+jwt' };

/** One vector; an accepted one states the claims the verifier returns (the WPT's, with the WIT's iss). */
const vector = (name, description, parts) => {
  const { records = [ED_RECORD], wit, wpt, verify, reason } = parts;
  return {
    name,
    description,
    identity: CALLER,
    records,
    wit,
    wpt,
    verify,
    expect:
      reason === undefined
        ? { valid: true, claims: { ...wpt.claims, iss: wit.claims.iss } }
        : { valid: false, reason },
  };
};

const byOtherWit = (wit, inputs) => ({ ...wptFrom(wit.token, inputs), sign: { ...inputs, wit: wit.token } });

const vectors = [
  vector(
    'wit-ed25519-minimal',
    'Ed25519 WIT (the kc=kms record key), WPT with aud, iat, exp, jti, wth only',
    {
      wit: edWit,
      wpt: wptFrom(edWit.token, wptInputs('wpt-tv-01-minimal-0001')),
      verify: verifyAt(),
    },
  ),
  vector(
    'wit-ed25519-bound',
    'Ed25519 WIT; WPT with aud an array, bh (UTF-8 body), htm and htu, checked against the request',
    {
      wit: edWit,
      wpt: wptFrom(edWit.token, wptInputs('wpt-tv-02-bound-0001', { aud: [CALLEE, AUDIT], ...bound })),
      verify: verifyAt(bound),
    },
  ),
  vector(
    'wit-p256-kms-ecdsa',
    'ES256 WIT (KMS ECDSA_SHA_256: DER converted to r||s; randomized, check that it verifies); the record set holds both keys',
    {
      records: [ED_RECORD, P256_RECORD],
      wit: p256Wit,
      wpt: wptFrom(p256Wit.token, wptInputs('wpt-tv-03-p256-wit-0001', { body: BODY })),
      verify: verifyAt({ body: BODY }),
    },
  ),
  vector('neg-wit-signed-by-stranger', 'the WIT names the record kid but a key not in the record signed it', {
    wit: forgedWit,
    wpt: wptFrom(forgedWit.token, wptInputs('wpt-tv-04-forged-wit-0001')),
    verify: verifyAt(),
    reason: 'bad_signature',
  }),
  vector('neg-wit-expired', 'the WIT expired (exp + clock skew passed); the WPT itself is fresh', {
    wit: edWit,
    wpt: wptFrom(edWit.token, wptInputs('wpt-tv-05-late-0001', { iat: T0 + WIT_LIFETIME + 55 })),
    verify: verifyAt({ now: T0 + WIT_LIFETIME + 61 }),
    reason: 'expired',
  }),
  vector('neg-revoked-kid', "the record now revokes the WIT's kid (p= empty); the WIT is unexpired", {
    records: [REVOKED_RECORD, P256_RECORD],
    wit: edWit,
    wpt: wptFrom(edWit.token, wptInputs('wpt-tv-06-revoked-0001')),
    verify: verifyAt(),
    reason: 'revoked_key',
  }),
  vector(
    'neg-wpt-signed-by-stranger',
    "the WPT names the WIT (wth) but a key the WIT does not confirm signed it (claims as the signer's)",
    {
      wit: edWit,
      wpt: wptFrom(edWit.token, wptInputs('wpt-tv-07-stranger-0001'), STRANGER),
      verify: verifyAt(),
      reason: 'bad_signature',
    },
  ),
  vector(
    'neg-wth-other-wit',
    'a WIT re-issued for the same cnf key (another jti); the WPT was made for the first one (sign.wit), so wth names that',
    {
      wit: secondEdWit,
      wpt: byOtherWit(edWit, wptInputs('wpt-tv-08-first-wit-0001')),
      verify: verifyAt(),
      reason: 'wrong_token',
    },
  ),
  vector(
    'neg-wits-swapped',
    "the WPT made with the P-256 key's WIT (sign.wit) sent beside the Ed25519 key's WIT of the same workload and cnf key",
    {
      records: [ED_RECORD, P256_RECORD],
      wit: edWit,
      wpt: byOtherWit(p256Wit, wptInputs('wpt-tv-09-swapped-0001')),
      verify: verifyAt(),
      reason: 'wrong_token',
    },
  ),
  vector(
    'neg-typ-wit-as-wpt',
    'the WIT itself sent as the WPT (same bytes in both headers): typ wit+jwt is not wpt+jwt',
    {
      wit: edWit,
      wpt: (({ sign: _inputs, ...token }) => ({
        ...token,
        construction: "this vector's WIT, byte for byte",
      }))(edWit),
      verify: verifyAt(),
      reason: 'bad_typ',
    },
  ),
  vector(
    'neg-typ-wpt-as-wit',
    'a WIT whose header says typ wpt+jwt, signed by the record key: a proof token is not an identity token',
    {
      wit: constructed(
        'rfc8037-a1',
        "witSigningInput's header and claims with typ wpt+jwt, signed by the record key",
        { ...WIT_HEADER, typ: 'wpt+jwt' },
        witClaims({ jti: 'wit-tv-10-typ-wpt-jwt' }),
      ),
      wpt: undefined,
      verify: verifyAt(),
      reason: 'bad_typ',
    },
  ),
  vector(
    'neg-typ-nhi1-proof-as-wit',
    'an NHI1 proof (typ nhi+jwt) signed by the record key, sent as the WIT',
    {
      wit: constructed(
        'rfc8037-a1',
        'an NHI1 proof (DESIGN §3) as ProofSigner makes it, signed by the record key',
        { alg: 'EdDSA', kid: 'rfc8037-a1', typ: 'nhi+jwt' },
        { iss: CALLER, aud: CALLEE, iat: WPT_IAT, exp: WPT_IAT + 60, jti: 'nhi-tv-11-proof-as-wit' },
      ),
      // No cnf in a proof: the WPT beside it is one made for the workload's real WIT.
      wpt: byOtherWit(edWit, wptInputs('wpt-tv-11-typ-confusion-2')),
      verify: verifyAt(),
      reason: 'bad_typ',
    },
  ),
  vector(
    'neg-wpt-alg-not-cnf-alg',
    'cnf.jwk says alg EdDSA; the WPT, signed by the cnf key, says Ed25519 (the same signature, another name)',
    {
      wit: edWit,
      wpt: constructed(
        CNF,
        "WorkloadProofSigner's claims under header {alg: Ed25519, typ: wpt+jwt}, signed by the cnf key",
        { alg: 'Ed25519', typ: 'wpt+jwt' },
        wptFrom(edWit.token, wptInputs('wpt-tv-12-alg-ed25519-1')).claims,
      ),
      verify: verifyAt(),
      reason: 'bad_alg',
    },
  ),
  vector('neg-cnf-alg-es256', 'the WIT binds its Ed25519 cnf key to alg ES256', {
    wit: constructed(
      'rfc8037-a1',
      "witSigningInput's header and claims with cnf.jwk.alg ES256, signed by the record key",
      WIT_HEADER,
      witClaims({
        jti: 'wit-tv-13-cnf-alg-es256',
        cnf: { jwk: { ...witClaims().cnf.jwk, alg: 'ES256' } },
      }),
    ),
    wpt: undefined,
    verify: verifyAt(),
    reason: 'bad_alg',
  }),
  vector('neg-wit-lifetime-over-a-day', 'WIT exp - iat = 86 401 s (witSigningInput refuses to make it)', {
    wit: constructed(
      'rfc8037-a1',
      "witSigningInput's header and claims with exp = iat + 86401, signed by the record key",
      WIT_HEADER,
      witClaims({ jti: 'wit-tv-14-lives-too-long', exp: T0 + 86_401 }),
    ),
    wpt: undefined,
    verify: verifyAt(),
    reason: 'lifetime_too_long',
  }),
  vector('neg-wit-sub-not-iss', "the WIT's sub names another workload (orders) than its iss (billing)", {
    wit: constructed(
      'rfc8037-a1',
      "witSigningInput's header and claims with sub = the workload URI of orders.prod.auth.example.com",
      WIT_HEADER,
      witClaims({ jti: 'wit-tv-15-sub-of-orders', sub: workloadUri(OTHER) }),
    ),
    wpt: undefined,
    verify: verifyAt(),
    reason: 'malformed_proof',
  }),
  vector('neg-body-mismatch', 'the WPT binds one body (bh); the request carries another', {
    wit: edWit,
    wpt: wptFrom(edWit.token, wptInputs('wpt-tv-16-body-0001', bound)),
    verify: verifyAt({ ...bound, body: BODY.replace('10', '1000') }),
    reason: 'body_mismatch',
  }),
  vector('neg-wrong-audience', 'the WPT is for another callee', {
    wit: edWit,
    wpt: wptFrom(edWit.token, wptInputs('wpt-tv-17-audit-0001', { aud: AUDIT })),
    verify: verifyAt(),
    reason: 'wrong_audience',
  }),
];

// The WIT-only denials still need a WPT to send: a valid one for their WIT, made by the signer.
for (const entry of vectors) {
  if (entry.wpt === undefined) {
    const inputs = wptInputs(`wpt-for-${entry.wit.claims.jti}`.slice(0, 64));
    entry.wpt = wptFrom(entry.wit.token, inputs);
  }
  if (entry.wpt.claims.wth === undefined) continue;
  const madeFor = entry.wpt.sign?.wit ?? entry.wit.token;
  if (entry.wpt.claims.wth !== tokenHash(madeFor)) throw new Error(`${entry.name}: wth is not its WIT's`);
}

const file = {
  description:
    "nhi-dns WIMSE profile test vectors (DESIGN.md §2, §3 and §3a): pairs of a workload identity token (WIT, typ wit+jwt, signed by a key of the NHI1 record, as AWS KMS signs it) and a workload proof token (WPT, typ wpt+jwt, signed by the short-lived Ed25519 key the WIT confirms in cnf.jwk). keys: private JWKs (test keys, public on purpose), their role, the base64 p= and, for the two record keys, the NHI1 record (kc=kms on the Ed25519 one). Each vector: identity and records (the TXT records DNS answers for it), wit and wpt, each with signedBy (the kid of keys whose private key made the signature), either sign (the inputs of witSigningInput / WorkloadProofSigner.sign; wpt.sign.wit is the WIT the signer held when it is not this vector's WIT) or construction (built by hand from header and claims), deterministic, header, claims and the exact token; verify (the verifier inputs: now, audience, and body, method, url when the request has them) and expect: {valid: true, claims: the WPT claims with the WIT's iss} or {valid: false, reason}. A verifier looks up the WIT kid in the records, checks the WIT (typ wit+jwt, alg fixed by k=, signature, iat/exp/jti, sub = wimse://<zone>/<env>/<service> of iss, times, exp - iat <= maxWitLifetime, cnf.jwk), then the WPT (alg = cnf.jwk.alg, typ wpt+jwt, signature by cnf.jwk, wth = base64url SHA-256 of the WIT, the WIT still unexpired, then aud, iat/exp, lifetime <= maxLifetime, jti, bh, htm, htu as an NHI1 proof's), with the settings in verifier. Ed25519 tokens are deterministic: a conforming signer reproduces them byte for byte from sign (and signedBy). ES256 signatures are randomized: check that the token verifies, not its bytes. WIT header alg, kid, typ; WIT claims iss, sub, iat, exp, jti, cnf {jwk {kty, crv, x, alg}}; WPT header alg, typ; WPT claims aud, iat, exp, jti, bh, htm, htu, wth; JSON without whitespace, in that order; base64url without padding; wth and bh are base64url SHA-256.",
  verifier: { clockSkew: 60, maxLifetime: 300, maxWitLifetime: 86_400 },
  keys: KEYS,
  vectors,
};
writeFileSync(OUT, `${JSON.stringify(file, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${OUT.pathname}`);
