import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  aString,
  canonicalName,
  count,
  DEFAULT_MAX_LIFETIME,
  DEFAULT_PROOF_LIFETIME,
  either,
  METRIC,
  NhiError,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  type OptionRules,
  oneOf,
  type ProofRequest,
  resolveObservability,
  validateOptions,
} from '@nhi-dns/core';
import { SecretReader } from '@nhi-dns/secrets-inject';
import type { Pluggable } from '@smithy/types';
import { type AudienceMap, audienceFor, type SigningTarget } from './audiences.js';
import { awsSdkPlugin } from './aws-sdk.js';
import { type CredentialHeaders, credentialHeaders, type SignedCredential } from './credential.js';
import { SigningError } from './errors.js';
import { type SignedFetch, signedFetch } from './fetch.js';
import { defaultSigningKeySecret, SigningKeyLoader, type SigningKeySource } from './key-loader.js';
import { type KmsSigningKey, KmsWitSource } from './kms-key.js';

/** Environment variable naming this workload's identity when `self` is not given. */
export const SELF_ENVIRONMENT_VARIABLE = 'NHI_SELF';
/**
 * Environment variable naming the workload's KMS key (id, ARN or alias) when `signingKey` is not
 * given: the deploy paths set it for identities whose key KMS holds.
 */
export const KMS_KEY_ENVIRONMENT_VARIABLE = 'NHI_KMS_KEY_ID';
/** Default of {@link IdentitySignOptions.keyMaxAge}, seconds. */
export const DEFAULT_KEY_MAX_AGE = 60;
/** Milliseconds after a failed key load during which signing fails at once (protects Secrets Manager). */
const KEY_FAILURE_BACKOFF_MS = 1000;

/** Options of {@link createSigner} and the `identitySign` middleware. */
export interface IdentitySignOptions {
  /** This workload's identity (`iss`), e.g. `billing.prod.auth.example.com`. Default: `NHI_SELF`. */
  self?: string;
  /**
   * The callee's identity per target: `{ 'https://api.ledger.example.com': 'ledger.prod.auth.example.com',
   * 'ledger-prod': 'ledger.prod.auth.example.com' }` (URL origins, function names or ARNs, queue
   * URLs, topic ARNs, event bus names), or a function of the target. Exact matches only. A call
   * to a target with no audience is refused before it is sent. Default: none (pass `aud` per call).
   */
  audiences?: AudienceMap;
  /** Seconds each proof lives. Default 60; at most 300, the verifier's default `maxLifetime`. */
  lifetime?: number;
  /** Bind the exact body bytes with `bh` on every carrier. Default true. */
  bindBody?: boolean;
  /** Header `alg` of Ed25519 proofs: `EdDSA` (default, every verifier) or RFC 9864's `Ed25519`. */
  algorithm?: 'EdDSA' | 'Ed25519';
  /**
   * The signing key. `{ kmsKeyId }`: a KMS key signs a workload identity token per
   * `witLifetime` and each request gets a workload proof token signed locally (recommended for
   * new identities). Default: `{ kmsKeyId }` from `NHI_KMS_KEY_ID` when set, else
   * `{ secretName: '/<env>/nhi/<service>/signing-key' }` of `self`,
   * where `nhi-dns keygen` stores it; or `{ jwk }` / `{ keyObject, kid }` outside Lambda.
   */
  signingKey?: SigningKeySource;
  /**
   * Seconds a stored key is used before Secrets Manager is asked again, so a rotated `AWSCURRENT`
   * is picked up within this time (refreshed in the background in its last 10%). Default 60,
   * well under what `nhi-dns rotate` waits (record TTL + max proof lifetime).
   */
  keyMaxAge?: number;
  /**
   * Load the key (a KMS key: sign the first workload identity token) at creation, overlapping
   * the Lambda init phase. Default true (secret and KMS sources).
   */
  prefetch?: boolean;
  /** Secrets Manager client for the key. Default: one created on first use. */
  client?: SecretsManagerClient;
  /** KMS client for a `{ kmsKeyId }` key. Default: one created on first use. */
  kmsClient?: KMSClient;
  /**
   * Where the key secret is read from: `'sdk'` (default, Secrets Manager through the AWS SDK) or
   * `'extension'` (the AWS Parameters and Secrets Lambda Extension; no SDK loaded, no prefetch,
   * since the extension does not answer during init).
   */
  secretsSource?: 'sdk' | 'extension';
  /** The `fetch` that {@link IdentitySigner.fetch} signs for. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Powertools logger. Default: nhi-dns' shared logger. */
  logger?: NhiLogger;
  /** Powertools metrics. Default: nhi-dns' own, flushed by the middleware after each invocation. */
  metrics?: NhiMetrics;
  /** Wall clock in milliseconds (tests). Default `Date.now`. */
  now?: () => number;
}

/** One proof to sign with {@link IdentitySigner.sign}. */
export interface SignRequest extends Omit<ProofRequest, 'aud' | 'now' | 'jti'> {
  /** The callee's identity name, or several. */
  aud: string | readonly string[];
}

const OPTION_RULES: OptionRules = {
  self: aString,
  audiences: either(anObject, aFunction),
  lifetime: aNumber(1, { integer: true, max: DEFAULT_MAX_LIFETIME }),
  bindBody: aBoolean,
  algorithm: oneOf('EdDSA', 'Ed25519'),
  signingKey: anObject,
  keyMaxAge: aNumber(0, { max: 3600 }),
  prefetch: aBoolean,
  client: anObject,
  kmsClient: anObject,
  secretsSource: oneOf('sdk', 'extension'),
  fetch: aFunction,
  logger: anObject,
  metrics: anObject,
  now: aFunction,
};

const configError = (message: string): SigningError => new SigningError('invalid_config', message);

const isKmsSource = (source: SigningKeySource): source is KmsSigningKey => 'kmsKeyId' in source;

/** Checks the shape of `signingKey` (its key is checked when it is first loaded). */
const checkKeySource = (source: unknown): SigningKeySource | undefined => {
  if (source === undefined) return undefined;
  const value = source as Record<string, unknown>;
  // Its own rules are checked by KmsWitSource, with the option names in the message.
  if (typeof value === 'object' && value !== null && 'kmsKeyId' in value) return source as KmsSigningKey;
  if (typeof value.secretName === 'string' && value.secretName !== '')
    return { secretName: value.secretName };
  if (typeof value.jwk === 'object' && value.jwk !== null) return source as SigningKeySource;
  if (typeof value.keyObject === 'object' && value.keyObject !== null && typeof value.kid === 'string') {
    return source as SigningKeySource;
  }
  throw configError(
    'identity-sign: signingKey must be { kmsKeyId }, { secretName }, { jwk } or { keyObject, kid }',
  );
};

/**
 * The caller's half of nhi-dns: signs proofs with this workload's key and attaches them to
 * outgoing calls. One signer per function (create it outside the handler); the key is loaded
 * once per stored version and cached. Middy-free: the `identitySign` middleware puts it on
 * `context.signer`, and it works the same in a container or a CI job.
 */
export class IdentitySigner {
  /** Canonical identity of this workload (`iss` of every proof). */
  readonly self: string;
  /** Signs and sends a request: `fetch` with a proof binding method, URL and body bytes. */
  readonly fetch: SignedFetch;
  readonly #audiences: AudienceMap | undefined;
  readonly #bindBody: boolean;
  /** The key: an NHI1 signer's loader, or the KMS-signed WIT and its short-lived key. */
  readonly #key:
    | { readonly kind: 'proof'; readonly loader: SigningKeyLoader }
    | { readonly kind: 'workload'; readonly source: KmsWitSource };
  readonly #observability: Observability;
  readonly #now: () => number;

  /** @throws {SigningError} `invalid_config` for bad options, `invalid_signing_key` for a bad fixed key. */
  constructor(options: IdentitySignOptions = {}) {
    validateOptions('identity-sign', options, OPTION_RULES, configError);
    const self = options.self ?? process.env[SELF_ENVIRONMENT_VARIABLE];
    if (self === undefined || self === '') {
      throw configError(`identity-sign: no identity: set the self option or ${SELF_ENVIRONMENT_VARIABLE}`);
    }
    this.self = canonicalName(self);
    const kmsKeyId = process.env[KMS_KEY_ENVIRONMENT_VARIABLE];
    const source =
      checkKeySource(options.signingKey) ??
      (kmsKeyId === undefined || kmsKeyId === ''
        ? { secretName: defaultSigningKeySecret(this.self) }
        : { kmsKeyId });
    this.#audiences = options.audiences;
    this.#bindBody = options.bindBody ?? true;
    this.#observability = resolveObservability(options);
    const now = options.now ?? Date.now;
    this.#now = now;
    const lifetime = options.lifetime ?? DEFAULT_PROOF_LIFETIME;
    this.#key = isKmsSource(source)
      ? {
          kind: 'workload',
          source: new KmsWitSource({
            source,
            self: this.self,
            lifetime,
            client: options.kmsClient,
            observability: this.#observability,
            failureBackoff: KEY_FAILURE_BACKOFF_MS,
            now,
          }),
        }
      : {
          kind: 'proof',
          loader: new SigningKeyLoader({
            source,
            self: this.self,
            algorithm: options.algorithm,
            lifetime,
            reader:
              'secretName' in source
                ? new SecretReader({
                    ...(options.client === undefined ? {} : { client: options.client }),
                    source: options.secretsSource ?? 'sdk',
                    maxAge: options.keyMaxAge ?? DEFAULT_KEY_MAX_AGE,
                    observability: this.#observability,
                    now,
                  })
                : undefined,
            observability: this.#observability,
            failureBackoff: KEY_FAILURE_BACKOFF_MS,
            now,
          }),
        };
    const baseFetch = options.fetch;
    this.fetch = signedFetch(this, () => baseFetch ?? globalThis.fetch);
    const loadsAtInit =
      isKmsSource(source) || ('secretName' in source && options.secretsSource !== 'extension');
    if ((options.prefetch ?? true) && loadsAtInit) {
      // Overlaps the init phase; a failure is logged and counted by the source and surfaces on use.
      this.ready().catch(() => undefined);
    }
  }

  /** Whether carriers bind the body bytes (`bindBody`). */
  get bindsBody(): boolean {
    return this.#bindBody;
  }

  /** Where logs and metrics go. */
  get observability(): Observability {
    return this.#observability;
  }

  /** Whether proofs are workload proof tokens that travel with a WIT (a `{ kmsKeyId }` key). */
  get signsWorkloadTokens(): boolean {
    return this.#key.kind === 'workload';
  }

  /**
   * Loads the current key (when not cached) and checks it, or for a KMS key makes sure a WIT is
   * valid: the middleware awaits this before the handler, so a function whose key cannot be
   * loaded fails at once, not halfway through its work.
   * @throws {SigningError} `signing_key_unavailable` or `invalid_signing_key`.
   */
  async ready(): Promise<void> {
    const key = this.#key;
    await (key.kind === 'proof' ? key.loader.current() : key.source.current());
  }

  /**
   * Signs one NHI1 proof for any carrier nhi-dns does not wrap (a custom transport, a WebSocket
   * message): `aud` is required, `body`/`method`/`url` are bound when given. A KMS key's proof
   * is useless without its WIT: use {@link signCredential} or {@link signHeaders} for it.
   * @throws {SigningError} when the key is unavailable or an option is refused;
   *   `invalid_config` for a KMS key.
   */
  async sign(request: SignRequest): Promise<string> {
    if (this.#key.kind === 'workload') {
      throw configError(
        'identity-sign: a KMS key signs a WIT and WPT pair: use signCredential() or signHeaders()',
      );
    }
    return (await this.issue(request)).proof;
  }

  /**
   * Signs one request for a carrier nhi-dns does not wrap and returns what travels: `{ kind:
   * 'proof', proof }` (NHI1), or `{ kind: 'workload', wit, proof }` (a KMS key: send both).
   * @throws {SigningError} when the key is unavailable or an option is refused.
   */
  async signCredential(request: SignRequest): Promise<SignedCredential> {
    return this.issue(request);
  }

  /**
   * Signs one HTTP request and returns its headers: `{ authorization: 'NHI <proof>' }`, or
   * `{ 'workload-identity-token', 'workload-proof-token' }` for a KMS key.
   * @throws {SigningError} when the key is unavailable or an option is refused.
   */
  async signHeaders(request: SignRequest): Promise<CredentialHeaders> {
    return credentialHeaders(await this.issue(request));
  }

  /**
   * The audience of a target: `explicit`, else the `audiences` option's entry.
   * @throws {SigningError} `no_audience`.
   */
  audienceFor(target: SigningTarget, explicit?: string | readonly string[]): string | string[] {
    return audienceFor(this.#audiences, target, explicit);
  }

  /**
   * AWS SDK v3 plugin: `client.middlewareStack.use(signer.awsSdkPlugin())` signs `InvokeCommand`,
   * `SendMessage(Batch)Command`, `Publish(Batch)Command` and `PutEventsCommand` of that client, so
   * existing code keeps calling `send()`. Other commands pass unchanged.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a plugin fits every client's input and output types.
  awsSdkPlugin(): Pluggable<any, any> {
    return awsSdkPlugin(this);
  }

  /**
   * Signs a proof (counted as `ProofSigned`).
   * @internal Used by the carriers of this package.
   */
  async issue(request: SignRequest): Promise<SignedCredential> {
    if (request.lifetime !== undefined && request.lifetime > DEFAULT_MAX_LIFETIME) {
      throw new SigningError(
        'invalid_proof_options',
        `identity-sign: lifetime must be at most ${DEFAULT_MAX_LIFETIME} s (verifiers refuse longer proofs)`,
      );
    }
    const key = this.#key;
    let credential: SignedCredential;
    try {
      if (key.kind === 'proof') {
        const signer = await key.loader.current();
        credential = { kind: 'proof', proof: signer.sign(request) };
      } else {
        const signer = await key.source.current();
        // The WIT's iat and exp come from this clock, so its WPTs' times must too.
        const now = Math.floor(this.#now() / 1000);
        credential = { kind: 'workload', wit: signer.wit, proof: signer.sign({ ...request, now }) };
      }
    } catch (error) {
      if (error instanceof SigningError) throw error;
      if (error instanceof NhiError) {
        throw new SigningError('invalid_proof_options', `identity-sign: ${error.message}`);
      }
      throw error;
    }
    // Aggregated into the invocation's EMF document: a dimension would flush one document per proof.
    count(this.#observability.metrics, METRIC.proofSigned);
    return credential;
  }
}

/**
 * Creates the signer of this workload (see {@link IdentitySigner}).
 *
 * @example
 * const signer = createSigner({ audiences: { 'https://ledger.example.com': 'ledger.prod.auth.example.com' } });
 * const response = await signer.fetch('https://ledger.example.com/entries', { method: 'POST', body });
 */
export const createSigner = (options: IdentitySignOptions = {}): IdentitySigner =>
  new IdentitySigner(options);
