/**
 * Loading of the optional native verifier: lazy, once, behind `NHI_ED25519`, and falling back to
 * `node:crypto` whenever `sodium-native` is absent, broken, or answers wrongly. `node:module`'s
 * `createRequire` is replaced so that each test chooses what "the installed package" is; the
 * real addon's answers are in `native-ed25519.vectors.test.ts`.
 */
import { createRequire as realCreateRequire } from 'node:module';
import { jest } from '@jest/globals';

type Loader = (id: string) => unknown;
type Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
const realRequire = realCreateRequire(import.meta.url);
/** The real addon's public entry point (a root devDependency), loaded past the mock. */
const realSodium = (): { crypto_sign_verify_detached: Verify } => realRequire('sodium-native');
/** The package as installed: every id resolves for real (the direct prebuild path included). */
const installed: Loader = (id) => realRequire(id);
/** A package whose only loadable file is its entry point, `entry()` (no direct prebuild path). */
const entryOnly =
  (entry: () => unknown): Loader =>
  (id) => {
    if (id === 'sodium-native') return entry();
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  };
/** A stand-in for the package whose verify is `verify`. */
const fakeSodium = (verify: (...args: Parameters<Verify>) => unknown) => ({
  crypto_sign_BYTES: 64,
  crypto_sign_PUBLICKEYBYTES: 32,
  crypto_sign_verify_detached: verify,
});
const requested: string[] = [];
let loader: Loader = () => {
  throw new Error('not installed');
};

jest.unstable_mockModule('node:module', () => ({
  createRequire: () =>
    Object.assign(
      (id: string) => {
        requested.push(id);
        return loader(id);
      },
      { resolve: (id: string) => realRequire.resolve(id) },
    ),
}));

process.env.NHI_ED25519 = 'node';
const { ED25519_BACKEND_ENV, ed25519Backend, nativeEd25519, selectEd25519Backend } = await import(
  './native-ed25519.js'
);
const { importRecordKeys } = await import('./keys.js');
const { decodeProof } = await import('./proof-decode.js');
const { verifyProof } = await import('./proof-verify.js');
const { parseRecordSet } = await import('./record.js');
const { createTestIdentity } = await import('./test-support/test-identity.js');

afterAll(() => {
  delete process.env.NHI_ED25519;
});

describe('loading', () => {
  it('loads nothing at import, then honours NHI_ED25519=node at the first verification', () => {
    expect(ED25519_BACKEND_ENV).toBe('NHI_ED25519');
    expect(requested).toEqual([]);
    loader = installed;
    expect(ed25519Backend()).toBe('node:crypto');
    expect(requested).toEqual([]);
  });

  it('decides once: later calls do not load again', () => {
    nativeEd25519();
    nativeEd25519();
    expect(requested).toEqual([]);
  });

  it('uses the prebuild of this platform straight when the version is known', () => {
    loader = installed;
    expect(selectEd25519Backend('auto')).toBe('sodium-native');
    expect(requested).toEqual([
      'sodium-native/package.json',
      expect.stringMatching(
        new RegExp(`/prebuilds/${process.platform}-${process.arch}/sodium-native\\.node$`),
      ),
    ]);
    const verify = nativeEd25519();
    if (verify === undefined) throw new Error('not loaded');
    // Wrong sizes never reach the binding, whose C asserts would abort the process.
    expect(verify(new Uint8Array(63), new Uint8Array(1), new Uint8Array(32))).toBe(false);
    expect(verify(new Uint8Array(65), new Uint8Array(1), new Uint8Array(32))).toBe(false);
    expect(verify(new Uint8Array(64), new Uint8Array(1), new Uint8Array(31))).toBe(false);
  });

  it("uses the package's entry point when the direct path is unknown or missing", () => {
    for (const fake of [
      entryOnly(realSodium),
      (id: string) => (id === 'sodium-native/package.json' ? { version: '6.0.0' } : installed(id)),
    ]) {
      requested.length = 0;
      loader = fake;
      expect(selectEd25519Backend('auto')).toBe('sodium-native');
      expect(requested.at(-1)).toBe('sodium-native');
    }
  });

  it('falls back to the entry point when the direct binding fails its self-test', () => {
    requested.length = 0;
    loader = (id) =>
      id.endsWith('.node')
        ? { ...(installed(id) as object), crypto_sign_verify_detached: () => true }
        : installed(id);
    expect(selectEd25519Backend('auto')).toBe('sodium-native');
    expect(requested.at(-1)).toBe('sodium-native');
  });

  it.each([
    [
      'the package is absent',
      (): unknown => {
        throw Object.assign(new Error("Cannot find module 'sodium-native'"), { code: 'MODULE_NOT_FOUND' });
      },
    ],
    [
      'it has no prebuild for this platform',
      (): unknown => {
        throw new Error('No native build was found');
      },
    ],
    [
      'it lacks crypto_sign_verify_detached',
      (): unknown => ({ crypto_sign_BYTES: 64, crypto_sign_PUBLICKEYBYTES: 32 }),
    ],
    ['its sizes differ', (): unknown => ({ ...realSodium(), crypto_sign_BYTES: 65 })],
    ['it accepts everything', (): unknown => fakeSodium(() => true)],
    [
      'it accepts small-order keys (a laxer build)',
      (): unknown =>
        fakeSodium(
          (s, m, p) =>
            Buffer.from(p).toString('hex').startsWith('c7176a70') ||
            realSodium().crypto_sign_verify_detached(s, m, p),
        ),
    ],
    [
      'it answers 1 for true',
      (): unknown => fakeSodium((s, m, p) => (realSodium().crypto_sign_verify_detached(s, m, p) ? 1 : 0)),
    ],
  ])('falls back to node:crypto when %s', (_, fake) => {
    loader = entryOnly(fake);
    expect(selectEd25519Backend('auto')).toBe('node:crypto');
    expect(nativeEd25519()).toBeUndefined();
  });

  it('selectEd25519Backend("node") forces node:crypto without loading', () => {
    requested.length = 0;
    expect(selectEd25519Backend('node')).toBe('node:crypto');
    expect(requested).toEqual([]);
  });

  it('refuses an unknown choice', () => {
    expect(() => selectEd25519Backend('sodium' as 'auto')).toThrow(TypeError);
  });
});

describe('verifyProof on each backend', () => {
  const ISS = 'orders.prod.auth.example.com';
  const AUD = 'billing.prod.auth.example.com';
  const identity = createTestIdentity(ISS, { kid: 'ed' });
  const key = importRecordKeys(parseRecordSet(ISS, [identity.record]).keys).keys.get('ed');
  if (key === undefined) throw new Error('test key did not import');

  it('accepts with either, and uses the native verifier when selected', async () => {
    const token = await identity.sign({ aud: AUD });
    let nativeCalls = 0;
    loader = entryOnly(() =>
      fakeSodium((s, m, p) => {
        nativeCalls++;
        return realSodium().crypto_sign_verify_detached(s, m, p);
      }),
    );
    for (const choice of ['node', 'auto'] as const) {
      selectEd25519Backend(choice);
      const before = nativeCalls;
      expect(verifyProof(decodeProof(token), { key, audience: AUD }).iss).toBe(ISS);
      expect(nativeCalls - before).toBe(choice === 'auto' ? 1 : 0);
    }
  });

  it('uses node:crypto for a key built without rawPublicKey', async () => {
    selectEd25519Backend('auto');
    const token = await identity.sign({ aud: AUD });
    const { rawPublicKey: _, ...byHand } = key;
    expect(verifyProof(decodeProof(token), { key: byHand, audience: AUD }).iss).toBe(ISS);
  });

  it('denies bad_signature when the native verifier throws', async () => {
    const token = await identity.sign({ aud: AUD });
    // Passes the self-test (messages of at most 32 bytes), then throws on the first real proof.
    loader = entryOnly(() =>
      fakeSodium((s, m, p) => {
        if (m.length > 64) throw new Error('boom');
        return realSodium().crypto_sign_verify_detached(s, m, p);
      }),
    );
    expect(selectEd25519Backend('auto')).toBe('sodium-native');
    expect(() => verifyProof(decodeProof(token), { key, audience: AUD })).toThrow(
      expect.objectContaining({ reason: 'bad_signature' }),
    );
  });
});
