import { generateKeyPairSync } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  aNumber,
  aString,
  countWithDimension,
  DEFAULT_WIT_LIFETIME,
  joseSignatureOfKms,
  type KeyType,
  KMS_KEY_SPECS,
  keyTypeOfKmsKeySpec,
  kidOfKmsKey,
  LOG_FIELD,
  MAX_WIT_LIFETIME,
  METRIC,
  mintWorkloadIdentity,
  NhiError,
  type Observability,
  type OptionRules,
  oneOf,
  recordLatency,
  required,
  validateOptions,
  type WorkloadProofSigner,
  witSigningInput,
} from '@nhi-dns/core';
import { SigningError, type SigningErrorReason } from './errors.js';

/**
 * A record key held in AWS KMS. The private key never leaves KMS: it signs one workload identity
 * token (WIT) per `witLifetime`, which confirms a short-lived Ed25519 key kept in memory, and
 * that key signs each request's workload proof token (WPT) locally.
 */
export interface KmsSigningKey {
  /** The KMS key: key id, key ARN, alias name (`alias/billing-nhi`) or alias ARN. */
  readonly kmsKeyId: string;
  /**
   * `kid` of this key's public half in the workload's record (the WIT header names it). Default:
   * `kms-<key id>`, as `nhi-dns keygen --kms` and `publish --kms-key-id` publish it, learned from
   * the one `GetPublicKey` (so an alias moved to the next key moves the kid with it).
   */
  readonly kid?: string;
  /**
   * The record's key type (`k=`). Default: asked once from KMS `GetPublicKey` (`KeySpec`);
   * giving it saves that round trip and the `kms:GetPublicKey` permission.
   */
  readonly keyType?: KeyType;
  /** Seconds each WIT lives; a new one is made after 80 % of it. Default 3600, 60..86 400. */
  readonly witLifetime?: number;
  /** Seconds one KMS call may take, the SDK's own retries included. Default 5. */
  readonly timeout?: number;
}

/** Rules of a `{ kmsKeyId }` key source. */
export const KMS_KEY_RULES: OptionRules = {
  kmsKeyId: required(aString),
  kid: aString,
  keyType: oneOf('ed25519', 'p256'),
  // A WIT shorter than a minute would be renewed more often than a proof lives.
  witLifetime: aNumber(60, { integer: true, max: MAX_WIT_LIFETIME }),
  timeout: aNumber(0.001, { max: 60 }),
};

/** Default of {@link KmsSigningKey.timeout}, seconds: well inside Lambda's 10 s init phase. */
const DEFAULT_KMS_TIMEOUT = 5;
/** Share of a WIT's lifetime after which a new one is made, so renewal never races expiry. */
const RENEW_AFTER = 0.8;

/** KMS errors that say the key itself cannot sign this way (no retry will change that). */
const KEY_ERRORS: ReadonlySet<string> = new Set([
  'InvalidKeyUsageException',
  'UnsupportedOperationException',
]);

let sdk: Promise<typeof import('@aws-sdk/client-kms')> | undefined;

/**
 * The KMS SDK, imported on first use: a function whose key is in Secrets Manager does not pay
 * for loading it at cold start.
 */
const loadKmsSdk = (): Promise<typeof import('@aws-sdk/client-kms')> =>
  (sdk ??= import('@aws-sdk/client-kms'));

/** Options of {@link KmsWitSource}. */
export interface KmsWitSourceOptions {
  readonly source: KmsSigningKey;
  /** Canonical identity that signs (the WIT's `iss`). */
  readonly self: string;
  /** Seconds each WPT lives unless a request says otherwise. */
  readonly lifetime: number;
  /** The KMS client; default one made on first use (region and credentials from the environment). */
  readonly client: KMSClient | undefined;
  readonly observability: Observability;
  /** Milliseconds after a failed KMS call during which the next one is not attempted. */
  readonly failureBackoff: number;
  readonly now: () => number;
}

/** What the KMS call failed with, for the `aws.code` log field: the SDK error's name (`TimeoutError` past the deadline). */
const codeOf = (error: unknown): string =>
  error instanceof Error && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : 'error';

/**
 * Keeps a valid WIT and the {@link WorkloadProofSigner} of its short-lived key. The first one is
 * made on first use (or at creation, with `prefetch`); after 80 % of its lifetime a use starts a
 * renewal in the background with a fresh Ed25519 key, and the current pair stays in use until
 * the new one is ready. When KMS fails, the current WIT is used until it expires; from then on
 * signing fails closed (`signing_key_unavailable`), asking KMS again at most once per backoff,
 * and recovers as soon as KMS answers. Concurrent callers share one KMS call.
 */
export class KmsWitSource {
  readonly #options: KmsWitSourceOptions;
  readonly #witLifetime: number;
  readonly #timeout: number;
  #client: KMSClient | undefined;
  /**
   * The key that signs, its type and kid: given (`keyType` and `kid`), or learned from
   * `GetPublicKey` before each WIT, so that an alias moved to the next key (a rotation) moves the
   * kid with it and the key that signs is always the key the kid names.
   */
  #key: { readonly keyId: string; readonly keyType: KeyType; readonly kid: string } | undefined;
  readonly #fixedKey: boolean;
  #current: { readonly signer: WorkloadProofSigner; readonly renewAt: number } | undefined;
  #renewing: Promise<WorkloadProofSigner> | undefined;
  #failure: { readonly error: SigningError; readonly until: number } | undefined;

  /** @throws {SigningError} `invalid_config` for a source the WIT rules refuse (kid, lifetime, name). */
  constructor(options: KmsWitSourceOptions) {
    const { source } = options;
    validateOptions('identity-sign: signingKey', source, KMS_KEY_RULES, (message) => {
      return new SigningError('invalid_config', message);
    });
    this.#options = options;
    this.#witLifetime = source.witLifetime ?? DEFAULT_WIT_LIFETIME;
    this.#timeout = (source.timeout ?? DEFAULT_KMS_TIMEOUT) * 1000;
    this.#fixedKey = source.keyType !== undefined && source.kid !== undefined;
    if (source.keyType !== undefined && source.kid !== undefined) {
      this.#key = { keyId: source.kmsKeyId, keyType: source.keyType, kid: source.kid };
    }
    this.#client = options.client;
    // A dry run of the WIT rules, so that a bad kid or name fails at creation, not at init's KMS call.
    try {
      witSigningInput({
        name: options.self,
        kid: source.kid ?? 'kms-dry-run',
        keyType: source.keyType ?? 'ed25519',
        confirmationKey: generateKeyPairSync('ed25519').publicKey,
        lifetime: this.#witLifetime,
      });
    } catch (error) {
      throw new SigningError(
        'invalid_config',
        `identity-sign: signingKey: ${error instanceof NhiError ? error.message : 'refused'}`,
      );
    }
  }

  /**
   * The signer of the current WIT, renewed through KMS when it is missing or expired (awaited)
   * or past 80 % of its life (in the background).
   * @throws {SigningError} `signing_key_unavailable` when KMS cannot sign and no WIT is valid,
   *   `invalid_signing_key` when the KMS key is not an Ed25519 or P-256 signing key.
   */
  async current(): Promise<WorkloadProofSigner> {
    const now = this.#options.now();
    const current = this.#current;
    if (current !== undefined && now < current.signer.expiresAt * 1000) {
      if (now >= current.renewAt && this.#mayAsk(now)) {
        // Logged and counted by #issue; the current WIT serves until it expires.
        this.#renew().catch(() => undefined);
      }
      return current.signer;
    }
    const failure = this.#failure;
    if (this.#renewing === undefined && failure !== undefined && now < failure.until) throw failure.error;
    return this.#renew();
  }

  /** Whether a background renewal may start: none running, and no failure within the backoff. */
  #mayAsk(now: number): boolean {
    return this.#renewing === undefined && (this.#failure === undefined || now >= this.#failure.until);
  }

  #renew(): Promise<WorkloadProofSigner> {
    this.#renewing ??= this.#issue().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** One WIT: a fresh Ed25519 key, its WIT signed by KMS, and the signer of both. */
  async #issue(): Promise<WorkloadProofSigner> {
    const { source, self, observability, now, lifetime } = this.#options;
    const started = now();
    try {
      const kms = await loadKmsSdk();
      this.#client ??= new kms.KMSClient({});
      const client = this.#client;
      if (!this.#fixedKey || this.#key === undefined) this.#key = await this.#describeKey(kms, client);
      const { keyId, keyType, kid } = this.#key;
      const signer = await mintWorkloadIdentity({
        name: self,
        kid,
        keyType,
        lifetime: this.#witLifetime,
        now: Math.floor(now() / 1000),
        proofLifetime: lifetime,
        sign: async (signingInput) => {
          const command = new kms.SignCommand({
            KeyId: keyId,
            Message: signingInput,
            MessageType: 'RAW',
            SigningAlgorithm: KMS_KEY_SPECS[keyType].signingAlgorithm,
          });
          const { Signature } = await this.#withDeadline((abortSignal) =>
            client.send(command, { abortSignal }),
          );
          if (!(Signature instanceof Uint8Array)) {
            throw new SigningError('signing_key_unavailable', 'KMS Sign returned no signature');
          }
          return joseSignatureOfKms(keyType, Signature);
        },
      });
      this.#current = {
        signer,
        renewAt: started + Math.floor(this.#witLifetime * RENEW_AFTER * 1000),
      };
      this.#failure = undefined;
      recordLatency(observability.metrics, METRIC.signingKeyLoad, now() - started);
      observability.logger.info('identity-sign: workload identity token issued', {
        'kms.keyId': source.kmsKeyId,
        [LOG_FIELD.kid]: kid,
        'nhi.keyType': keyType,
        'nhi.witExpiresAt': signer.expiresAt,
      });
      return signer;
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * The record key type and kid of the KMS key: given ones, the rest from its `KeySpec` and `KeyId`
   * (one `GetPublicKey`, then cached).
   */
  async #describeKey(
    kms: typeof import('@aws-sdk/client-kms'),
    client: KMSClient,
  ): Promise<{ readonly keyId: string; readonly keyType: KeyType; readonly kid: string }> {
    const command = new kms.GetPublicKeyCommand({ KeyId: this.#options.source.kmsKeyId });
    const output = await this.#withDeadline((abortSignal) => client.send(command, { abortSignal }));
    // KMS answers both; moto and older emulators only the deprecated CustomerMasterKeySpec.
    const KeySpec = output.KeySpec ?? output.CustomerMasterKeySpec;
    const { KeyUsage } = output;
    const keyType = this.#options.source.keyType ?? keyTypeOfKmsKeySpec(KeySpec);
    if (keyType === undefined || KeyUsage !== 'SIGN_VERIFY') {
      throw new SigningError(
        'invalid_signing_key',
        `KMS key is ${KeySpec ?? 'of no key spec'} for ${KeyUsage ?? 'no usage'}; nhi-dns needs ECC_NIST_EDWARDS25519 or ECC_NIST_P256 for SIGN_VERIFY`,
      );
    }
    const kid = this.#options.source.kid ?? kidOfKmsKey(output.KeyId ?? '');
    if (kid === undefined) {
      throw new SigningError(
        'invalid_signing_key',
        'KMS GetPublicKey named no key id to derive the kid from',
      );
    }
    // Sign with the key GetPublicKey answered for, not the alias: it may move in between.
    return { keyId: output.KeyId ?? this.#options.source.kmsKeyId, keyType, kid };
  }

  /**
   * One KMS call under the deadline. The SDK retries throttling and transient errors itself;
   * the deadline bounds the whole, and aborts the SDK's request when it passes.
   */
  async #withDeadline<Output>(call: (abortSignal: AbortSignal) => Promise<Output>): Promise<Output> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        const timeout = new Error(`no answer within ${this.#timeout} ms`);
        timeout.name = 'TimeoutError';
        reject(timeout);
      }, this.#timeout);
    });
    try {
      return await Promise.race([call(controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The typed error of a failed issue, logged and counted; the backoff starts now. */
  #failed(error: unknown): SigningError {
    const { source, observability, now, failureBackoff } = this.#options;
    const code = error instanceof SigningError ? error.reason : codeOf(error);
    const reason: SigningErrorReason =
      error instanceof SigningError
        ? error.reason
        : KEY_ERRORS.has(code) || (error instanceof NhiError && error.reason === 'invalid_signing_key')
          ? 'invalid_signing_key'
          : 'signing_key_unavailable';
    const detail = error instanceof SigningError ? error.message : code;
    // No cause: the SDK's error holds the request, and a signing input is not for logs.
    const failure = new SigningError(
      reason,
      `identity-sign: KMS key ${source.kmsKeyId} cannot sign the workload identity token (${detail})`,
    );
    this.#failure = { error: failure, until: now() + failureBackoff };
    countWithDimension(observability.metrics, METRIC.signingKeyLoadError, 'Reason', reason);
    const current = this.#current;
    const serving = current !== undefined && now() < current.signer.expiresAt * 1000;
    const fields = {
      'kms.keyId': source.kmsKeyId,
      ...(this.#key === undefined ? {} : { [LOG_FIELD.kid]: this.#key.kid }),
      [LOG_FIELD.reason]: reason,
      'aws.code': code,
      ...(serving ? { 'nhi.witExpiresAt': current.signer.expiresAt } : {}),
    };
    if (serving) {
      observability.logger.warn(
        'identity-sign: workload identity token renewal failed; the current one serves until it expires',
        fields,
      );
    } else {
      observability.logger.error('identity-sign: workload identity token unavailable', fields);
    }
    return failure;
  }
}
