/**
 * Scheduled rotation of KMS-held identity keys (DESIGN §3a, §4.5): a Lambda handler that an
 * EventBridge Scheduler schedule runs, say daily, with the identity as its input. Each run does at
 * most one step of the CLI's engine (`rotate --kms` or `rotate --kms --finish`), so a key rotates
 * the same way from a schedule as from a terminal, and a run that is repeated does nothing new.
 *
 * @module
 */
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type CommandDeps,
  finishKmsRotation,
  kmsAliasName,
  parseTxtValue,
  readTxtRecordSet,
  rotateKms,
} from '@nhi-dns/cli';
import {
  attachLambdaContext,
  countWithDimension,
  flushOwnedMetrics,
  formatIdentityName,
  type IdentityRecord,
  kidOfKmsKey,
  LOG_FIELD,
  METRIC,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  parseRecordSet,
  resolveObservability,
} from '@nhi-dns/core';
import type { Context } from 'aws-lambda';
import {
  KmsRotationError,
  KmsRotationStateError,
  type KmsRotationStep,
  KmsRotationStepError,
  KmsRotationTimeBudgetError,
} from './kms-rotation-errors.js';
import {
  type KmsRotationEnvironment,
  parseKmsRotationInput,
  type ResolvedKmsRotationInput,
  readKmsRotationEnvironment,
} from './kms-rotation-input.js';

/** Seconds added to the record TTL before signers may use a new key: the CLI's propagation margin. */
export const KMS_ROTATION_PROPAGATION_MARGIN_SECONDS = 5;

/** Default of {@link KmsRotationOptions.insyncTimeoutSeconds}: Route 53 changes are usually INSYNC within a minute. */
export const DEFAULT_KMS_ROTATION_INSYNC_TIMEOUT = 120;

/**
 * Seconds a start needs besides its waits: about ten KMS and Route 53 calls, each retried with
 * backoff on throttling. Part of the time budget checked before anything is created.
 */
export const KMS_ROTATION_CALL_MARGIN_SECONDS = 30;

/** TTL the CLI gives an identity RRset that has none yet (the start reads the real one). */
const FALLBACK_TTL = 300;

const DAY_SECONDS = 86_400;

/** Log fields of a rotation run beside core's `LOG_FIELD`. */
export const KMS_ROTATION_LOG_FIELD = {
  step: 'nhi.step',
  keyAgeSeconds: 'nhi.keyAgeSeconds',
} as const;

/** Options of {@link createKmsRotation}; every one has a default fit for Lambda. */
export interface KmsRotationOptions {
  /** KMS client. Default: a `KMSClient` of the function's region. */
  readonly kms?: KMSClient;
  /** Route 53 client. Default: a `Route53Client` in `us-east-1` (Route 53 is global). */
  readonly route53?: Route53Client;
  /**
   * Secrets Manager client. The KMS steps never call it (the CLI's deps require one).
   * Default: a `SecretsManagerClient`; creating it does no I/O.
   */
  readonly secrets?: SecretsManagerClient;
  /** Current time, ms since the epoch. Default `Date.now`; tests run a rotation over days with it. */
  readonly now?: () => number;
  /** Waits `ms` milliseconds (the propagation wait, retry backoff). Default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where `NHI_ZONE` and `NHI_HOSTED_ZONE_ID` are read, at each run. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Seconds a start waits for each Route 53 change to be `INSYNC`. The start's time budget counts
   * two of them, so a run that would time out fails before it creates anything.
   * @default 120
   */
  readonly insyncTimeoutSeconds?: number;
  /** Powertools logger. Default: nhi-dns' own (service name from `POWERTOOLS_SERVICE_NAME`). */
  readonly logger?: NhiLogger;
  /** Powertools metrics. Default: nhi-dns' own (namespace `NHI`), flushed at the end of each run. */
  readonly metrics?: NhiMetrics;
}

/** Every run names the identity it looked at (`billing.prod.auth.example.com`). */
interface RunOutcome {
  readonly name: string;
}

/** A rotation was started: the alias names `kid`, `retiring` stays published until `finishAfter`. */
export interface KmsRotationStarted extends RunOutcome {
  readonly outcome: 'started';
  readonly kid: string;
  readonly retiring: string;
  /** Unix seconds: the old key's `exp`; a later run finishes the rotation from then on. */
  readonly finishAfter: number;
  /** Age of the key the alias named before, seconds. */
  readonly keyAgeSeconds: number;
}

/** A rotation was finished: expired keys left the record and their KMS deletion is scheduled. */
export interface KmsRotationFinished extends RunOutcome {
  readonly outcome: 'finished';
  readonly removed: readonly string[];
  /** Key ids whose deletion KMS now waits for (30 days). */
  readonly scheduledDeletion: readonly string[];
}

/** A key is retiring and its `exp` is ahead: nothing to do until then. */
export interface KmsRotationPending extends RunOutcome {
  readonly outcome: 'pending';
  readonly retiring: readonly string[];
  /** Unix seconds: the earliest `exp` of the retiring keys. */
  readonly finishAfter: number;
}

/** No key retiring and the alias's key is younger than the rotation period: nothing to do. */
export interface KmsRotationCurrent extends RunOutcome {
  readonly outcome: 'current';
  readonly kid: string;
  readonly keyAgeSeconds: number;
  /** Unix seconds from which a run starts the next rotation. */
  readonly rotateAfter: number;
}

/** What one run did. Failures are thrown as {@link KmsRotationError}. */
export type KmsRotationResult =
  | KmsRotationStarted
  | KmsRotationFinished
  | KmsRotationPending
  | KmsRotationCurrent;

/** The Lambda handler of a scheduled KMS rotation; the event is the schedule's input. */
export type KmsRotationHandler = (event: unknown, context?: Partial<Context>) => Promise<KmsRotationResult>;

/** Everything a run reads before it decides. */
interface IdentityState {
  readonly name: string;
  readonly ttl: number;
  readonly keys: readonly IdentityRecord[];
  /** The kid of the key the alias names. */
  readonly current: string;
  readonly keyAgeSeconds: number;
}

/** Everything a run needs, built once per invocation. */
interface Run {
  readonly input: ResolvedKmsRotationInput;
  readonly target: ResolvedKmsRotationInput & KmsRotationEnvironment;
  readonly deps: CommandDeps;
  readonly observability: Observability;
  readonly nowSeconds: () => number;
  readonly remainingMs: () => number;
  readonly insyncTimeoutSeconds: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one step of the CLI's engine, turning whatever it throws into a typed step failure. */
const step = async <T>(name: KmsRotationStep, identity: string, work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KmsRotationError) throw error;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new KmsRotationStepError(name, `${identity}: the ${name} step failed: ${detail}`, error);
  }
};

/**
 * Reads the identity's RRset from Route 53 (what the engine writes; DNS may lag) and the key the
 * alias names, with its age from KMS `CreationDate`.
 */
const readIdentityState = async (run: Run): Promise<IdentityState> => {
  const { target, deps } = run;
  const name = formatIdentityName(target);
  return step('check', name, async () => {
    const recordSet = await readTxtRecordSet(deps.route53, target.hostedZoneId, name, { sleep: deps.sleep });
    const rrs = recordSet.values.flatMap((value) => {
      const strings = parseTxtValue(value);
      return strings === undefined ? [] : [strings];
    });
    const alias = kmsAliasName(target.service, target.environment);
    const meta = await (deps.kms as KMSClient)
      .send(new DescribeKeyCommand({ KeyId: alias }))
      .then((output) => output.KeyMetadata)
      .catch((error: unknown) => {
        if ((error as { name?: string }).name === 'NotFoundException') return undefined;
        throw error;
      });
    const current = meta?.KeyId === undefined ? undefined : kidOfKmsKey(meta.KeyId);
    if (current === undefined || meta?.CreationDate === undefined) {
      throw new KmsRotationStateError(
        'no_key',
        `${name}: ${alias} names no KMS key; create one with nhi-dns keygen --kms`,
      );
    }
    return {
      name,
      ttl: recordSet.ttl ?? FALLBACK_TTL,
      keys: parseRecordSet(name, rrs).keys,
      current,
      keyAgeSeconds: Math.max(0, run.nowSeconds() - Math.floor(meta.CreationDate.getTime() / 1000)),
    };
  });
};

/** Removes the expired keys and schedules their deletion (`rotate --kms --finish`). */
const finish = async (run: Run, state: IdentityState): Promise<KmsRotationFinished> => {
  const finished = await step('finish', state.name, () =>
    // No INSYNC wait: the keys removed are past their exp, so verifiers refuse them whatever DNS
    // serves, and not waiting means a slow change can never stop the deletion from being scheduled.
    finishKmsRotation({ ...run.target, waitTimeoutSeconds: 0 }, run.deps),
  );
  return {
    outcome: 'finished',
    name: state.name,
    removed: finished.removed,
    scheduledDeletion: finished.scheduledDeletion,
  };
};

/**
 * Starts a rotation (`rotate --kms`) once the time budget allows the whole of it: the propagation
 * wait (record TTL + 5 s), two INSYNC waits and the calls. Checked before the first write, so a
 * run that is too short creates nothing and a later run starts afresh.
 */
const start = async (run: Run, state: IdentityState): Promise<KmsRotationStarted> => {
  const propagationWaitSeconds = state.ttl + KMS_ROTATION_PROPAGATION_MARGIN_SECONDS;
  const neededSeconds =
    propagationWaitSeconds + 2 * run.insyncTimeoutSeconds + KMS_ROTATION_CALL_MARGIN_SECONDS;
  const remainingSeconds = Math.floor(run.remainingMs() / 1000);
  if (remainingSeconds < neededSeconds) {
    throw new KmsRotationTimeBudgetError(
      `${state.name}: a rotation start needs ${neededSeconds} s (record TTL ${state.ttl} s + ` +
        `${KMS_ROTATION_PROPAGATION_MARGIN_SECONDS} s, two INSYNC waits of ${run.insyncTimeoutSeconds} s, ` +
        `${KMS_ROTATION_CALL_MARGIN_SECONDS} s of calls) and ${remainingSeconds} s are left; ` +
        'nothing was created: raise the function timeout (up to 900 s) or lower the TTL',
    );
  }
  const { input } = run;
  const started = await step('start', state.name, () =>
    rotateKms(
      {
        ...run.target,
        signerRoles: input.signerRoles,
        maxWitLifetimeSeconds: input.maxWitLifetime,
        clockSkewSeconds: input.clockSkew,
        propagationWaitSeconds,
        waitTimeoutSeconds: run.insyncTimeoutSeconds,
      },
      run.deps,
    ),
  );
  return {
    outcome: 'started',
    name: state.name,
    kid: started.kid,
    retiring: started.retiring,
    finishAfter: started.finishAfter,
    keyAgeSeconds: state.keyAgeSeconds,
  };
};

/**
 * Decides and does at most one step, in this order:
 * 1. a key retiring and past its `exp` → finish (remove it, schedule its deletion);
 * 2. a key retiring and not yet → nothing (pending): a start now would leave two keys retiring;
 * 3. a KMS key published without `exp` that the alias does not name → fail `stranded_key`: an
 *    interrupted start and a start in progress (an operator's `rotate --kms` in its wait) look the
 *    same, and retiring the wrong one would remove the key signers are about to use;
 * 4. the alias's key older than `rotationDays` → start;
 * 5. else nothing (current).
 */
const decide = async (run: Run, state: IdentityState): Promise<KmsRotationResult> => {
  const now = run.nowSeconds();
  const live = state.keys.filter((key) => key.publicKey !== '');
  const retiring = live.filter((key) => key.expiresAt !== undefined);
  if (retiring.some((key) => (key.expiresAt as number) <= now)) return finish(run, state);
  if (retiring.length > 0) {
    return {
      outcome: 'pending',
      name: state.name,
      retiring: retiring.map((key) => key.kid),
      finishAfter: Math.min(...retiring.map((key) => key.expiresAt as number)),
    };
  }
  const stranded = live.filter((key) => key.kid.startsWith('kms-') && key.kid !== state.current);
  if (stranded.length > 0) {
    throw new KmsRotationStateError(
      'stranded_key',
      `${state.name}: ${stranded.map((key) => key.kid).join(', ')} published without exp but not named by ` +
        `${kmsAliasName(run.input.service, run.input.environment)} (${state.current}): a rotation was interrupted ` +
        'or is running; see the README (Scheduled KMS key rotation) before the next run',
    );
  }
  const periodSeconds = run.input.rotationDays * DAY_SECONDS;
  if (state.keyAgeSeconds >= periodSeconds) return start(run, state);
  return {
    outcome: 'current',
    name: state.name,
    kid: state.current,
    keyAgeSeconds: state.keyAgeSeconds,
    rotateAfter: now - state.keyAgeSeconds + periodSeconds,
  };
};

/** The log line and metrics of a run that did what it decided. */
const report = (observability: Observability, result: KmsRotationResult): void => {
  const { logger, metrics } = observability;
  countWithDimension(metrics, METRIC.rotationStep, 'Step', 'check');
  if (result.outcome === 'started' || result.outcome === 'finished') {
    countWithDimension(
      metrics,
      METRIC.rotationStep,
      'Step',
      result.outcome === 'started' ? 'start' : 'finish',
    );
  }
  const kid = result.outcome === 'started' || result.outcome === 'current' ? result.kid : undefined;
  logger.info(`KMS key rotation: ${result.outcome}`, {
    [LOG_FIELD.name]: result.name,
    [LOG_FIELD.outcome]: result.outcome,
    ...(kid === undefined ? {} : { [LOG_FIELD.kid]: kid }),
    rotation: result,
  });
};

/** The log line and metric of a failed run. */
const reportFailure = (observability: Observability, error: KmsRotationError): void => {
  countWithDimension(observability.metrics, METRIC.rotationFailure, 'Step', error.step);
  const cause = error.cause as { name?: string } | undefined;
  observability.logger.error(error.message, {
    [LOG_FIELD.outcome]: 'failed',
    [LOG_FIELD.reason]: error.reason,
    [KMS_ROTATION_LOG_FIELD.step]: error.step,
    ...(cause?.name === undefined ? {} : { 'aws.code': cause.name }),
  });
};

/**
 * Creates the handler of a scheduled KMS key rotation. Each run reads `NHI_ZONE` and
 * `NHI_HOSTED_ZONE_ID`, checks the schedule's input ({@link KmsRotationInput}), reads the
 * identity's RRset and the alias's key, and then does at most one step (see the README): finish a
 * rotation whose old key expired, start one when the key is older than `rotationDays` and no key
 * is retiring, or nothing. Safe to run daily and to repeat: a second run the same day finds the
 * rotation pending. Emits `RotationStep` and `RotationFailure` (dimension `Step`), and
 * `SigningKeyAge` once per run that could read the alias; logs one line per run, never key
 * material.
 *
 * @throws {KmsRotationError} on every failure, after logging it and counting `RotationFailure`:
 *   Lambda then records the invocation as failed (the Scheduler's retry and dead-letter queue see it).
 *
 * @example
 * ```ts
 * import { createKmsRotation } from '@nhi-dns/rotation';
 * export const handler = createKmsRotation({ insyncTimeoutSeconds: 180 });
 * ```
 */
export const createKmsRotation = (options: KmsRotationOptions = {}): KmsRotationHandler => {
  const kms = options.kms ?? new KMSClient({});
  const route53 = options.route53 ?? new Route53Client({ region: 'us-east-1' });
  const secrets = options.secrets ?? new SecretsManagerClient({});
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const env = options.env ?? process.env;
  const insyncTimeoutSeconds = options.insyncTimeoutSeconds ?? DEFAULT_KMS_ROTATION_INSYNC_TIMEOUT;
  const observability = resolveObservability({
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  const { logger, metrics } = observability;

  return async function kmsRotationRun(event, context = {}) {
    attachLambdaContext(observability, context);
    try {
      const environment = readKmsRotationEnvironment(env);
      const input = parseKmsRotationInput(event);
      const run: Run = {
        input,
        target: { ...input, ...environment },
        deps: {
          kms,
          route53,
          secrets,
          now,
          sleep,
          log: (line) =>
            logger.info(line, { [LOG_FIELD.name]: formatIdentityName({ ...input, ...environment }) }),
        },
        observability,
        nowSeconds: () => Math.floor(now() / 1000),
        // Outside Lambda (a script, a test without a context) there is no deadline to respect.
        remainingMs: () => context.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY,
        insyncTimeoutSeconds,
      };
      const state = await readIdentityState(run);
      metrics.addMetric(METRIC.signingKeyAge, 'Seconds', state.keyAgeSeconds);
      const result = await decide(run, state);
      report(observability, result);
      return result;
    } catch (error) {
      const failure =
        error instanceof KmsRotationError
          ? error
          : new KmsRotationStepError('check', `KMS key rotation failed: ${String(error)}`, error);
      reportFailure(observability, failure);
      throw failure;
    } finally {
      flushOwnedMetrics(observability);
    }
  };
};

let defaultHandler: KmsRotationHandler | undefined;

/**
 * The Lambda entry point of a scheduled KMS rotation with every default
 * (`handler: index.kmsRotationHandler`); {@link createKmsRotation} builds it on the first run, so
 * importing the package creates no client.
 */
export const kmsRotationHandler: KmsRotationHandler = (event, context) => {
  defaultHandler ??= createKmsRotation();
  return defaultHandler(event, context);
};
