import { formatRecord, importRecordKeys, parseRecord, parseRecordSet } from '@nhi-dns/core';
import fc from 'fast-check';
import { mutatedFrom } from './mutate.js';
import { type FuzzTarget, invariant } from './target.js';

const NAME = 'billing.prod.auth.example.com';
const ED25519_KEY = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const P256_KEY =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B4dFzcNUHXiYXA==';

/** Real records, as publishers write them: what the mutations start from. */
const REAL_RECORDS = [
  `v=NHI1; svc=billing; env=prod; kid=k2026-11; k=ed25519; p=${ED25519_KEY}; x-tier=pci`,
  `v=NHI1; svc=billing; env=prod; kid=p1; k=p256; p=${P256_KEY}; exp=1900000000`,
  'v=NHI1; svc=billing; env=prod; kid=old; p=',
  'v=spf1 include:_spf.example.com -all',
].map((text) => Buffer.from(text));

const TAGS = ['v', 'svc', 'env', 'kid', 'k', 'p', 'exp', 'x-tier', 'x-', 'X-tier', 'p ', ''];
const VALUES = [
  'NHI1',
  'billing',
  'prod',
  'k1',
  'ed25519',
  'p256',
  ED25519_KEY,
  P256_KEY,
  '',
  '1',
  '-1',
  ' ',
];

/** Tag lists built from the grammar's own pieces, so that deep branches are reached. */
const structured = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...TAGS), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 40 })),
      fc.constantFrom(';', '; ', ' ;', ';;', ''),
    ),
    { maxLength: 10 },
  )
  .map((tags) => tags.map(([tag, value, sep]) => `${tag}=${value}${sep}`).join(''));

const space = fc.constantFrom('', ' ', '  ', '\t');
/** Records that follow the grammar, with random spacing, kids, keys, exp and attributes: the valid path. */
const wellFormed = fc
  .record({
    kid: fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
    key: fc.constantFrom(
      ['ed25519', ED25519_KEY],
      ['p256', P256_KEY],
      ['ed25519', ''],
      ['p256', ED25519_KEY],
    ),
    exp: fc.option(fc.oneof(fc.nat(), fc.constantFrom('1e9', '-5', '9'.repeat(16))), { nil: undefined }),
    attributes: fc.dictionary(fc.stringMatching(/^[a-z0-9-]{1,8}$/), fc.stringMatching(/^[ -:<-~]{0,12}$/), {
      maxKeys: 3,
    }),
    sp: space,
  })
  .map(({ kid, key: [k, p], exp, attributes, sp }) =>
    [
      'v=NHI1',
      `svc=${sp}billing`,
      `env=prod${sp}`,
      `kid=${kid}`,
      `k=${k}`,
      `p=${p}`,
      ...(exp === undefined ? [] : [`exp=${exp}`]),
      ...Object.entries(attributes).map(([name, value]) => `x-${name}=${value}`),
    ].join(`;${sp}`),
  );

/** An RR given as character-strings (split anywhere) or as text. */
const rr = fc.oneof(
  { weight: 3, arbitrary: wellFormed },
  mutatedFrom(REAL_RECORDS, 2).map((bytes) => bytes.toString('latin1')),
  structured,
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  mutatedFrom(REAL_RECORDS).map((bytes) => bytes.toString('latin1')),
  fc.uint8Array({ maxLength: 5000 }).map((bytes) => [Buffer.from(bytes)]),
);

const KID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * NHI1 TXT data (random, grammar-built and mutated real records) through `parseRecord`,
 * `parseRecordSet` and `importRecordKeys`. Invariants: nothing throws; a valid RR keeps every
 * rule of DESIGN §2 (svc/env equal the name's labels, kid pattern, key length for its type) and
 * round-trips through `formatRecord`; a record set never holds two keys with one kid.
 */
export const recordTarget: FuzzTarget<{ rrs: Array<string | Buffer[]>; name: string }> = {
  name: 'nhi1-record',
  description:
    'random, grammar-built and mutated NHI1 TXT records → parseRecord / parseRecordSet / importRecordKeys',
  arbitrary: () =>
    fc.record({
      rrs: fc.array(rr, { minLength: 1, maxLength: 4 }),
      name: fc.constantFrom(NAME, 'BILLING.prod.auth.example.com.', 'x.auth.example.com'),
    }),
  check({ rrs, name }) {
    for (const data of rrs) {
      const result = parseRecord(data, name);
      if (result.status !== 'valid') continue;
      const { record } = result;
      const [service, environment] = name.toLowerCase().split('.');
      invariant(
        record.service === service && record.environment === environment,
        'svc/env differ from the name',
      );
      invariant(KID.test(record.kid), 'kid breaks its pattern');
      const keyBytes = Buffer.from(record.publicKey, 'base64').length;
      invariant(
        record.publicKey === '' || keyBytes === (record.keyType === 'ed25519' ? 32 : 91),
        'key of the wrong length accepted',
      );
      invariant(
        record.expiresAt === undefined || Number.isSafeInteger(record.expiresAt),
        'exp is not an integer',
      );
      const again = parseRecord(formatRecord(record), name);
      invariant(
        again.status === 'valid' && JSON.stringify(again.record) === JSON.stringify(record),
        'valid record does not round-trip through formatRecord',
      );
    }
    const set = parseRecordSet(name, rrs);
    const kids = set.keys.map((key) => key.kid);
    invariant(new Set(kids).size === kids.length, 'two keys with one kid');
    const imported = importRecordKeys(set.keys);
    invariant(imported.keys.size + imported.rejected.length === set.keys.length, 'a key was lost on import');
  },
};
