/**
 * The Secrets Manager rotation function of secret-held signing keys (DESIGN §4.5): Secrets
 * Manager calls it four times per rotation (`createSecret`, `setSecret`, `testSecret`,
 * `finishSecret`), and each call runs one step of the CLI's rotation engine, so a key rotates the
 * same way from a schedule as from `nhi-dns rotate`.
 *
 * @module
 */

import { Route53Client } from '@aws-sdk/client-route-53';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  type CommandDeps,
  CURRENT_STAGE,
  type CurrentRecord,
  defaultKid,
  describeSecretVersions,
  generateSigningKey,
  type IdentityTarget,
  isUsableKey,
  minimumOverlap,
  overlapLimitsOf,
  PENDING_STAGE,
  type PendingSigningKey,
  publicKeyFingerprint,
  publishKey,
  readIdentityRecord,
  readPendingSigningKey,
  readStoredKey,
  removeExpiredKeys,
  retireOldKeys,
  type SecretAccess,
  type SecretVersions,
  stageKey,
  switchSigners,
  type WriteOptions,
  withRetry,
} from '@nhi-dns/cli';
import {
  attachLambdaContext,
  countWithDimension,
  decodeProof,
  flushOwnedMetrics,
  formatIdentityName,
  importRecordKeys,
  LOG_FIELD,
  METRIC,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  parseRecordSet,
  resolveObservability,
  signProof,
  verifyProof,
} from '@nhi-dns/core';
import { createResolver } from '@nhi-dns/resolver';
import {
  identityOfSecretName,
  type SecretsManagerRotationConfig,
  secretsManagerRotationConfigFromEnv,
} from './secrets-manager-rotation-config.js';
import { SecretsManagerRotationError } from './secrets-manager-rotation-errors.js';

/** The steps of Secrets Manager's rotation protocol, in the order it calls them. */
export const SECRETS_MANAGER_ROTATION_STEPS = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
] as const;

/** One of {@link SECRETS_MANAGER_ROTATION_STEPS}. */
export type SecretsManagerRotationStep = (typeof SECRETS_MANAGER_ROTATION_STEPS)[number];

/**
 * The event Secrets Manager sends a rotation function. `RotationToken` comes with rotations
 * started by a principal of another account; the protocol passes it for the function to forward
 * to Secrets Manager's own checks, and nothing here needs it.
 */
export interface SecretsManagerRotationEvent {
  readonly Step: SecretsManagerRotationStep;
  /** Secret ARN (or name). */
  readonly SecretId: string;
  /** Id of the version this rotation creates. */
  readonly ClientRequestToken: string;
  readonly RotationToken?: string;
}

/** The part of a Lambda context the function uses: the time it has left. */
export interface SecretsManagerRotationContext {
  getRemainingTimeInMillis(): number;
}

/** The part of a resolver testSecret uses (`@nhi-dns/resolver` fits). */
export interface SecretsManagerRotationResolver {
  resolveTxt(name: string): Promise<{ records: string[][] }>;
}

/**
 * Tag on the secret where testSecret keeps, for the version it tests, when DNS first served the
 * key (`<versionId> <unix seconds>`, ` ok` appended once the test passed): the wait for caches
 * survives a step that ran out of time, and finishSecret switches only a tested key.
 */
export const VISIBLE_TAG = 'nhi:visible';

/** Seconds between DNS lookups while testSecret waits for the key. */
export const DEFAULT_VISIBILITY_POLL_INTERVAL = 2;
/**
 * Seconds of an invocation's remaining time no wait may use: the step must still answer
 * Secrets Manager (and write its tag) before Lambda ends it.
 */
export const DEFAULT_DEADLINE_MARGIN = 5;
/** Seconds added to the record's TTL in testSecret's wait, as `rotate` adds to its own. */
export const VISIBILITY_MARGIN = 5;

/** Options of {@link createSecretsManagerRotation}; everything is injectable for tests. */
export interface SecretsManagerRotationOptions {
  /** Settings; default {@link secretsManagerRotationConfigFromEnv} at the first invocation. */
  readonly config?: SecretsManagerRotationConfig;
  /** @default a client of the function's region */
  readonly secrets?: SecretsManagerClient;
  /** @default a client of `us-east-1` (Route 53 is global) */
  readonly route53?: Route53Client;
  /** @default a non-caching resolver of `config.dnsServers`, else `/etc/resolv.conf` */
  readonly resolver?: SecretsManagerRotationResolver;
  /** Current time, milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Waits `ms` milliseconds. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Powertools logger; default core's shared one. */
  readonly logger?: NhiLogger;
  /** Powertools metrics; default core's shared one, flushed after each step. */
  readonly metrics?: NhiMetrics;
  /** @default {@link DEFAULT_VISIBILITY_POLL_INTERVAL} */
  readonly pollIntervalSeconds?: number;
  /** Shortest delay between Route 53 `GetChange` polls while waiting for `INSYNC`, seconds. @default 5 */
  readonly changePollSeconds?: number;
  /** @default {@link DEFAULT_DEADLINE_MARGIN} */
  readonly deadlineMarginSeconds?: number;
}

/** A rotation function: one step per call, as Secrets Manager's protocol drives it. */
export type SecretsManagerRotationHandler = (
  event: SecretsManagerRotationEvent,
  context?: SecretsManagerRotationContext,
) => Promise<void>;

/** What every step works with. */
interface StepContext {
  readonly token: string;
  readonly versions: SecretVersions;
  readonly target: IdentityTarget;
  readonly name: string;
  readonly access: SecretAccess;
  readonly deps: CommandDeps;
  readonly config: SecretsManagerRotationConfig;
  readonly resolver: () => SecretsManagerRotationResolver;
  readonly logger: NhiLogger;
  readonly metrics: NhiMetrics;
  readonly pollIntervalSeconds: number;
  /** How the engine writes to Route 53 in this invocation. */
  readonly write: () => WriteOptions;
  /** Milliseconds (epoch) past which the step must not wait. */
  readonly deadline: number;
  readonly nowSeconds: () => number;
}

const isEvent = (event: unknown): event is SecretsManagerRotationEvent => {
  if (typeof event !== 'object' || event === null) return false;
  const { Step, SecretId, ClientRequestToken } = event as Record<string, unknown>;
  return (
    typeof Step === 'string' &&
    (SECRETS_MANAGER_ROTATION_STEPS as readonly string[]).includes(Step) &&
    typeof SecretId === 'string' &&
    SecretId !== '' &&
    typeof ClientRequestToken === 'string' &&
    /^[A-Za-z0-9-]{32,64}$/.test(ClientRequestToken)
  );
};

const hasStage = (context: StepContext, stage: string): boolean =>
  context.versions.stages[context.token]?.includes(stage) === true;

/**
 * The key this rotation staged under the token's version, checked: the `nhi:pending` mark names
 * it (else it is not ours to publish) and it is still under `AWSPENDING`.
 */
const requireStaged = async (context: StepContext): Promise<PendingSigningKey> => {
  if (context.versions.stages[context.token] === undefined) {
    throw new SecretsManagerRotationError(
      'unknown_version',
      `${context.versions.secretName} has no version ${context.token}`,
    );
  }
  const pending = await readPendingSigningKey(context.access);
  if (pending.status !== 'marked' || pending.versionId !== context.token) {
    throw new SecretsManagerRotationError(
      'not_staged',
      `${context.versions.secretName}: version ${context.token} holds no key createSecret staged and marked`,
    );
  }
  const { status: _status, ...staged } = pending;
  return staged;
};

/** Age of the current signing key, from its version's creation date (no value is logged). */
const recordSigningKeyAge = async (context: StepContext): Promise<void> => {
  const current = await withRetry(
    () =>
      context.access.secrets.send(
        new GetSecretValueCommand({ SecretId: context.versions.secretName, VersionStage: CURRENT_STAGE }),
      ),
    context.access.retry,
  );
  if (current.CreatedDate === undefined) return;
  const age = Math.max(0, context.nowSeconds() - Math.floor(current.CreatedDate.getTime() / 1000));
  context.metrics.addMetric(METRIC.signingKeyAge, 'Seconds', age);
};

/**
 * createSecret: makes the next key (the current key's type) and stages it under `AWSPENDING` as
 * the token's version, with the `nhi:pending` mark `publish` and `rotate` trust. Nothing to do
 * when that version already holds a key it staged. Another rotation's staged key that DNS already
 * publishes is refused (`rotation_pending`: never two pending keys); one never published is
 * replaced, as Secrets Manager moves the label.
 */
const createSecretStep = async (context: StepContext): Promise<void> => {
  if (hasStage(context, CURRENT_STAGE)) return;
  const { access, logger } = context;
  const pending = await readPendingSigningKey(access);
  if (pending.status !== 'none' && pending.versionId === context.token) {
    if (pending.status === 'marked') {
      logger.info('createSecret: the key is already staged', { [LOG_FIELD.kid]: pending.key.kid });
      return;
    }
    throw new SecretsManagerRotationError(
      'unmarked_pending',
      `${context.versions.secretName}: version ${context.token} holds a value without the nhi:pending mark; ` +
        'nothing vouches for it, so it is never published. Cancel this rotation (CancelRotateSecret) and rotate again',
    );
  }
  const record = await readIdentityRecord(context.target, context.deps);
  const now = context.nowSeconds();
  if (pending.status === 'marked') {
    const published = record.keys.find((key) => key.kid === pending.key.kid);
    if (published !== undefined && published.publicKey === pending.key.publicKey) {
      throw new SecretsManagerRotationError(
        'rotation_pending',
        `${context.name}: the key ${pending.key.kid} staged by another rotation (version ${pending.versionId}) ` +
          'is published and not finished; let that rotation finish, or run `nhi-dns rotate` to resume it',
      );
    }
    logger.warn('createSecret: replacing a staged key that was never published', {
      [LOG_FIELD.kid]: pending.key.kid,
      versionId: pending.versionId,
    });
  } else if (pending.status === 'unmarked') {
    logger.warn('createSecret: ignoring an AWSPENDING version without the nhi:pending mark', {
      versionId: pending.versionId,
    });
  }
  if (!record.keys.some((key) => isUsableKey(key, now))) {
    throw new SecretsManagerRotationError(
      'nothing_to_rotate',
      `${context.name} has no usable key; use nhi-dns keygen`,
    );
  }
  await recordSigningKeyAge(context);
  const stored = await readStoredKey(access);
  const kid = defaultKid(context.deps.now());
  if (record.keys.some((key) => key.kid === kid)) {
    throw new SecretsManagerRotationError(
      'kid_conflict',
      `${context.name} already publishes kid ${kid}; try again in a second`,
    );
  }
  const key = await generateSigningKey(stored?.key.keyType ?? 'ed25519', kid);
  const staged = await stageKey(access, key, context.token);
  if (staged === undefined) {
    throw new SecretsManagerRotationError('unknown_version', `${context.versions.secretName} does not exist`);
  }
  logger.info('createSecret: staged the next key', {
    [LOG_FIELD.kid]: kid,
    fingerprint: publicKeyFingerprint(key),
    versionId: staged.versionId,
  });
};

/** Seconds Route 53 may take to be `INSYNC` in this invocation: what is left of it. */
const waitBudget = (context: StepContext): number =>
  Math.max(1, Math.min(300, Math.floor((context.deadline - context.deps.now()) / 1000)));

/**
 * setSecret: publishes the staged key's public half beside the current keys (the engine's
 * publishKey: one Route 53 UPSERT of the merged RRset) and waits for `INSYNC`. A key already
 * published changes nothing.
 */
const setSecretStep = async (context: StepContext): Promise<void> => {
  if (hasStage(context, CURRENT_STAGE)) return;
  const staged = await requireStaged(context);
  const record = await readIdentityRecord(context.target, context.deps);
  const now = context.nowSeconds();
  const update = await publishKey({
    target: context.target,
    write: context.write(),
    deps: context.deps,
    key: staged.key,
    usable: record.keys.filter((key) => isUsableKey(key, now)),
    current: record,
  });
  context.logger.info('setSecret: published the staged key', {
    [LOG_FIELD.kid]: staged.key.kid,
    status: update.status,
  });
};

/** Reads the {@link VISIBLE_TAG} for the token's version. */
const visibleSinceOf = (context: StepContext): { since?: number; tested: boolean } => {
  const [versionId, since, ok] = (context.versions.tags[VISIBLE_TAG] ?? '').split(' ');
  if (versionId !== context.token || since === undefined || !/^\d+$/.test(since)) return { tested: false };
  return { since: Number(since), tested: ok === 'ok' };
};

const writeVisibleTag = async (context: StepContext, value: string): Promise<void> => {
  await withRetry(
    () =>
      context.access.secrets.send(
        new TagResourceCommand({
          SecretId: context.versions.secretName,
          Tags: [{ Key: VISIBLE_TAG, Value: value }],
        }),
      ),
    context.access.retry,
  );
};

/** A key as DNS serves it. */
type ServedKey = ReturnType<typeof parseRecordSet>['keys'][number];

/** What DNS serves under the staged key's kid now: the record, or why it is not there. */
const lookUpKey = async (
  context: StepContext,
  kid: string,
): Promise<{ served?: ServedKey; problem?: string }> => {
  try {
    const answer = await context.resolver().resolveTxt(context.name);
    const served = parseRecordSet(context.name, answer.records).keys.find((key) => key.kid === kid);
    return served === undefined ? { problem: 'not in the answer' } : { served };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
};

/**
 * testSecret: asks DNS (a real resolver: `NHI_DNS_SERVERS` or the VPC's) until it serves the
 * staged key, then keeps it served for the record's TTL + {@link VISIBILITY_MARGIN}, so every
 * cache that held the RRset without it has dropped it; then a proof signed with the staged key
 * must verify (core's verifyProof) against the key DNS serves. The time it was first served is
 * kept on the secret ({@link VISIBLE_TAG}), so a wait longer than this invocation has left fails
 * the step and the next attempt resumes it. Another public key under the kid fails at once.
 */
const testSecretStep = async (context: StepContext): Promise<void> => {
  if (hasStage(context, CURRENT_STAGE)) return;
  const staged = await requireStaged(context);
  const record = await readIdentityRecord(context.target, context.deps);
  if (!record.keys.some((key) => key.kid === staged.key.kid && key.publicKey === staged.key.publicKey)) {
    throw new SecretsManagerRotationError(
      'not_published',
      `${context.name}: Route 53 does not hold ${staged.key.kid}`,
    );
  }
  const ttl = record.recordSet.ttl ?? 300;
  let { since } = visibleSinceOf(context);
  for (;;) {
    const { served, problem } = await lookUpKey(context, staged.key.kid);
    if (served !== undefined && served.publicKey !== staged.key.publicKey) {
      throw new SecretsManagerRotationError(
        'wrong_key',
        `${context.name}: DNS serves another public key under ${staged.key.kid} than the staged one`,
      );
    }
    const now = context.nowSeconds();
    if (served === undefined) {
      if (since !== undefined) {
        // Served once and gone again: caches may hold either answer, so the wait starts over.
        since = undefined;
        await writeVisibleTag(context, '');
      }
    } else if (since === undefined) {
      since = now;
      await writeVisibleTag(context, `${context.token} ${since}`);
      context.logger.info('testSecret: DNS serves the staged key', { [LOG_FIELD.kid]: staged.key.kid, ttl });
    }
    const doneAt = since === undefined ? undefined : since + ttl + VISIBILITY_MARGIN;
    if (doneAt !== undefined && now >= doneAt && served !== undefined) {
      await checkProof(context, staged, served);
      await writeVisibleTag(context, `${context.token} ${since} ok`);
      context.logger.info('testSecret: a proof signed with the staged key verifies against DNS', {
        [LOG_FIELD.kid]: staged.key.kid,
      });
      return;
    }
    const wakeAt = Math.min(doneAt ?? Number.POSITIVE_INFINITY, now + context.pollIntervalSeconds) * 1000;
    if ((doneAt ?? wakeAt / 1000) * 1000 > context.deadline) {
      throw new SecretsManagerRotationError(
        doneAt === undefined ? 'not_visible' : 'out_of_time',
        doneAt === undefined
          ? `${context.name}: DNS does not serve ${staged.key.kid} yet (${problem}); the next attempt asks again`
          : `${context.name}: ${staged.key.kid} must stay served until ${doneAt} (TTL ${ttl} s), after this ` +
              'invocation ends; the next attempt resumes the wait',
      );
    }
    await context.deps.sleep(Math.max(0, wakeAt - context.deps.now()));
  }
};

/** Signs a proof with the staged key and verifies it against the key DNS serves. */
const checkProof = async (
  context: StepContext,
  staged: PendingSigningKey,
  served: ServedKey,
): Promise<void> => {
  const key = importRecordKeys([served]).keys.get(served.kid);
  if (key === undefined) {
    throw new SecretsManagerRotationError(
      'wrong_key',
      `${context.name}: the key DNS serves as ${served.kid} cannot be imported`,
    );
  }
  const now = context.nowSeconds();
  const token = await signProof({
    privateKey: staged.key.privateJwk,
    kid: staged.key.kid,
    iss: context.name,
    aud: context.name,
    now,
    lifetime: Math.max(1, Math.min(60, context.config.maxProofLifetimeSeconds)),
  });
  try {
    verifyProof(decodeProof(token), {
      key,
      audience: context.name,
      now,
      clockSkew: context.config.clockSkewSeconds,
      maxLifetime: context.config.maxProofLifetimeSeconds,
    });
  } catch (error) {
    throw new SecretsManagerRotationError(
      'proof_denied',
      `${context.name}: a proof signed with the staged key ${staged.key.kid} is denied against DNS`,
      { cause: error },
    );
  }
};

/**
 * finishSecret: signers switch (the engine's switchSigners: `AWSCURRENT` moves onto the token's
 * version, `AWSPREVIOUS` onto the old one, marks updated, `AWSPENDING` cleared), then the old keys
 * get `exp` = now + the engine's minimumOverlap (record TTL, signer keyMaxAge + clock skew, max
 * proof lifetime) and keys whose `exp` has passed are removed, never the last usable one. Only a
 * key testSecret passed is switched to. Repeating it after the switch only retires what is not
 * retiring yet and removes what has expired since.
 */
const finishSecretStep = async (context: StepContext): Promise<void> => {
  const { access, logger } = context;
  let kid: string;
  if (hasStage(context, CURRENT_STAGE)) {
    const stored = await readStoredKey(access);
    if (stored === undefined)
      throw new SecretsManagerRotationError('unknown_version', `${context.versions.secretName} is gone`);
    kid = stored.key.kid;
    // An earlier attempt moved the label and was stopped before marking or clearing.
    await switchSigners({
      access,
      key: stored.key,
      staged: hasStage(context, PENDING_STAGE)
        ? { secretName: context.versions.secretName, versionId: context.token }
        : undefined,
      alreadyCurrent: true,
      unmarkedCurrent: stored.marked ? undefined : stored,
    });
  } else {
    const staged = await requireStaged(context);
    if (!visibleSinceOf(context).tested) {
      throw new SecretsManagerRotationError(
        'not_tested',
        `${context.name}: testSecret has not seen ${staged.key.kid} served for the record's TTL; not switching`,
      );
    }
    await switchSigners({ access, key: staged.key, staged, alreadyCurrent: false });
    kid = staged.key.kid;
    logger.info('finishSecret: signers switched to the new key', { [LOG_FIELD.kid]: kid });
  }
  const record: CurrentRecord = await readIdentityRecord(context.target, context.deps);
  const now = context.nowSeconds();
  const overlap = minimumOverlap(overlapLimitsOf(record.recordSet.ttl ?? 300, context.config));
  const write = context.write();
  const { retiring } = await retireOldKeys({
    target: context.target,
    write,
    deps: context.deps,
    kid,
    now,
    finishAfter: now + overlap,
  });
  const { removed, pending } = await removeExpiredKeys({
    target: context.target,
    write,
    deps: context.deps,
    now,
  });
  logger.info('finishSecret: old keys retire after the overlap', {
    [LOG_FIELD.kid]: kid,
    retiring,
    removed,
    expiring: pending,
    overlapSeconds: overlap,
  });
};

const STEP_FUNCTIONS: Record<SecretsManagerRotationStep, (context: StepContext) => Promise<void>> = {
  createSecret: createSecretStep,
  setSecret: setSecretStep,
  testSecret: testSecretStep,
  finishSecret: finishSecretStep,
};

/**
 * Builds a Secrets Manager rotation function for nhi-dns signing keys. Each call runs the step
 * the event names; every step is idempotent and resumable (Secrets Manager retries a failed step
 * and may call one twice), and a failure leaves `AWSCURRENT` and the published record usable.
 * The identity comes from the secret's name (`/<env>/nhi/<service>/signing-key`; others are
 * refused), the zone and limits from {@link SecretsManagerRotationConfig}. Logs name kids,
 * fingerprints and versions, never key material; metrics `SecretsManagerRotationStep` / `RotationFailure`
 * (dimension `Step`) and, at createSecret, `SigningKeyAge`.
 *
 * @example
 * ```ts
 * export const handler = createSecretsManagerRotation({ logger, metrics });
 * ```
 */
export const createSecretsManagerRotation = (
  options: SecretsManagerRotationOptions = {},
): SecretsManagerRotationHandler => {
  let config = options.config;
  let secrets = options.secrets;
  let route53 = options.route53;
  let resolver = options.resolver;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Resolved at the first call, not here: the default handler is built when the package is
  // imported, and importing it must not create a logger (the package is side-effect free).
  let resolved: Observability | undefined;

  return async function secretsManagerRotationStep(event, lambdaContext) {
    resolved ??= resolveObservability({
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
    const observability = resolved;
    const { logger, metrics } = observability;
    attachLambdaContext(observability, lambdaContext);
    const step = isEvent(event) ? event.Step : 'unknown';
    try {
      if (!isEvent(event)) {
        throw new SecretsManagerRotationError(
          'bad_event',
          'not a Secrets Manager rotation event (SecretId, ClientRequestToken, Step)',
        );
      }
      config ??= secretsManagerRotationConfigFromEnv();
      secrets ??= new SecretsManagerClient({});
      route53 ??= new Route53Client({ region: 'us-east-1' });
      const settings = config;
      const deps: CommandDeps = {
        route53,
        secrets,
        now,
        sleep,
        log: (line) => logger.info(line),
      };
      const retry = { sleep };
      const versions = await describeSecretVersions({ secrets, secretId: event.SecretId, retry });
      const identity = identityOfSecretName(versions.secretName);
      const target = { ...identity, zone: settings.zone, hostedZoneId: settings.hostedZoneId };
      const remaining = lambdaContext?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
      const context: StepContext = {
        token: event.ClientRequestToken,
        versions,
        target,
        name: formatIdentityName(target),
        access: { secrets, ...identity, retry },
        deps,
        config: settings,
        resolver: () => {
          resolver ??= createResolver({
            cache: false,
            ...(settings.dnsServers.length === 0 ? {} : { servers: [...settings.dnsServers] }),
          });
          return resolver;
        },
        logger,
        metrics,
        pollIntervalSeconds: options.pollIntervalSeconds ?? DEFAULT_VISIBILITY_POLL_INTERVAL,
        write: () => ({
          waitTimeoutSeconds: waitBudget(context),
          ...(options.changePollSeconds === undefined
            ? {}
            : { pollMinDelaySeconds: options.changePollSeconds }),
        }),
        deadline: now() + remaining - (options.deadlineMarginSeconds ?? DEFAULT_DEADLINE_MARGIN) * 1000,
        nowSeconds: () => Math.floor(now() / 1000),
      };
      logger.info(`rotation step ${event.Step}`, {
        [LOG_FIELD.name]: context.name,
        step: event.Step,
        versionId: event.ClientRequestToken,
      });
      await STEP_FUNCTIONS[event.Step](context);
      countWithDimension(metrics, METRIC.rotationStep, 'Step', event.Step);
    } catch (error) {
      countWithDimension(metrics, METRIC.rotationFailure, 'Step', step);
      logger.error(`rotation step ${step} failed`, {
        step,
        [LOG_FIELD.reason]: error instanceof Error && 'reason' in error ? String(error.reason) : 'error',
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      flushOwnedMetrics(observability);
    }
  };
};

/**
 * The rotation function configured from the environment (`NHI_ZONE`, `NHI_HOSTED_ZONE_ID`,
 * optional `NHI_DNS_SERVERS`, `NHI_SIGNER_KEY_MAX_AGE`, `NHI_CLOCK_SKEW`,
 * `NHI_MAX_PROOF_LIFETIME`): point a Lambda's handler at it. Reads nothing until its first call.
 */
export const secretsManagerRotationHandler: SecretsManagerRotationHandler = createSecretsManagerRotation();
