import type { KeyObject } from 'node:crypto';
import {
  ACCEPTED_ALGORITHMS,
  countWithDimension,
  isIdentityLabel,
  type Jwk,
  METRIC,
  NhiError,
  type Observability,
  type ProofAlgorithm,
  ProofSigner,
  recordLatency,
  splitIdentityLabels,
} from '@nhi-dns/core';
import { type SecretReader, SecretsError } from '@nhi-dns/secrets-inject';
import { SigningError } from './errors.js';
import type { KmsSigningKey } from './kms-key.js';

/** A private JWK as `nhi-dns keygen` stores it: the key, its `kid`, optionally `alg` and `use`. */
export interface SigningKeyJwk extends Jwk {
  kid: string;
}

/**
 * Where the signing key comes from: a KMS key that signs workload identity tokens (see
 * {@link KmsSigningKey}), a Secrets Manager secret (name or ARN; its `AWSCURRENT` value, a
 * private JWK with `kid`), or, outside Lambda, the key itself.
 */
export type SigningKeySource =
  | KmsSigningKey
  | { readonly secretName: string }
  | { readonly jwk: SigningKeyJwk }
  | { readonly keyObject: KeyObject; readonly kid: string };

/** Where `nhi-dns keygen` stores the key of `self`: `/<env>/nhi/<service>/signing-key`. */
export const defaultSigningKeySecret = (self: string): string => {
  const labels = splitIdentityLabels(self);
  if (labels === undefined || !isIdentityLabel(labels.service) || !isIdentityLabel(labels.environment)) {
    throw new SigningError('invalid_config', 'identity-sign: self must be <service>.<environment>.<zone>');
  }
  return `/${labels.environment}/nhi/${labels.service}/signing-key`;
};

/** Options of {@link SigningKeyLoader}. */
export interface SigningKeyLoaderOptions {
  readonly source: Exclude<SigningKeySource, KmsSigningKey>;
  /** Canonical identity that signs (`iss`). */
  readonly self: string;
  readonly algorithm: ProofAlgorithm | undefined;
  /** Seconds each proof lives unless a request says otherwise. */
  readonly lifetime: number;
  /** Reads the secret (cached, rotation-aware); required for a `secretName` source. */
  readonly reader: SecretReader | undefined;
  readonly observability: Observability;
  /** Milliseconds after a failed load during which signing fails at once instead of asking again. */
  readonly failureBackoff: number;
  readonly now: () => number;
}

/**
 * Turns the stored key into a {@link ProofSigner}, once per stored version: the secret's value
 * object stays the same while cached, so the key is imported (and its public half checked
 * against its private part) only when a new version arrives. A value that fails the check is
 * never used, and the previous signer is not kept past the secret cache's own expiry.
 */
export class SigningKeyLoader {
  readonly #options: SigningKeyLoaderOptions;
  readonly #signers = new WeakMap<object, ProofSigner>();
  readonly #fixed: ProofSigner | undefined;
  #failure: { readonly error: SigningError; readonly until: number } | undefined;

  /** @throws {SigningError} `invalid_signing_key` for a fixed key that does not import. */
  constructor(options: SigningKeyLoaderOptions) {
    this.#options = options;
    const { source } = options;
    if ('jwk' in source) this.#fixed = this.#signerOf(source.jwk, 'the jwk option');
    else if ('keyObject' in source) {
      this.#fixed = this.#build(() => source.keyObject, source.kid, 'the keyObject option');
    }
  }

  /** Name of the secret the key is read from, if any (for logs). */
  get secretName(): string | undefined {
    const { source } = this.#options;
    return 'secretName' in source ? source.secretName : undefined;
  }

  /**
   * The signer of the current key version.
   * @throws {SigningError} `signing_key_unavailable` when the store cannot serve the key,
   *   `invalid_signing_key` when the stored value is not a usable private key.
   */
  async current(): Promise<ProofSigner> {
    if (this.#fixed !== undefined) return this.#fixed;
    const { reader, observability, now } = this.#options;
    const name = this.secretName!;
    // Warm path: the cached value, and the signer already made from it.
    const cached = reader!.peek(name, { json: true });
    const warm = typeof cached === 'object' && cached !== null ? this.#signers.get(cached) : undefined;
    if (warm !== undefined) return warm;
    const failure = this.#failure;
    if (failure !== undefined && now() < failure.until) throw failure.error;
    const started = now();
    let value: unknown;
    try {
      value = await reader!.read(name, { json: true });
    } catch (error) {
      const reason = error instanceof SecretsError ? error.reason : 'fetch_failed';
      throw this.#failed(
        new SigningError(
          'signing_key_unavailable',
          `identity-sign: signing key ${name} unavailable (${reason})`,
          { cause: error },
        ),
      );
    }
    if (typeof value !== 'object' || value === null) {
      throw this.#failed(
        new SigningError('invalid_signing_key', `identity-sign: ${name} does not hold a JWK`),
      );
    }
    const known = this.#signers.get(value);
    if (known !== undefined) return known;
    let signer: ProofSigner;
    try {
      signer = this.#signerOf(value as SigningKeyJwk, name);
    } catch (error) {
      // A stored value that is not a usable key is not kept: once the backoff has passed, the
      // next attempt fetches again, so a fixed secret is picked up within a second, not keyMaxAge.
      reader!.invalidate(name, { json: true });
      throw this.#failed(error as SigningError);
    }
    this.#signers.set(value, signer);
    this.#failure = undefined;
    recordLatency(observability.metrics, METRIC.signingKeyLoad, now() - started);
    observability.logger.info('identity-sign: signing key loaded', {
      'secret.name': name,
      'nhi.kid': signer.kid,
      'nhi.alg': signer.algorithm,
    });
    return signer;
  }

  #failed(error: SigningError): SigningError {
    const { observability, now, failureBackoff } = this.#options;
    this.#failure = { error, until: now() + failureBackoff };
    countWithDimension(observability.metrics, METRIC.signingKeyLoadError, 'Reason', error.reason);
    observability.logger.error('identity-sign: signing key load failed', {
      'secret.name': this.secretName,
      'nhi.reason': error.reason,
      'aws.code': error.cause instanceof SecretsError ? error.cause.awsCode : undefined,
    });
    return error;
  }

  #signerOf(jwk: SigningKeyJwk, where: string): ProofSigner {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') {
      throw new SigningError('invalid_signing_key', `identity-sign: ${where} is not a private JWK with kid`);
    }
    const stated = jwk.alg;
    const keyType = jwk.kty === 'OKP' ? 'ed25519' : 'p256';
    if (
      stated !== undefined &&
      !(ACCEPTED_ALGORITHMS[keyType] as readonly string[]).includes(String(stated))
    ) {
      throw new SigningError('invalid_signing_key', `identity-sign: ${where}: alg does not fit the key type`);
    }
    return this.#build(() => jwk, jwk.kid, where);
  }

  #build(key: () => KeyObject | Jwk, kid: string, where: string): ProofSigner {
    try {
      return new ProofSigner({
        privateKey: key(),
        kid,
        iss: this.#options.self,
        lifetime: this.#options.lifetime,
        ...(this.#options.algorithm === undefined ? {} : { algorithm: this.#options.algorithm }),
      });
    } catch (error) {
      // No cause: an import error may describe the key. NhiError messages never do.
      throw new SigningError(
        'invalid_signing_key',
        `identity-sign: ${where}: ${error instanceof NhiError ? error.message : 'not a usable private key'}`,
      );
    }
  }
}
