import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, nowSeconds, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import { defaultKid, generateSigningKey, publicKeyFingerprint } from '../keys.js';
import { PROPAGATION_MARGIN_SECONDS, waitForPropagation } from '../negative-cache.js';
import {
  currentRecordOf,
  DEFAULT_TTL,
  type IdentityTarget,
  isUsableKey,
  type RecordUpdateResult,
  readIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { minimumOverlap, overlapLimitsOf } from '../rotation/overlap.js';
import {
  type IgnoredPending,
  planResume,
  publishKey,
  readStoredKey,
  removeExpiredKeys,
  retireOldKeys,
  stageKey,
  switchSigners,
} from '../rotation/steps.js';
import {
  readPendingSigningKey,
  type StagedSigningKey,
  type StoredSigningKey,
  signingKeySecretName,
} from '../secret-store.js';
import { checkKid, checkTarget, checkTtl } from '../validation.js';

export { PROPAGATION_MARGIN_SECONDS } from '../negative-cache.js';
export {
  DEFAULT_MAX_PROOF_LIFETIME,
  DEFAULT_SIGNER_KEY_MAX_AGE,
  minimumOverlap,
} from '../rotation/overlap.js';

/** Checks `--propagation-wait`. @throws {CliError} usage error. */
export const checkPropagationWait = (seconds: number): number => {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw usageError('--propagation-wait must be a whole number of seconds (0 = do not wait)');
  }
  return seconds;
};

/** Options of {@link rotate}. */
export interface RotateOptions extends IdentityTarget, WriteOptions {
  /**
   * Seconds the old keys stay valid once the new key is the secret's current version. At least
   * {@link minimumOverlap}: max(TTL, signer key max age + clock skew) + max proof lifetime, so
   * that every proof signed with an old key has expired before the old key goes.
   */
  readonly overlapSeconds: number;
  /** Longest proof lifetime verifiers accept. Default {@link DEFAULT_MAX_PROOF_LIFETIME}. */
  readonly maxProofLifetimeSeconds?: number;
  /**
   * Longest `keyMaxAge` of the identity's signers (how long a warm signer keeps the key it
   * loaded). Default {@link DEFAULT_SIGNER_KEY_MAX_AGE}.
   */
  readonly signerKeyMaxAgeSeconds?: number;
  /** Largest `clockSkew` the identity's verifiers tolerate. Default {@link DEFAULT_CLOCK_SKEW}. */
  readonly clockSkewSeconds?: number;
  /** Type of the new key. Default `ed25519`. */
  readonly keyType?: KeyType;
  /** Id of the new key. Default: `k` + the UTC time. */
  readonly kid?: string;
  /** Start a rotation although one is still in progress (a key already carries a future `exp`). */
  readonly force?: boolean;
  /**
   * Seconds to wait, once the new key is `INSYNC`, before storing it as the secret's current
   * version: `INSYNC` only means Route 53's servers have the new RRset; resolvers (the VPC
   * resolver, verifiers' own caches) keep serving the previous one, without the new key, until
   * its TTL runs out. Default: the previous RRset's TTL + {@link PROPAGATION_MARGIN_SECONDS}.
   * `0` does not wait.
   */
  readonly propagationWaitSeconds?: number;
}

/** Outcome of starting a rotation. */
export interface RotateStartResult {
  readonly phase: 'started';
  readonly kid: string;
  readonly keyType: KeyType;
  readonly publicKey: string;
  readonly secretName: string;
  /**
   * Absent in a dry run, and when a resumed run found the key already current (an earlier run
   * was interrupted after storing it).
   */
  readonly secret?: Omit<StoredSigningKey, 'secretName'>;
  /**
   * True when this run carried on with the key an interrupted run had generated and staged
   * (`AWSPENDING`) instead of generating one.
   */
  readonly resumed: boolean;
  /** {@link publicKeyFingerprint} of the new key (SHA-256 of its `p=` bytes, base64url). */
  readonly fingerprint: string;
  /**
   * A version found under `AWSPENDING` without rotate's mark (the `nhi:pending` tag), ignored
   * and never published: a new key took over the label. Its kid and fingerprint, when readable.
   */
  readonly ignoredPending?: IgnoredPending;
  /** Seconds waited (in a dry run: to be waited) between `INSYNC` and storing the key. */
  readonly propagationWaitSeconds: number;
  /** The keys being retired: their `exp` is set to {@link finishAfter}. */
  readonly retiring: readonly string[];
  /** Unix seconds after which `rotate --finish` removes the retired keys. */
  readonly finishAfter: number;
  /** Step 1 (new key added) and step 2 (old keys given their `exp`). */
  readonly steps: readonly RecordUpdateResult[];
}

/** Outcome of `rotate --finish`. */
export interface RotateFinishResult {
  readonly phase: 'finished';
  /** Expired keys removed (or to be removed, in a dry run). */
  readonly removed: readonly string[];
  /** Retiring keys whose `exp` has not passed yet, with it. */
  readonly pending: readonly { kid: string; expiresAt: number }[];
  readonly record: RecordUpdateResult;
}

/** Says why a staged version is not resumed: only rotation's mark can vouch for it. */
const warnIgnored = (deps: CommandDeps, pending: IgnoredPending): void => {
  deps.log?.(
    `WARNING: ignoring the version under AWSPENDING (${pending.versionId}` +
      (pending.kid === undefined ? '' : `, key ${pending.kid}, fingerprint ${pending.fingerprint}`) +
      '): rotate did not stage it (no matching nhi:pending mark), so it is neither published nor made ' +
      'current. If no rotate was interrupted between staging and marking, someone who can write this ' +
      'secret planted it: review the secret policy and CloudTrail PutSecretValue events',
  );
};

/**
 * Starts a rotation. The time the old keys go is kept in DNS itself, as their standard `exp=`
 * tag: verifiers stop accepting them at that moment on their own, `rotate --finish` knows what
 * to remove without any state of its own, and anyone can see a rotation in progress with `dig`.
 *
 * The steps are the rotation engine's (`rotation/steps.ts`), each safe to interrupt:
 * {@link planResume} then {@link stageKey} (0: the new private key under `AWSPENDING`, which
 * signers do not read); {@link publishKey} (1: beside the old ones, `INSYNC`, then
 * `propagationWaitSeconds`, the previous TTL + 5 by default, so that resolver caches have dropped
 * the RRset without the new key); {@link switchSigners} (2: `AWSCURRENT` moves onto the staged
 * version, `AWSPREVIOUS` onto the old one); {@link retireOldKeys} (3: `exp = now + overlap` on the
 * old keys).
 *
 * Interrupted before (3), no key has lost validity, and a re-run finds the staged key and,
 * when rotate's mark (the `nhi:pending` tag: version id, kid, public-key fingerprint) names it,
 * carries on with it (`resumed`); an unmarked staged version is ignored (`ignoredPending`) and a
 * fresh key generated. A resumed run publishes nothing new (the key is already there, or is
 * published now), waits the full propagation time again (it cannot know how long ago the key was
 * published), switches and goes on. If the key is already current (interrupted after the
 * switch), the re-run skips the wait and the switch. The rotation only becomes "in progress" at (3).
 */
export const rotate = async (options: RotateOptions, deps: CommandDeps): Promise<RotateStartResult> => {
  checkTarget(options);
  if (options.propagationWaitSeconds !== undefined) checkPropagationWait(options.propagationWaitSeconds);
  const current = await readIdentityRecord(options, deps);
  const now = nowSeconds(deps);
  const previousTtl = current.recordSet.ttl ?? DEFAULT_TTL;
  const ttl = options.ttl === undefined ? previousTtl : checkTtl(options.ttl);
  const limits = overlapLimitsOf(ttl, options);
  const shortest = minimumOverlap(limits);
  if (!Number.isSafeInteger(options.overlapSeconds) || options.overlapSeconds < shortest) {
    throw usageError(
      `--overlap must be at least max(TTL ${ttl}, signer key max age ${limits.signerKeyMaxAge} + clock skew ${limits.clockSkew}) + max proof lifetime ${limits.maxProofLifetime} = ${shortest} seconds`,
    );
  }
  const propagationWait =
    options.propagationWaitSeconds === undefined
      ? previousTtl + PROPAGATION_MARGIN_SECONDS
      : checkPropagationWait(options.propagationWaitSeconds);
  const usable = current.keys.filter((key) => isUsableKey(key, now));
  if (usable.length === 0) {
    throw new CliError('nothing_to_rotate', `${current.name} has no usable key; use keygen`, EXIT_CODE.other);
  }
  const inProgress = usable.find((key) => key.expiresAt !== undefined);
  if (inProgress !== undefined && options.force !== true) {
    throw new CliError(
      'rotation_in_progress',
      `key ${inProgress.kid} already expires at ${inProgress.expiresAt}; run rotate --finish after that (or --force)`,
      EXIT_CODE.other,
    );
  }
  const requestedKid = checkKid(options.kid ?? defaultKid(deps.now()));
  const dryRun = options.dryRun === true;
  const access = {
    secrets: deps.secrets,
    service: options.service,
    environment: options.environment,
    retry: retryOptionsOf(deps),
  };

  // An interrupted run left its key under AWSPENDING: carry on with it rather than make another,
  // but only when rotate itself staged it. Anyone who can write the secret's value can also put
  // a version under AWSPENDING; only rotate's mark (a tag, which PutSecretValue cannot write)
  // names the version, kid and public-key fingerprint it staged.
  const pending = await readPendingSigningKey(access);
  const stored = pending.status === 'marked' ? await readStoredKey(access) : undefined;
  const plan = planResume({ pending, stored, record: current, now });
  if (plan.kind === 'ignored') warnIgnored(deps, plan.pending);
  if (plan.kind === 'resume') {
    deps.log?.(
      `resuming an interrupted rotation with the staged key ${plan.pending.key.kid} ` +
        `(fingerprint ${plan.pending.fingerprint})` +
        (options.kid !== undefined && options.kid !== plan.pending.key.kid
          ? ` (not --kid ${options.kid})`
          : ''),
    );
  }
  const resumed = plan.kind === 'resume' ? plan : undefined;
  if (resumed === undefined && current.keys.some((record) => record.kid === requestedKid)) {
    throw new CliError(
      'kid_conflict',
      `kid ${requestedKid} is already published at ${current.name}; key ids are immutable`,
      EXIT_CODE.other,
    );
  }
  const key = resumed?.pending.key ?? (await generateSigningKey(options.keyType ?? 'ed25519', requestedKid));
  const { kid, keyType } = key;
  let staged: StagedSigningKey | undefined = resumed?.pending;
  if (resumed === undefined && !dryRun) staged = await stageKey(access, key);

  const write = { ...options, ttl };
  const added = await publishKey({ target: options, write, deps, key, usable, current });
  const secretName = signingKeySecretName(options.service, options.environment);
  const alreadyCurrent = resumed?.alreadyCurrent === true;
  let secret: Omit<StoredSigningKey, 'secretName'> | undefined;
  if (!dryRun) {
    if (!alreadyCurrent) {
      await waitForPropagation(
        deps,
        propagationWait,
        `for resolver caches to drop the previous RRset (TTL ${previousTtl} s) before signers switch to ${kid}`,
      );
    }
    secret = await switchSigners({
      access,
      key,
      staged,
      alreadyCurrent,
      unmarkedCurrent: resumed?.unmarkedCurrent,
    });
  }
  const finishAfter = nowSeconds(deps) + options.overlapSeconds;
  const { retiring, update: expired } = await retireOldKeys({
    target: options,
    write,
    deps,
    kid,
    now,
    finishAfter,
    ...(dryRun
      ? { assumed: currentRecordOf({ ...current.recordSet, exists: true, values: added.values }) }
      : {}),
  });
  return {
    phase: 'started',
    kid,
    keyType,
    publicKey: key.publicKey,
    secretName,
    fingerprint: publicKeyFingerprint(key),
    ...(secret === undefined ? {} : { secret }),
    ...(plan.kind === 'ignored' ? { ignoredPending: plan.pending } : {}),
    resumed: resumed !== undefined,
    propagationWaitSeconds: alreadyCurrent ? 0 : propagationWait,
    retiring,
    finishAfter,
    steps: [added, expired],
  };
};

/**
 * Finishes a rotation ({@link removeExpiredKeys}): removes the keys whose `exp` has passed,
 * keeps revoked keys and refuses to leave the name without a usable key. Before the time it
 * removes nothing and reports what is pending, so it is safe to run from a schedule.
 */
export const finishRotation = async (
  options: IdentityTarget & WriteOptions,
  deps: CommandDeps,
): Promise<RotateFinishResult> => {
  checkTarget(options);
  const result = await removeExpiredKeys({ target: options, write: options, deps, now: nowSeconds(deps) });
  return { phase: 'finished', ...result };
};
