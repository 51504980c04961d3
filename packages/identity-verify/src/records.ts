import type { MiddlewareObj, Request } from '@middy/core';
import {
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  aString,
  aStringList,
  attachLambdaContext,
  canonicalName,
  cleanupBeforeEarlyReturn,
  compileAllowList,
  count,
  countWithDimension,
  DEFAULT_CLOCK_SKEW,
  DEFAULT_MAX_LIFETIME,
  decodeProof,
  deny,
  either,
  flushOwnedMetrics,
  IdentityError,
  isDenialReason,
  KID_PATTERN,
  LOG_FIELD,
  lambdaDeadline,
  METRIC,
  MemoryReplayStore,
  NhiError,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  type OptionRules,
  oneOf,
  parseZone,
  type ReplayStore,
  required,
  resolveObservability,
  rethrowDenial,
  tryParseIdentityName,
  validateOptions,
} from '@nhi-dns/core';
import { IdentityDirectory, type IdentityResolveOptions, resolverFrom } from '@nhi-dns/identity-resolve';
import type { Context, SQSBatchItemFailure } from 'aws-lambda';
import {
  CallerVerifier,
  type DnssecRequirement,
  isTransientDenial,
  type VerifiedIdentity,
} from './caller-verifier.js';
import { PACKAGE_NAME } from './package-name.js';
import { type CarriedRecord, carriedRecords, type RecordSourceKind } from './record-sources.js';
import { WorkloadIdentityCache } from './workload-identity-cache.js';

/** Default {@link IdentityVerifyRecordsOptions.maxMessageAge}, seconds. */
export const DEFAULT_MAX_MESSAGE_AGE = 3600;

/** A record whose proof verified, handed to the handler with its caller. */
export interface VerifiedRecord {
  readonly source: RecordSourceKind;
  /** The record as delivered (an SQS or SNS record, or the EventBridge event). */
  readonly record: CarriedRecord['record'];
  /** The service's message id. */
  readonly messageId: string;
  /** The verified producer. */
  readonly caller: VerifiedIdentity;
  /** The bytes the proof covers, as the producer sent them: parse this, not another field. */
  readonly body: string;
}

/** What this middleware adds to the Lambda context (typed through Middy's `use()`). */
export interface IdentityVerifyRecordsContext {
  /** The records whose proofs verified, in delivery order; `event.Records` holds only these too. */
  verifiedRecords: readonly VerifiedRecord[];
}

/** Options of {@link identityVerifyRecords}. Durations are in seconds. */
export interface IdentityVerifyRecordsOptions {
  /** This consumer's identity: the `aud` producers name (the audience identity-sign maps the queue, topic or bus to). */
  self: string;
  /** Zone of the identities; default: the zone of `self`. */
  zone?: string;
  /** Producers allowed, as identity-verify's `allow` (exact names, `*.prod.<zone>`, `billing.*.<zone>`). */
  allow: readonly string[];
  /**
   * Deny producers (`dnssec_required`) whose record is not DNSSEC-authenticated, as identity-verify's
   * `requireDnssec`: `true` asks for the resolver's AD bit, `'validated'` for this middleware's
   * own verdict `secure` (needs `validateDnssec`; without it every producer is refused: fail
   * closed). Default `false`.
   */
  requireDnssec?: DnssecRequirement;
  /** Validate producers' records in-process, as identity-resolve's `validateDnssec`. Default `false`. */
  validateDnssec?: boolean;
  /** Trust anchors of `validateDnssec`, as identity-resolve's. Default: the IANA root KSKs. */
  trustAnchors?: readonly string[];
  /**
   * Deny proofs without `bh`. Default **`true`**: on a queue a proof that does not bind the body
   * could be attached to any other message by whoever may send to the queue.
   */
  requireBodyHash?: boolean;
  /**
   * Deny (`key_custody`, 403) producers whose proving record key (the key that signed the WIT of
   * an `nhiWit` + `nhiProof` pair, or the NHI1 proof) does not state `kc=kms`, as identity-verify's
   * `requireKeyCustody`. Default: unset, any custody.
   */
  requireKeyCustody?: 'kms';
  /**
   * Where verified workload identity tokens are remembered, as identity-verify's option of that
   * name: each distinct WIT costs one signature check per instance, across the records of a batch
   * and across invocations. Default: one per middleware (1 000 WITs, 250 per producer).
   */
  workloadIdentityCache?: WorkloadIdentityCache;
  /** Longest accepted proof lifetime. Default 300. */
  maxLifetime?: number;
  /** Tolerated clock skew. Default 60. */
  clockSkew?: number;
  /**
   * Longest a message may have waited since the queue accepted it (SQS `SentTimestamp`, SNS
   * `Timestamp`), seconds. Default 3600. With `trustEnqueueTime`, proofs are checked at that
   * moment, so a message may wait longer than a proof lives, up to this age, and the replay store
   * keeps each jti this much longer.
   */
  maxMessageAge?: number;
  /**
   * Check a record's proof times at the moment the queue accepted the message (SQS
   * `SentTimestamp`, SNS `Timestamp`) instead of at delivery, so a message may wait longer than
   * its proof lives. Whoever may invoke this function directly can hand it a made-up queue event
   * with any such timestamp and any message id; only a replay store that every instance shares
   * then still knows the jti a fresh instance is offered again. Default: `true` when `replayStore`
   * declares itself shared (`shared: true`, as `DynamoDbReplayStore` does), else `false`: proofs
   * are checked at delivery, and a message that waited longer than its proof lives is `expired`.
   * Set `true` with a per-instance store only when nothing but the event source mapping (or the
   * SNS subscription) may invoke the function; set `false` to check at delivery whatever the store.
   */
  trustEnqueueTime?: boolean;
  /**
   * What happens to an SQS record refused for good (a bad, foreign, replayed or unbound proof):
   * `'report'` (default) lists it in `batchItemFailures`, so the queue retries it until its
   * `maxReceiveCount` moves it to the dead-letter queue, where nothing is lost; `'drop'` lets
   * Lambda delete it (counted as `RecordDropped`, logged), for queues without a DLQ. Records refused
   * for a passing reason (`dns_failure`, `replay_store_full`, an unreachable replay store) are
   * always reported, so they are retried. Needs `ReportBatchItemFailures` on the event source mapping.
   */
  refused?: 'report' | 'drop';
  /**
   * Where used jtis are remembered. Default: an in-memory store per instance, with which proofs
   * are checked at delivery (see `trustEnqueueTime`). A queue whose messages may wait longer than
   * a proof lives needs a store shared by every instance (`DynamoDbReplayStore`).
   */
  replayStore?: ReplayStore;
  /** A resolver or its options. Default: the process-wide resolver identity-resolve uses. */
  resolver?: IdentityResolveOptions['resolver'];
  /** Ask for DNSSEC (DO bit). Default `true`. */
  dnssec?: boolean;
  /** Milliseconds kept back from the Lambda's remaining time for DNS and replay-store deadlines. Default 500. */
  deadlineMargin?: number;
  /** Seconds between two refreshes of one producer's record on an unknown kid. Default 30. */
  unknownKidRefreshInterval?: number;
  logger?: NhiLogger;
  metrics?: NhiMetrics;
  /** Clock, Unix seconds (tests). */
  now?: () => number;
}

/** The middleware {@link identityVerifyRecords} returns. */
export type IdentityVerifyRecordsMiddleware = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the handler's own batch response type.
  any,
  Error,
  Context & IdentityVerifyRecordsContext
>;

const OPTION_RULES: OptionRules = {
  self: required(aString),
  zone: aString,
  allow: required(aStringList),
  requireDnssec: either(aBoolean, oneOf('validated')),
  requireBodyHash: aBoolean,
  requireKeyCustody: oneOf('kms'),
  workloadIdentityCache: {
    allowed: 'a WorkloadIdentityCache',
    test: (value) => value instanceof WorkloadIdentityCache,
  },
  maxLifetime: aNumber(1, { integer: true }),
  clockSkew: aNumber(0, { integer: true }),
  maxMessageAge: aNumber(1, { integer: true, max: 14 * 24 * 3600 }),
  trustEnqueueTime: aBoolean,
  refused: oneOf('report', 'drop'),
  replayStore: {
    allowed: 'a ReplayStore (an object with a claim(jti, issuer, expiresAt) method)',
    test: (value) => typeof (value as { claim?: unknown } | null)?.claim === 'function',
  },
  resolver: anObject,
  dnssec: aBoolean,
  validateDnssec: aBoolean,
  trustAnchors: aStringList,
  deadlineMargin: aNumber(0, { integer: true, unit: 'milliseconds' }),
  unknownKidRefreshInterval: aNumber(0),
  logger: anObject,
  metrics: anObject,
  now: aFunction,
};

/** One record's verdict. */
type Verdict =
  | { readonly ok: true; readonly verified: VerifiedRecord }
  | {
      readonly ok: false;
      readonly carried: CarriedRecord;
      readonly error: IdentityError;
      readonly kid?: string;
      /** What to log as `nhi.detail` when the error carries nothing to describe. */
      readonly detail?: string;
    };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Message ids that occur more than once in one event. A queue or bus never delivers one message
 * twice in the same batch, so such a batch was made up by whoever invoked the function.
 */
const repeatedIds = (records: readonly CarriedRecord[]): ReadonlySet<string> => {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const { messageId } of records) (seen.has(messageId) ? repeated : seen).add(messageId);
  return repeated;
};

/**
 * The verdict on a record whose message id repeats in its batch: every copy is refused
 * (`replayed`), before any lookup or claim, so a made-up batch neither reaches the handler twice
 * nor burns the jti of the real message it copies.
 */
const refuseRepeated = (carried: CarriedRecord): Verdict => ({
  ok: false,
  carried,
  error: new IdentityError('replayed', PACKAGE_NAME),
  detail: 'the message id appears more than once in the batch',
});

const asDenial = (error: unknown): IdentityError => {
  if (error instanceof IdentityError) return error;
  if (error instanceof NhiError && isDenialReason(error.reason))
    return new IdentityError(error.reason, PACKAGE_NAME, error);
  if (error instanceof NhiError) return new IdentityError('malformed_proof', PACKAGE_NAME, error);
  throw error;
};

/**
 * Middy middleware that verifies every record of a queue or bus event on its own (DESIGN §4.3,
 * "Records"): SQS (also SNS → SQS and EventBridge → SQS), SNS and EventBridge. Each record's proof
 * is checked against its own bytes, its producer's DNS record (records of one producer share one
 * lookup), the allow list and the replay store, with its times checked at delivery, or when the
 * queue accepted it under `trustEnqueueTime` (the default with a shared replay store). Records
 * whose message id repeats in the batch are all refused (`replayed`). The handler gets only the
 * verified records (`event.Records` and `context.verifiedRecords`, each with its caller); refused
 * SQS records are answered as a partial batch response (`batchItemFailures`, merged with the
 * handler's own). An SNS or EventBridge event (one record)
 * that fails is thrown as an `IdentityError`, so Lambda's retries and DLQ take it.
 *
 * @throws {NhiError} `invalid_config` at creation for a bad option.
 */
export const identityVerifyRecords = (
  options: IdentityVerifyRecordsOptions,
): IdentityVerifyRecordsMiddleware => {
  validateOptions(PACKAGE_NAME, options, OPTION_RULES);
  const zone = parseZone(options.zone ?? canonicalName(options.self).split('.').slice(2).join('.'));
  const self = tryParseIdentityName(options.self, zone);
  if (self === undefined) {
    throw new NhiError('invalid_config', `${PACKAGE_NAME}: 'self' must be <service>.<environment>.${zone}`);
  }
  const clockSkew = options.clockSkew ?? DEFAULT_CLOCK_SKEW;
  const maxMessageAge = options.maxMessageAge ?? DEFAULT_MAX_MESSAGE_AGE;
  const deadlineMargin = options.deadlineMargin ?? 500;
  const refused = options.refused ?? 'report';
  const maxLifetime = options.maxLifetime ?? DEFAULT_MAX_LIFETIME;
  const replayStore = options.replayStore ?? new MemoryReplayStore({ clockSkew: 0 });
  const trustEnqueueTime = options.trustEnqueueTime ?? replayStore.shared === true;
  // Checking at delivery is the safe default, but it refuses messages that waited longer than
  // their proof lived: say so once per instance, unless the operator chose it or the queue
  // cannot hold a message that long.
  let deliveryTimeWarningDue =
    options.trustEnqueueTime === undefined && !trustEnqueueTime && maxMessageAge > maxLifetime + clockSkew;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let observability: Observability | undefined;
  const telemetry = () => {
    observability ??= resolveObservability(options);
    return observability;
  };
  const directory = new IdentityDirectory({
    zone,
    resolver: resolverFrom(
      options.resolver,
      { validate: options.validateDnssec === true, trustAnchors: options.trustAnchors },
      PACKAGE_NAME,
    ),
    dnssec: options.dnssec ?? true,
    validate: options.validateDnssec === true,
    deadlineMargin,
    unknownKidRefreshInterval: options.unknownKidRefreshInterval ?? 30,
    telemetry,
  });
  // Cold start: with validateDnssec, the zone's keys are fetched while the function initialises.
  directory.prepareValidation();
  const verifier = new CallerVerifier({
    audience: self.name,
    isAllowed: compileAllowList(options.allow, zone),
    requireDnssec: options.requireDnssec ?? false,
    requireBodyHash: options.requireBodyHash ?? true,
    // Queues and buses carry no TLS client certificate: a pin is a promise for mTLS endpoints only.
    requireClientCert: false,
    maxLifetime,
    clockSkew,
    replayStore,
    ...(options.requireKeyCustody === undefined ? {} : { requireKeyCustody: options.requireKeyCustody }),
    ...(options.workloadIdentityCache === undefined
      ? {}
      : { workloadIdentityCache: options.workloadIdentityCache }),
  });
  /** Refused SQS records to report, by invocation, for `after`. */
  const failuresOf = new WeakMap<object, SQSBatchItemFailure[]>();

  const verifyRecord = async (carried: CarriedRecord, context: object, at: number): Promise<Verdict> => {
    let kid: string | undefined;
    try {
      const { pair } = carried;
      if (pair.kind === 'malformed') throw new IdentityError('malformed_proof', PACKAGE_NAME, pair.detail);
      // A WIMSE pair's WIT names issuer and kid, as an NHI1 proof does; the proof token is checked
      // against the key the WIT confirms (the same verifier, cache and rules as HTTP's pair).
      const token = pair.kind === 'pair' ? pair.wit : carried.token;
      if (token === undefined) throw new IdentityError('missing_proof', PACKAGE_NAME);
      if (carried.enqueuedAt !== undefined && at - carried.enqueuedAt > maxMessageAge) {
        throw new IdentityError(
          'expired',
          PACKAGE_NAME,
          `message waited more than maxMessageAge (${maxMessageAge} s)`,
        );
      }
      // The queue's timestamp is honoured only where a made-up one cannot outlive the proof's jti.
      const enqueuedAt = trustEnqueueTime ? carried.enqueuedAt : undefined;
      const proof = decodeProof(token);
      kid = proof.header.kid;
      const resolved = await directory.resolveCaller(proof, context);
      const deadline = lambdaDeadline(context, deadlineMargin);
      const subject = {
        now: at,
        body: () => carried.body,
        ...(enqueuedAt === undefined ? {} : { enqueuedAt, keepExtra: maxMessageAge }),
        claim: { deliveryId: carried.messageId, ...(deadline === undefined ? {} : { deadline }) },
      };
      const caller =
        pair.kind === 'pair'
          ? await verifier.verifyWorkload(resolved, pair.proof, subject)
          : await verifier.verify(resolved, subject);
      return {
        ok: true,
        verified: {
          source: carried.source,
          record: carried.record,
          messageId: carried.messageId,
          caller,
          // verify() required bh unless the option was turned off: the body is what was signed.
          body: carried.body ?? '',
        },
      };
    } catch (error) {
      return { ok: false, carried, error: asDenial(error), ...(kid === undefined ? {} : { kid }) };
    }
  };

  /** Logs and counts one refused record; true when it is reported back to the queue. */
  const reportRefusal = (verdict: Verdict & { ok: false }): boolean => {
    const { error, carried } = verdict;
    const retry = isTransientDenial(error) || refused === 'report';
    const { logger, metrics } = telemetry();
    logger.warn('record refused', {
      [LOG_FIELD.outcome]: 'denied',
      [LOG_FIELD.reason]: error.reason,
      [LOG_FIELD.kid]:
        verdict.kid === undefined || KID_PATTERN.test(verdict.kid) ? verdict.kid : '<invalid kid>',
      'nhi.messageId': carried.messageId,
      'nhi.source': carried.source,
      'nhi.disposition': retry ? 'reported' : 'dropped',
      'nhi.detail':
        error.cause.data instanceof Error
          ? `${error.cause.data.name}: ${error.cause.data.message}`
          : (error.cause.data ?? verdict.detail),
    });
    countWithDimension(metrics, METRIC.authFailure, 'Reason', error.reason);
    if (!retry) countWithDimension(metrics, METRIC.recordDropped, 'Reason', error.reason);
    return retry;
  };

  const before = async (request: Request<unknown, unknown, Error, Context>) => {
    const context = request.context as Context & Partial<IdentityVerifyRecordsContext>;
    attachLambdaContext(telemetry(), context);
    if (deliveryTimeWarningDue) {
      deliveryTimeWarningDue = false;
      telemetry().logger.warn('queue proofs are checked at delivery', {
        'nhi.detail':
          'the replay store is not shared by all instances, so a message that waited longer than its proof lives ' +
          'is refused as expired; give a replayStore shared by every instance (DynamoDbReplayStore) for a queue ' +
          'whose messages may wait, or set trustEnqueueTime: false to keep checking at delivery',
      });
    }
    const carried = carriedRecords(request.event);
    if (carried === undefined) {
      // Not a queue or bus event: nothing here can carry per-record proofs.
      deny(
        request.event,
        new IdentityError('missing_proof', PACKAGE_NAME, 'not an SQS, SNS or EventBridge event'),
        telemetry(),
      );
      return undefined;
    }
    const at = now();
    const repeated = repeatedIds(carried);
    const verdicts = await Promise.all(
      carried.map((record) =>
        repeated.has(record.messageId) ? refuseRepeated(record) : verifyRecord(record, context, at),
      ),
    );
    if (carried[0]!.source !== 'sqs') {
      // One record per SNS or EventBridge invocation: a refusal fails it, for Lambda's retries and DLQ.
      const refusal = verdicts.find((verdict): verdict is Verdict & { ok: false } => !verdict.ok);
      if (refusal !== undefined) {
        deny(request.event, refusal.error, telemetry(), {
          ...(refusal.kid === undefined ? {} : { kid: refusal.kid }),
          fields: {
            'nhi.messageId': refusal.carried.messageId,
            'nhi.source': refusal.carried.source,
            ...(refusal.detail === undefined ? {} : { 'nhi.detail': refusal.detail }),
          },
        });
      }
      for (const _ of verdicts) count(telemetry().metrics, METRIC.authSuccess);
      context.verifiedRecords = verdicts.map((verdict) => (verdict as Verdict & { ok: true }).verified);
      return undefined;
    }
    const verified: VerifiedRecord[] = [];
    const failures: SQSBatchItemFailure[] = [];
    // Message ids reported back; a repeated id is reported once.
    const reportedIds = new Set<string>();
    let reportedRecords = 0;
    for (const verdict of verdicts) {
      if (verdict.ok) {
        verified.push(verdict.verified);
        count(telemetry().metrics, METRIC.authSuccess);
      } else if (reportRefusal(verdict)) {
        reportedRecords += 1;
        const { messageId } = verdict.carried;
        if (!reportedIds.has(messageId)) failures.push({ itemIdentifier: messageId });
        reportedIds.add(messageId);
      }
    }
    telemetry().logger.info('records verified', {
      'nhi.records': verdicts.length,
      'nhi.verified': verified.length,
      'nhi.reported': reportedRecords,
      'nhi.dropped': verdicts.length - verified.length - reportedRecords,
    });
    if (verified.length === 0) {
      await cleanupBeforeEarlyReturn(request, telemetry());
      return { batchItemFailures: failures };
    }
    context.verifiedRecords = verified;
    request.event = { ...(request.event as object), Records: verified.map((record) => record.record) };
    failuresOf.set(context, failures);
    return undefined;
  };

  const after = (request: Request<unknown, unknown, Error, Context>) => {
    const failures = failuresOf.get(request.context) ?? [];
    if (failures.length > 0) {
      const response: unknown = request.response;
      const own =
        isObject(response) && Array.isArray(response.batchItemFailures) ? response.batchItemFailures : [];
      request.response = {
        ...(isObject(response) ? response : {}),
        batchItemFailures: [...own, ...failures],
      };
    }
    if (observability !== undefined) flushOwnedMetrics(observability);
  };

  const onError = async (request: { readonly error?: unknown }) => {
    await rethrowDenial(request, telemetry());
    if (observability !== undefined) flushOwnedMetrics(observability);
  };

  return { name: `${PACKAGE_NAME}/records`, before, after, onError };
};
