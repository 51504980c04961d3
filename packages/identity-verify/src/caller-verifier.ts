import {
  type ClaimOptions,
  decodeWorkloadProof,
  IdentityError,
  type IdentityMatcher,
  type KeyCustody,
  NhiError,
  type PresentedClientCert,
  type ProofClaims,
  ProofError,
  type ReplayStore,
  tokenHash,
  type VerificationKey,
  type VerifiedWorkloadIdentity,
  verifyProof,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import type { ResolvedIdentity } from '@nhi-dns/identity-resolve';
import { PACKAGE_NAME } from './package-name.js';
import { WorkloadIdentityCache } from './workload-identity-cache.js';

/**
 * How a caller proved itself: `nhi1`, a proof signed by its record key (DESIGN §3); `wit`, a
 * workload identity token signed by its record key and a proof token signed by the short-lived
 * key that token confirms (the WIMSE pair, DESIGN §3a).
 */
export type CallerCredential = 'nhi1' | 'wit';

/** The verified caller, put on `request.context.caller`. */
export interface VerifiedIdentity {
  /** Canonical identity name of the caller. */
  readonly name: string;
  readonly service: string;
  readonly environment: string;
  /** Record key that signed the proof (for a WIMSE pair: the key that signed the WIT). */
  readonly kid: string;
  /** How the caller proved itself. */
  readonly credential: CallerCredential;
  /** The verified proof claims (for a WIMSE pair: the proof token's, with the WIT's `iss`). */
  readonly claims: ProofClaims;
  /** Attributes of the caller's key (`x-NAME` tags). */
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * What `requireDnssec` asks of a record: nothing (`false`), the resolver's AD bit (`true`: trusts
 * the resolver and the path to it), or `'validated'`: this process validated the record's
 * signatures itself (identity-resolve's `validateDnssec`) and found it `secure`.
 */
export type DnssecRequirement = boolean | 'validated';

/**
 * Why a resolved record fails `requirement`, for the log (`nhi.detail`), or `undefined` when it
 * meets it. Under `'validated'` the AD bit counts for nothing: an `insecure` (unsigned) record and
 * one no validator looked at fail alike.
 */
export const dnssecFailure = (
  requirement: DnssecRequirement,
  record: Pick<ResolvedIdentity, 'ad' | 'dnssec'>,
): string | undefined => {
  if (requirement === false) return undefined;
  if (requirement === true) return record.ad ? undefined : 'answer without the AD bit';
  if (record.dnssec === 'secure') return undefined;
  return record.dnssec === 'insecure'
    ? 'record is DNSSEC-insecure (unsigned, or only unsupported algorithms)'
    : "record not DNSSEC-validated in this process (identity-resolve's validateDnssec is off)";
};

/**
 * Why the client certificate of the request fails the key's pin (`x5t-s256`), or `undefined`. A
 * pin is a promise: a certificate presented against it must match (an unreadable one never does).
 * Without mutual TLS on the endpoint (nothing presented) a pin is not checked, unless
 * `required`; `required` also refuses a key that pins nothing.
 */
const clientCertFailure = (
  key: VerificationKey,
  presented: PresentedClientCert,
  required: boolean,
): string | undefined => {
  const pin = key.certThumbprint;
  if (!presented.presented)
    return required ? 'no client certificate presented (requireClientCert)' : undefined;
  if (pin === undefined)
    return required ? 'the key pins no client certificate (requireClientCert)' : undefined;
  if (presented.thumbprint === undefined) return 'the client certificate does not parse';
  return presented.thumbprint === pin ? undefined : 'the client certificate is not the one the key pins';
};

const NO_CLIENT_CERT: PresentedClientCert = Object.freeze({ presented: false });

/** Settings of {@link CallerVerifier}, validated by the middleware that creates it. */
export interface CallerVerifierSettings {
  /** Canonical name of this function: the audience. */
  readonly audience: string;
  readonly isAllowed: IdentityMatcher;
  readonly requireDnssec: DnssecRequirement;
  /** Deny unless the request presents the client certificate the signing key pins (mutual TLS). */
  readonly requireClientCert: boolean;
  readonly requireBodyHash: boolean;
  readonly maxLifetime: number;
  readonly clockSkew: number;
  readonly replayStore: ReplayStore;
  /** Deny (`key_custody`, 403) a caller whose proving record key does not state this custody (`kc=`). Default: any. */
  readonly requireKeyCustody?: KeyCustody;
  /** Where verified WITs are remembered. Default: a {@link WorkloadIdentityCache} of its own. */
  readonly workloadIdentityCache?: WorkloadIdentityCache;
}

/** What one proof is checked against: the request or message it came with. */
export interface ProofSubject {
  /** The bytes `bh` must cover, read only once the signature verified (see `verifyProof`). */
  readonly body: () => string | Uint8Array | undefined;
  readonly method?: string;
  readonly url?: string;
  /**
   * The mutual TLS client certificate the request came with, read only once the signature
   * verified and only when it matters (a pin, or `requireClientCert`). Absent: none (queues).
   */
  readonly clientCert?: () => PresentedClientCert;
  /** Now, Unix seconds. */
  readonly now: number;
  /**
   * When a queue accepted the message (Unix seconds, set by the queue service): the proof's
   * times are checked at that moment instead of now, so a message may wait in the queue longer
   * than a proof lives, but cannot be enqueued again later.
   */
  readonly enqueuedAt?: number;
  /** How long a jti is kept past `exp + clockSkew` (seconds): queues keep it for their `maxMessageAge`. */
  readonly keepExtra?: number;
  readonly claim: ClaimOptions;
}

/**
 * The checks of one caller's proof against its resolved record (DESIGN §3, §3a, §4.3), Middy-free:
 * key, DNSSEC, proof (signature, audience, times, body, target), client certificate, key custody,
 * policy, then replay. Shared by the per-invocation middleware and the per-record verifier, so
 * both apply the same rules.
 */
export class CallerVerifier {
  readonly #settings: CallerVerifierSettings;
  readonly #wits: WorkloadIdentityCache;

  constructor(settings: CallerVerifierSettings) {
    this.#settings = settings;
    this.#wits = settings.workloadIdentityCache ?? new WorkloadIdentityCache();
  }

  /**
   * Verifies an NHI1 proof (`caller.proof`) against the caller's record.
   * @returns the verified caller.
   * @throws {IdentityError} with the reason of the first failed check. A replay store that cannot
   *   answer is `replayed` with the store's error as data (fail closed); a full one `replay_store_full`.
   */
  async verify(caller: ResolvedIdentity, subject: ProofSubject): Promise<VerifiedIdentity> {
    const settings = this.#settings;
    const { proof } = caller;
    if (proof === undefined) throw new IdentityError('missing_proof', PACKAGE_NAME);
    const key = this.#currentKey(caller, proof.header.kid, subject.now);
    const claims = asDenial(() =>
      verifyProof(proof, {
        key,
        audience: settings.audience,
        maxLifetime: settings.maxLifetime,
        clockSkew: settings.clockSkew,
        requireBodyHash: settings.requireBodyHash,
        now: this.#checkedAt(subject),
        body: subject.body,
        ...(subject.method === undefined ? {} : { method: subject.method }),
        ...(subject.url === undefined ? {} : { url: subject.url }),
      }),
    );
    return this.#admit(caller, key, claims, subject, 'nhi1');
  }

  /**
   * Verifies a WIMSE pair (DESIGN §3a): `caller.proof` is the decoded workload identity token
   * (WIT), `proofToken` the workload proof token (WPT) sent beside it. The WIT's `kid` must be in
   * the record now, not revoked nor expired (checked on every request, also for a remembered
   * WIT); the WIT is verified against that key once per instance and then remembered by its hash
   * until its `exp`; the WPT is verified against the key the WIT confirms. Then the same
   * certificate pin (the WIT key's), key custody, policy and replay (the WPT's `jti`) checks as
   * {@link verify}. With `subject.enqueuedAt`, both tokens' times are checked at that moment, as
   * an NHI1 proof's (the key, now).
   * @returns the verified caller, `credential: 'wit'`.
   * @throws {IdentityError} as {@link verify}; `wrong_token` for a WPT made for another WIT.
   */
  async verifyWorkload(
    caller: ResolvedIdentity,
    proofToken: string,
    subject: ProofSubject,
  ): Promise<VerifiedIdentity> {
    const settings = this.#settings;
    const wit = caller.proof;
    if (wit === undefined) throw new IdentityError('missing_proof', PACKAGE_NAME);
    const key = this.#currentKey(caller, wit.header.kid, subject.now);
    const at = this.#checkedAt(subject);
    // A queued message's WIT is judged when the message was sent, as its WPT is: a WIT renewed at
    // 80 % of its life may expire while its message waits, which is no reason to refuse it.
    const identity = this.#verifiedWit(caller.name, wit, key, at, subject.now);
    const claims = asDenial(() =>
      verifyWorkloadProof(decodeWorkloadProof(proofToken), identity, {
        audience: settings.audience,
        maxLifetime: settings.maxLifetime,
        clockSkew: settings.clockSkew,
        requireBodyHash: settings.requireBodyHash,
        now: at,
        body: subject.body,
        ...(subject.method === undefined ? {} : { method: subject.method }),
        ...(subject.url === undefined ? {} : { url: subject.url }),
      }),
    );
    return this.#admit(caller, key, claims, subject, 'wit');
  }

  /**
   * The record key named by `kid`, usable now: present, DNSSEC as required, not expired. Read on
   * every request, so a key removed from or expired in the record stops its proofs and WITs
   * within the record's TTL.
   */
  #currentKey(caller: ResolvedIdentity, kid: string, now: number): VerificationKey {
    const key = caller.keys.get(kid);
    if (key === undefined) throw new IdentityError('unknown_kid', PACKAGE_NAME);
    const dnssec = dnssecFailure(this.#settings.requireDnssec, caller);
    if (dnssec !== undefined) throw new IdentityError('dnssec_required', PACKAGE_NAME, dnssec);
    // The key must be usable now, whatever moment the proof's times are checked at.
    if (key.expiresAt !== undefined && key.expiresAt <= now) {
      throw new IdentityError('expired_key', PACKAGE_NAME);
    }
    return key;
  }

  /**
   * The moment a proof's times are checked at: when the queue accepted the message, if the
   * subject says so, else now.
   * @throws {IdentityError} `not_yet_valid` for a message enqueued in the future.
   */
  #checkedAt(subject: Pick<ProofSubject, 'now' | 'enqueuedAt'>): number {
    if (subject.enqueuedAt === undefined) return subject.now;
    if (subject.enqueuedAt > subject.now + this.#settings.clockSkew) {
      throw new IdentityError('not_yet_valid', PACKAGE_NAME, 'enqueued in the future');
    }
    return subject.enqueuedAt;
  }

  /**
   * The WIT verified against `key` with its times checked `at`: remembered (no signature check)
   * or verified and remembered, unless it is already expired `now`.
   */
  #verifiedWit(
    issuer: string,
    wit: NonNullable<ResolvedIdentity['proof']>,
    key: VerificationKey,
    at: number,
    now: number,
  ): VerifiedWorkloadIdentity {
    // A remembered WIT skips its signature, not the record: the key must not be revoked now.
    if (key.revoked) throw new IdentityError('revoked_key', PACKAGE_NAME);
    const remembered = this.#wits.recall(issuer, tokenHash(wit.token), key, at);
    if (remembered !== undefined) return remembered;
    const identity = asDenial(() =>
      verifyWorkloadIdentity(wit, { key, now: at, clockSkew: this.#settings.clockSkew }),
    );
    // Only callers the allow list admits take cache room: a refused one must not push out theirs.
    if (this.#settings.isAllowed(issuer)) this.#wits.remember(issuer, identity, now);
    return identity;
  }

  /** The checks after the signatures: certificate pin, key custody, policy, replay. */
  async #admit(
    caller: ResolvedIdentity,
    key: VerificationKey,
    claims: ProofClaims,
    subject: Pick<ProofSubject, 'clientCert' | 'keepExtra' | 'claim'>,
    credential: CallerCredential,
  ): Promise<VerifiedIdentity> {
    const settings = this.#settings;
    // The certificate binding is checked once the proof verified (the pin is the signing key's),
    // and before the replay store: a proof sent over the wrong connection must not burn its jti,
    // so the legitimate holder can still use it over its own.
    if (settings.requireClientCert || key.certThumbprint !== undefined) {
      const mismatch = clientCertFailure(
        key,
        subject.clientCert?.() ?? NO_CLIENT_CERT,
        settings.requireClientCert,
      );
      if (mismatch !== undefined) throw new IdentityError('cert_mismatch', PACKAGE_NAME, mismatch);
    }
    // Custody is policy about a proven caller (403), so it comes after every 401 check, and with
    // the allow list before the replay store, for the same reason as the allow list.
    if (settings.requireKeyCustody !== undefined && key.keyCustody !== settings.requireKeyCustody) {
      throw new IdentityError(
        'key_custody',
        PACKAGE_NAME,
        `the proving key states ${key.keyCustody === undefined ? 'no custody' : `kc=${key.keyCustody}`}, not kc=${settings.requireKeyCustody}`,
      );
    }
    // Policy before the replay store: a refused caller must not fill the store (and push out
    // the jtis of allowed callers) nor cost a DynamoDB write.
    if (!settings.isAllowed(caller.name)) throw new IdentityError('not_allowed', PACKAGE_NAME);
    let fresh: boolean;
    try {
      fresh = await settings.replayStore.claim(
        claims.jti,
        caller.name,
        claims.exp + settings.clockSkew + (subject.keepExtra ?? 0),
        subject.claim,
      );
    } catch (error) {
      // A full in-memory store refuses rather than forget a live jti (503: retry later).
      if (error instanceof NhiError && error.reason === 'replay_store_full') {
        throw new IdentityError('replay_store_full', PACKAGE_NAME, error);
      }
      // A replay store we cannot reach cannot vouch for the jti: fail closed.
      throw new IdentityError('replayed', PACKAGE_NAME, error);
    }
    if (!fresh) throw new IdentityError('replayed', PACKAGE_NAME);
    return {
      name: caller.name,
      service: caller.service,
      environment: caller.environment,
      kid: key.kid,
      credential,
      claims,
      attributes: key.attributes,
    };
  }
}

/** True for a denial worth retrying later: DNS or the replay store failed, not the proof. */
export const isTransientDenial = (error: IdentityError): boolean =>
  error.reason === 'dns_failure' ||
  error.reason === 'replay_store_full' ||
  (error.reason === 'replayed' && error.cause.data !== undefined);

/** Runs proof checks (DESIGN §3, §3a), turning a ProofError into this package's denial. */
const asDenial = <T>(check: () => T): T => {
  try {
    return check();
  } catch (error) {
    if (error instanceof ProofError) throw new IdentityError(error.reason, PACKAGE_NAME, error);
    // Not a verdict on the proof but a bug or a bad setting (e.g. a clock that returns
    // fractions): surface it as an error (a 500), never as a 401 that hides it.
    throw error;
  }
};
