/**
 * Remembers proof ids (`jti`) until their proof can no longer be accepted, so each proof is
 * accepted at most once (DESIGN §3).
 */
export interface ReplayStore {
  /**
   * Records `jti` of `issuer` until `expiresAt` (the proof's `exp`, Unix seconds).
   * @param options - `deadline` (ms since epoch): a remote store gives up by then.
   * @returns true when the jti was unseen (and is now recorded), false when it is a replay.
   * @throws when the store cannot answer: the verifier then denies (fail closed).
   */
  claim(jti: string, issuer: string, expiresAt: number, options?: ClaimOptions): boolean | Promise<boolean>;
  /**
   * True when every instance of the function claims in this one store (a DynamoDB table), so a
   * jti one instance recorded is a replay on all of them. Absent or false: the store belongs to
   * one instance, and a fresh instance has seen nothing. identityVerifyRecords trusts the time a
   * queue accepted a message only with a shared store (DESIGN §4.3a): a made-up queue event
   * handed to a fresh instance could otherwise replay a captured proof long after it expired.
   */
  readonly shared?: boolean;
}

/** Per-claim settings the verifier passes to a {@link ReplayStore}. */
export interface ClaimOptions {
  /** Wall-clock time (ms since epoch) by which the claim must be answered: the Lambda's remaining time. */
  readonly deadline?: number;
  /**
   * The queue's id of the message that carries the proof (SQS `messageId`, SNS `MessageId`,
   * EventBridge `id`). A claim of a jti already recorded with the same `deliveryId` is a
   * redelivery of that one message (at-least-once delivery, a failed record retried) and is
   * accepted; the same jti in any other message is a replay. Set only by the service, never by
   * the sender, so a copy sent again gets a new id. Omitted for HTTP and direct invocations.
   */
  readonly deliveryId?: string;
}

/**
 * Default seconds a jti is kept past `exp`. A verifier accepts a proof until `exp + clockSkew`,
 * so a store that forgot the jti at `exp` would let it be replayed for another `clockSkew`.
 */
export const DEFAULT_REPLAY_GRACE = 60;

/** Checks the arguments of {@link ReplayStore.claim}; bad ones are programming errors. */
export const assertClaimArguments = (jti: unknown, issuer: unknown, expiresAt: unknown): void => {
  if (typeof jti !== 'string' || jti === '' || typeof issuer !== 'string' || issuer === '') {
    throw new TypeError('ReplayStore.claim: jti and issuer must be non-empty strings');
  }
  if (!Number.isSafeInteger(expiresAt)) {
    throw new TypeError('ReplayStore.claim: expiresAt must be integer Unix seconds');
  }
};
