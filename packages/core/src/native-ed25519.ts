/**
 * An optional native Ed25519 verifier: libsodium's `crypto_sign_verify_detached` through the
 * `sodium-native` addon, used by `verifyProof` when the package is installed (an optional peer),
 * `node:crypto` otherwise (DESIGN §3, "Native Ed25519 verification").
 *
 * The addon is loaded lazily, once, by a plain `require` built from `createRequire` inside a
 * try/catch: it is never imported statically, so bundlers leave it out and a bundle without it
 * still runs (on `node:crypto`). libsodium rejects every class of edge-case signature that
 * OpenSSL (behind `node:crypto`) rejects, and more (small-order and non-canonical keys and R):
 * it never accepts what `node:crypto` would refuse; `native-ed25519.vectors.test.ts` holds the
 * two against each other.
 */
import { createRequire } from 'node:module';

/** Which Ed25519 verifier `verifyProof` uses. */
export type Ed25519Backend = 'sodium-native' | 'node:crypto';

/**
 * What {@link selectEd25519Backend} accepts: `auto` uses `sodium-native` when it loads and
 * passes its self-test, `node` always uses `node:crypto`.
 */
export type Ed25519BackendChoice = 'auto' | 'node';

/**
 * Environment variable read at the first Ed25519 verification: `node` forces `node:crypto`
 * (any other value, or none, is `auto`). {@link selectEd25519Backend} overrides it.
 */
export const ED25519_BACKEND_ENV = 'NHI_ED25519';

/** Verifies a 64-byte Ed25519 signature over `message` with a raw 32-byte public key. */
export type NativeEd25519Verify = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean;

/** The part of `sodium-native`'s API this module calls. */
interface SodiumNative {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  readonly crypto_sign_BYTES: number;
  readonly crypto_sign_PUBLICKEYBYTES: number;
}

// A variable, not a literal in `require(...)`: no bundler should try to follow it.
const PACKAGE = 'sodium-native';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

/**
 * Self-test run once at load, so that a broken, mismatched or laxer build never decides:
 * RFC 8032 §7.1 TEST 1 must verify and, with one bit flipped, must not; two signatures
 * `node:crypto` refuses on every OpenSSL we run on (speccheck vector 6, S > L; vector 8,
 * non-canonical R) and one that only libsodium refuses (vector 0: small-order A and R, S = 0)
 * must not verify either.
 */
const SELF_TEST: readonly { sig: string; msg: string; pk: string; valid: boolean }[] = [
  {
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    valid: true,
  },
  {
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100a',
    valid: false,
  },
  {
    pk: '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623',
    msg: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40',
    sig: 'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514',
    valid: false,
  },
  {
    pk: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43',
    msg: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41',
    sig: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f',
    valid: false,
  },
  {
    pk: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    msg: '8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6',
    sig: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000',
    valid: false,
  },
];

const passesSelfTest = (verify: NativeEd25519Verify): boolean =>
  SELF_TEST.every(({ sig, msg, pk, valid }) => verify(hex(sig), hex(msg), hex(pk)) === valid);

/** The addon's own binding: spans as (ArrayBuffer, offset, length) triples. */
interface SodiumBinding {
  crypto_sign_verify_detached(...spans: (ArrayBufferLike | number)[]): boolean;
  readonly crypto_sign_BYTES: number;
  readonly crypto_sign_PUBLICKEYBYTES: number;
}

/** Whether a loaded module has libsodium's Ed25519 verify with the sizes this code assumes. */
const hasEd25519Shape = <T extends { crypto_sign_verify_detached: unknown }>(
  sodium: Partial<T> & { crypto_sign_BYTES?: unknown; crypto_sign_PUBLICKEYBYTES?: unknown },
): sodium is Partial<T> & Pick<T, 'crypto_sign_verify_detached'> =>
  typeof sodium.crypto_sign_verify_detached === 'function' &&
  sodium.crypto_sign_BYTES === 64 &&
  sodium.crypto_sign_PUBLICKEYBYTES === 32;

/** Versions whose binding signature was read (`binding.cc`, 5.1.0) and is called directly. */
const DIRECT_BINDING_VERSIONS = /^5\.[01]\.\d+$/;

/**
 * The prebuild of this platform, loaded straight: the package's entry point resolves it through
 * `require-addon`, whose resolver costs about 17 ms at a cold start (the `.node` itself, 1 ms).
 * Only for versions whose binding is known; any doubt returns `undefined` and the public entry
 * point is used. The binding aborts the process on wrong sizes, so the sizes are checked here.
 */
const loadDirect = (require: NodeJS.Require): SodiumNative | undefined => {
  try {
    const manifest = require(`${PACKAGE}/package.json`) as { version?: unknown };
    if (typeof manifest.version !== 'string' || !DIRECT_BINDING_VERSIONS.test(manifest.version))
      return undefined;
    const root = require.resolve(`${PACKAGE}/package.json`).slice(0, -'package.json'.length);
    const binding = require(
      `${root}prebuilds/${process.platform}-${process.arch}/${PACKAGE}.node`,
    ) as Partial<SodiumBinding>;
    if (!hasEd25519Shape(binding)) return undefined;
    const raw = binding.crypto_sign_verify_detached;
    return {
      crypto_sign_BYTES: 64,
      crypto_sign_PUBLICKEYBYTES: 32,
      crypto_sign_verify_detached: (signature, message, publicKey) =>
        signature.byteLength === 64 &&
        publicKey.byteLength === 32 &&
        raw(
          signature.buffer,
          signature.byteOffset,
          64,
          message.buffer,
          message.byteOffset,
          message.byteLength,
          publicKey.buffer,
          publicKey.byteOffset,
          32,
        ),
    };
  } catch {
    return undefined;
  }
};

/**
 * Loads `sodium-native` and returns its verifier, or `undefined` when the package is absent,
 * fails to load (no prebuild for this platform, a CommonJS bundle without `import.meta.url`),
 * has an unexpected shape, or fails the self-test. Never throws.
 */
const loadSodium = (): NativeEd25519Verify | undefined => {
  let require: NodeJS.Require;
  try {
    require = createRequire(import.meta.url);
  } catch {
    return undefined;
  }
  const direct = loadDirect(require);
  const verifier = direct === undefined ? undefined : verifierOf(direct);
  if (verifier !== undefined) return verifier;
  try {
    return verifierOf(require(PACKAGE) as Partial<SodiumNative>);
  } catch {
    return undefined;
  }
};

/** The verifier of a loaded package, or `undefined` when its shape or its self-test is wrong. */
const verifierOf = (sodium: Partial<SodiumNative>): NativeEd25519Verify | undefined => {
  try {
    if (!hasEd25519Shape(sodium)) return undefined;
    const verifyDetached = sodium.crypto_sign_verify_detached;
    // Only `true` accepts: any other answer (a future status code, a truthy object) rejects.
    const verify: NativeEd25519Verify = (signature, message, publicKey) =>
      verifyDetached(signature, message, publicKey) === true;
    return passesSelfTest(verify) ? verify : undefined;
  } catch {
    return undefined;
  }
};

// `null`: decided, no native verifier; `undefined`: not decided yet (nothing loads at import).
let selected: NativeEd25519Verify | null | undefined;

const decide = (choice: Ed25519BackendChoice): NativeEd25519Verify | null =>
  choice === 'node' ? null : (loadSodium() ?? null);

const choiceFromEnv = (): Ed25519BackendChoice =>
  process.env[ED25519_BACKEND_ENV]?.trim().toLowerCase() === 'node' ? 'node' : 'auto';

/**
 * The native Ed25519 verifier in use, or `undefined` for `node:crypto`. The first call decides
 * (from {@link ED25519_BACKEND_ENV} and whether `sodium-native` loads); later calls return the
 * same answer without work, so the warm path pays one variable read.
 */
export const nativeEd25519 = (): NativeEd25519Verify | undefined => {
  if (selected === undefined) selected = decide(choiceFromEnv());
  return selected ?? undefined;
};

/** Which Ed25519 verifier `verifyProof` uses (deciding now if nothing has verified yet). */
export const ed25519Backend = (): Ed25519Backend =>
  nativeEd25519() === undefined ? 'node:crypto' : 'sodium-native';

/**
 * Chooses the Ed25519 verifier for this process, overriding {@link ED25519_BACKEND_ENV}:
 * `node` forces `node:crypto`; `auto` uses `sodium-native` when it loads (the load is tried
 * again). Meant for start-up code, tests and benchmarks.
 *
 * @returns the verifier now in use.
 */
export const selectEd25519Backend = (choice: Ed25519BackendChoice): Ed25519Backend => {
  if (choice !== 'auto' && choice !== 'node') {
    throw new TypeError(`selectEd25519Backend: choice must be 'auto' or 'node'`);
  }
  selected = decide(choice);
  return ed25519Backend();
};
