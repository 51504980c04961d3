// `nhi-dns sign`: a proof (DESIGN §3) for a caller outside Lambda (curl, CI jobs, containers),
// signed with core's ProofSigner from a private JWK file or the workload's signing-key secret.
import { open, readFile } from 'node:fs/promises';
import {
  ACCEPTED_ALGORITHMS,
  decodeProof,
  type Jwk,
  MAX_PROOF_BYTES,
  NhiError,
  type ProofAlgorithm,
  ProofSigner,
} from '@nhi-dns/core';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import { type JwkSource, SIGNING_KEY_SECRET, signingKeyFromJwk } from '../keys.js';
import {
  checkHttpMethod,
  checkIdentityName,
  checkKid,
  checkProofLifetime,
  checkProofUrl,
} from '../validation.js';

/** Default of {@link SignOptions.lifetime}, seconds (core's default proof lifetime). */
export const DEFAULT_SIGN_LIFETIME = 60;

/** A key file larger than this is not a JWK and is not read further. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Options of {@link sign}. */
export interface SignOptions {
  /** Caller identity name (`--iss`), e.g. `billing.prod.auth.example.com`. */
  readonly iss: string;
  /** Callee identity name(s) (`--aud`): one is the `aud` string, several an array. */
  readonly aud: string | readonly string[];
  /**
   * The private JWK as read (from {@link readKeyFile} or the signing-key secret); checked here:
   * an Ed25519 or P-256 private JWK whose `x`/`y` are the public key of its `d`.
   */
  readonly privateJwk: unknown;
  /** Names where the key came from in errors. Default: the signing-key secret. */
  readonly keySource?: JwkSource;
  /** Header `kid`; default the JWK's `kid`. */
  readonly kid?: string;
  /** Header `alg`; default the JWK's `alg`, else `EdDSA` (Ed25519) or `ES256` (P-256). */
  readonly algorithm?: ProofAlgorithm;
  /** HTTP method to bind (`htm`). */
  readonly method?: string;
  /** Request URL to bind (`htu`). */
  readonly url?: string;
  /** Request body bytes to bind (`bh`), exactly as they will be sent. */
  readonly body?: Uint8Array | string;
  /** Seconds until `exp`, 1..300. Default 60. */
  readonly lifetime?: number;
}

/** What {@link sign} made: the token and the claims a script may want (`--json`). */
export interface SignResult {
  /** The compact JWS: send it as `Authorization: NHI <token>`. A bearer credential until `exp`. */
  readonly token: string;
  readonly kid: string;
  readonly alg: ProofAlgorithm;
  readonly iss: string;
  readonly aud: string | readonly string[];
  /** Expiry, Unix seconds. */
  readonly exp: number;
}

/** How `sign` names a key file in its errors (`bad_key_file`, exit code 2). */
export const keyFileSource = (path: string): JwkSource => ({
  name: `--key-file ${path}`,
  badReason: 'bad_key_file',
  badExitCode: EXIT_CODE.usage,
});

const errorCode = (error: unknown): string =>
  (error as { code?: unknown } | undefined)?.code?.toString() ??
  (error instanceof Error ? error.name : 'error');

/** Whether the platform has POSIX permission bits worth checking (Windows reports 0o666). */
const hasPosixModes = (): boolean => process.platform !== 'win32';

/**
 * Reads a private JWK file (as `nhi-dns keygen` stores the key: `kid`, `alg`, `use`, `kty`,
 * `crv`, `d`, `x`[, `y`]). Like ssh, it refuses a file its group or others may read or write
 * (mode & 0o077, checked on the opened file, not on the path), and it never echoes the content
 * in an error. Whether the JSON is a usable key is checked by {@link sign}.
 *
 * @throws {CliError} `insecure_key_file` (exit code 5); `bad_key_file` (exit code 2) for a file
 * that cannot be read, is too large or is not JSON.
 */
export const readKeyFile = async (path: string): Promise<unknown> => {
  const bad = (detail: string): CliError =>
    new CliError('bad_key_file', `--key-file ${path}: ${detail}`, EXIT_CODE.usage);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw bad(`cannot be opened (${errorCode(error)})`);
  }
  let text: string;
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw bad('is a directory, not a private JWK file');
    if (hasPosixModes() && (stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new CliError(
        'insecure_key_file',
        `--key-file ${path}: permissions ${mode} are too open: a private key file must not be ` +
          `accessible to group or others (mode & 0077 must be 0); run chmod 600 ${path}`,
        EXIT_CODE.insecureKeyFile,
      );
    }
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_KEY_FILE_BYTES) throw bad(`is larger than ${MAX_KEY_FILE_BYTES} bytes, not a JWK`);
    }
    text = buffer.toString('utf8', 0, length);
    buffer.fill(0);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw bad(`cannot be read (${errorCode(error)})`);
  } finally {
    await handle.close();
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    // JSON.parse's message quotes the text around the error: never repeat it.
    throw bad(
      'is not JSON; expected a private JWK as nhi-dns keygen stores it ({"kty", "crv", "d", "x", "kid", ...})',
    );
  }
};

/** Reads the whole of the process's stdin as bytes (`--body-file -`). */
export const readProcessStdin = async (): Promise<Uint8Array> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
};

/**
 * Reads `--body-file`: the file's bytes, unchanged (what `curl --data-binary @path` sends), or
 * stdin for `-`. @throws {CliError} usage error when it cannot be read.
 */
export const readBodyFile = async (
  path: string,
  readStdin: () => Promise<Uint8Array> = readProcessStdin,
): Promise<Uint8Array> => {
  try {
    return path === '-' ? await readStdin() : await readFile(path);
  } catch (error) {
    throw usageError(
      `--body-file ${path === '-' ? '- (stdin)' : path}: cannot be read (${errorCode(error)})`,
    );
  }
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Signs one proof (DESIGN §3) with core's `ProofSigner`: header `{alg, kid, typ: "nhi+jwt"}`,
 * claims `iss`, `aud`, `iat`, `exp`, `jti` and, when given, `bh` (SHA-256 of `body`), `htm`,
 * `htu`. The key must be a consistent private JWK (`x`/`y` the public key of `d`, derived from
 * `d`, P-256 included); its `use` (`sig`), `alg` and `key_ops`, when present, must allow
 * signing with the chosen algorithm. Nothing here puts the private key in an error.
 *
 * @throws {CliError} usage error for a bad identity name, lifetime, method, URL, kid or an `alg`
 * the key does not sign; `bad_key_file`/`bad_secret` (the source's) for a value that is not a
 * usable private JWK; `key_mismatch` (exit code 4) for one whose halves disagree.
 */
export const sign = (options: SignOptions, deps: { readonly now: () => number }): SignResult => {
  const source = options.keySource ?? SIGNING_KEY_SECRET;
  const iss = checkIdentityName('--iss', options.iss);
  const audiences = (typeof options.aud === 'string' ? [options.aud] : [...options.aud]).map((aud) =>
    checkIdentityName('--aud', aud),
  );
  if (audiences.length === 0) throw usageError('sign needs at least one --aud');
  const lifetime = checkProofLifetime(options.lifetime ?? DEFAULT_SIGN_LIFETIME);
  const method = options.method === undefined ? undefined : checkHttpMethod(options.method);
  const url = options.url === undefined ? undefined : checkProofUrl(options.url);
  const kid = options.kid === undefined ? undefined : checkKid(options.kid);

  // An explicit kid names the key, so a JWK without one (exported elsewhere) is usable too.
  const jwk =
    kid !== undefined && isRecord(options.privateJwk) ? { ...options.privateJwk, kid } : options.privateJwk;
  const key = signingKeyFromJwk(jwk, source);
  const members = key.privateJwk as unknown as Record<string, unknown>;
  const accepted: readonly ProofAlgorithm[] = ACCEPTED_ALGORITHMS[key.keyType];
  const unusable = (detail: string): CliError =>
    new CliError(
      source.badReason,
      `${source.name} is not a usable signing key: ${detail}`,
      source.badExitCode,
    );
  if (members.use !== undefined && members.use !== 'sig') throw unusable('its "use" is not "sig"');
  if (
    members.key_ops !== undefined &&
    !(Array.isArray(members.key_ops) && members.key_ops.includes('sign'))
  ) {
    throw unusable('its "key_ops" do not include "sign"');
  }
  if (members.alg !== undefined && !accepted.includes(members.alg as ProofAlgorithm)) {
    throw unusable(`its "alg" is not ${accepted.join(' or ')}, which its ${key.keyType} key signs`);
  }
  if (options.algorithm !== undefined && !accepted.includes(options.algorithm)) {
    throw usageError(
      `--alg ${options.algorithm} does not fit the ${key.keyType} key of ${source.name}: it signs ${accepted.join(' or ')}`,
    );
  }
  const algorithm = options.algorithm ?? (members.alg as ProofAlgorithm | undefined);

  // Only the key members reach node's import; kid, alg and use are the CLI's to check.
  const { kty, crv, d, x, y } = members;
  const privateKey = { kty, crv, d, x, ...(y === undefined ? {} : { y }) } as Jwk;
  let token: string;
  try {
    const signer = new ProofSigner({
      privateKey,
      kid: key.kid,
      iss,
      ...(algorithm === undefined ? {} : { algorithm }),
    });
    token = signer.sign({
      aud: audiences.length === 1 ? (audiences[0] as string) : audiences,
      lifetime,
      now: Math.floor(deps.now() / 1000),
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(method === undefined ? {} : { method }),
      ...(url === undefined ? {} : { url }),
    });
  } catch (error) {
    if (!(error instanceof NhiError)) throw error;
    if (error.reason === 'invalid_signing_key') {
      throw new CliError(
        source.badReason,
        `${source.name} is not a usable signing key: ${error.message.replace(/^privateKey:? ?/, '')}`,
        source.badExitCode,
        { cause: error },
      );
    }
    throw new CliError('usage', `cannot sign: ${error.message}`, EXIT_CODE.usage, { cause: error });
  }
  if (token.length > MAX_PROOF_BYTES) {
    throw usageError(
      `the proof would be ${token.length} bytes; verifiers refuse more than ${MAX_PROOF_BYTES} (fewer --aud)`,
    );
  }
  const { header, claims } = decodeProof(token);
  return {
    token,
    kid: header.kid,
    alg: header.alg as ProofAlgorithm,
    iss: claims.iss,
    aud: claims.aud,
    exp: claims.exp,
  };
};
