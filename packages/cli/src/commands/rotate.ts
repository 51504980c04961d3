import { DEFAULT_CLOCK_SKEW, type KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import { defaultKid, generateSigningKey, publicKeyFingerprint } from '../keys.js';
import { PROPAGATION_MARGIN_SECONDS, waitForPropagation } from '../negative-cache.js';
import {
  agreedAttributes,
  currentRecordOf,
  DEFAULT_TTL,
  type IdentityTarget,
  isUsableKey,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { recordInput } from '../route53-rrset.js';
import {
  type CurrentSigningKey,
  clearPendingStage,
  isNotFound,
  markCurrentVersion,
  type PendingSigningKey,
  readCurrentSigningKey,
  readPendingSigningKey,
  type StagedSigningKey,
  type StoredSigningKey,
  signingKeySecretName,
  stageSigningKey,
  storeSigningKey,
} from '../secret-store.js';
import { checkKid, checkTarget, checkTtl } from '../validation.js';
import { planPutKey } from './publish.js';

/** Default longest lifetime of a proof, in seconds (DESIGN §3 `maxLifetime`). */
export const DEFAULT_MAX_PROOF_LIFETIME = 300;
/**
 * Default of {@link RotateOptions.signerKeyMaxAgeSeconds}: identity-sign's default `keyMaxAge`,
 * how long a warm signer keeps using the key it loaded.
 */
export const DEFAULT_SIGNER_KEY_MAX_AGE = 60;

/**
 * Shortest overlap {@link rotate} accepts. The old keys get `exp = now + overlap` once the new key
 * is the secret's current version; warm signers keep the old key up to their `keyMaxAge`, a
 * proof they sign then lives up to the max proof lifetime, and verifiers accept it up to their
 * clock skew past its `exp`: the old key must outlive all three, or the last of those proofs is
 * denied `expired_key`. Never shorter than the RRset's TTL + the max proof lifetime (the rule
 * before the signer's cache was counted).
 */
export const minimumOverlap = (limits: {
  readonly ttl: number;
  readonly maxProofLifetime: number;
  readonly signerKeyMaxAge: number;
  readonly clockSkew: number;
}): number => Math.max(limits.ttl, limits.signerKeyMaxAge + limits.clockSkew) + limits.maxProofLifetime;

export { PROPAGATION_MARGIN_SECONDS } from '../negative-cache.js';

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
  readonly ignoredPending?: {
    readonly versionId: string;
    readonly kid?: string;
    readonly fingerprint?: string;
  };
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

const nowSeconds = (deps: CommandDeps): number => Math.floor(deps.now() / 1000);

/**
 * The secret's current version as it is (marked or not), or `undefined` when there is no
 * secret. Rotate only compares it with its staged key; it never publishes it.
 */
const currentSecret = async (
  access: Parameters<typeof readCurrentSigningKey>[0],
): Promise<CurrentSigningKey | undefined> => {
  try {
    return await readCurrentSigningKey(access);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/**
 * Starts a rotation. The time the old keys go is kept in DNS itself, as their standard `exp=`
 * tag: verifiers stop accepting them at that moment on their own, `rotate --finish` knows what
 * to remove without any state of its own, and anyone can see a rotation in progress with `dig`.
 *
 * Steps, each safe to interrupt: (0) stage the new private key in the secret under
 * `AWSPENDING` (signers read `AWSCURRENT` and do not see it); (1) publish the new key next to
 * the old ones and wait for `INSYNC`, then wait `propagationWaitSeconds` (the previous TTL + 5
 * by default) so that resolver caches have dropped the RRset without the new key; (2) store
 * the new private key as the secret's current version (signers switch) and drop the
 * `AWSPENDING` label; (3) set `exp = now + overlap` on the old keys.
 *
 * Interrupted before (3), no key has lost validity, and a re-run finds the staged key and,
 * when rotate's mark (the `nhi:pending` tag: version id, kid, public-key fingerprint) names it,
 * carries on with it (`resumed`); an unmarked staged version is ignored (`ignoredPending`) instead of generating a second one: it publishes nothing new
 * (the key is already there, or is published now), waits the full propagation time again (it
 * cannot know how long ago the key was published), stores it and goes on. If the key is
 * already current (interrupted after storing it), the re-run skips the wait and the store.
 * The rotation only becomes "in progress" at (3).
 */
export const rotate = async (options: RotateOptions, deps: CommandDeps): Promise<RotateStartResult> => {
  checkTarget(options);
  if (options.propagationWaitSeconds !== undefined) checkPropagationWait(options.propagationWaitSeconds);
  const current = await readIdentityRecord(options, deps);
  const now = nowSeconds(deps);
  const previousTtl = current.recordSet.ttl ?? DEFAULT_TTL;
  const ttl = options.ttl === undefined ? previousTtl : checkTtl(options.ttl);
  const maxProofLifetime = options.maxProofLifetimeSeconds ?? DEFAULT_MAX_PROOF_LIFETIME;
  const signerKeyMaxAge = options.signerKeyMaxAgeSeconds ?? DEFAULT_SIGNER_KEY_MAX_AGE;
  const clockSkew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW;
  const shortest = minimumOverlap({ ttl, maxProofLifetime, signerKeyMaxAge, clockSkew });
  if (!Number.isSafeInteger(options.overlapSeconds) || options.overlapSeconds < shortest) {
    throw usageError(
      `--overlap must be at least max(TTL ${ttl}, signer key max age ${signerKeyMaxAge} + clock skew ${clockSkew}) + max proof lifetime ${maxProofLifetime} = ${shortest} seconds`,
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
  let resumed: PendingSigningKey | undefined;
  let ignoredPending: RotateStartResult['ignoredPending'];
  let alreadyCurrent = false;
  let alreadyCurrentUnmarked: CurrentSigningKey | undefined;
  const pending = await readPendingSigningKey(access);
  if (pending.status === 'unmarked') {
    ignoredPending = {
      versionId: pending.versionId,
      ...(pending.kid === undefined ? {} : { kid: pending.kid }),
      ...(pending.fingerprint === undefined ? {} : { fingerprint: pending.fingerprint }),
    };
    deps.log?.(
      `WARNING: ignoring the version under AWSPENDING (${pending.versionId}` +
        (pending.kid === undefined ? '' : `, key ${pending.kid}, fingerprint ${pending.fingerprint}`) +
        '): rotate did not stage it (no matching nhi:pending mark), so it is neither published nor made ' +
        'current. If no rotate was interrupted between staging and marking, someone who can write this ' +
        'secret planted it: review the secret policy and CloudTrail PutSecretValue events',
    );
  }
  if (pending.status === 'marked') {
    const stored = await currentSecret(access);
    const currentKid = stored?.key.kid;
    const entry = current.keys.find((record) => record.kid === pending.key.kid);
    const resumable =
      entry === undefined
        ? pending.key.kid !== currentKid
        : entry.publicKey === pending.key.publicKey &&
          isUsableKey(entry, now) &&
          entry.expiresAt === undefined;
    if (resumable) {
      resumed = pending;
      // Already current only if the current value is the staged key itself (same public key),
      // not merely one under its kid.
      alreadyCurrent = currentKid === pending.key.kid && stored?.fingerprint === pending.fingerprint;
      if (alreadyCurrent && stored !== undefined && !stored.marked) alreadyCurrentUnmarked = stored;
      deps.log?.(
        `resuming an interrupted rotation with the staged key ${pending.key.kid} ` +
          `(fingerprint ${pending.fingerprint})` +
          (options.kid !== undefined && options.kid !== pending.key.kid ? ` (not --kid ${options.kid})` : ''),
      );
    }
  }
  if (resumed === undefined && current.keys.some((record) => record.kid === requestedKid)) {
    throw new CliError(
      'kid_conflict',
      `kid ${requestedKid} is already published at ${current.name}; key ids are immutable`,
      EXIT_CODE.other,
    );
  }
  const key = resumed?.key ?? (await generateSigningKey(options.keyType ?? 'ed25519', requestedKid));
  const { kid, keyType } = key;
  let staged: StagedSigningKey | undefined = resumed;
  if (resumed === undefined && !dryRun) {
    staged = await stageSigningKey({ ...access, privateJwk: key.privateJwk });
  }

  const write = { ...options, ttl };
  const added = await updateIdentityRecord(
    options,
    write,
    deps,
    (latest) =>
      planPutKey(latest, {
        service: options.service,
        environment: options.environment,
        kid,
        keyType,
        publicKey: key.publicKey,
        attributes: agreedAttributes(usable.filter((record) => record.kid !== kid)),
      }),
    current,
  );
  const secretName = signingKeySecretName(options.service, options.environment);
  let secret: Omit<StoredSigningKey, 'secretName'> | undefined;
  if (!dryRun) {
    if (!alreadyCurrent) {
      await waitForPropagation(
        deps,
        propagationWait,
        `for resolver caches to drop the previous RRset (TTL ${previousTtl} s) before signers switch to ${kid}`,
      );
      const { secretName: _name, ...stored } = await storeSigningKey({
        ...access,
        privateJwk: key.privateJwk,
      });
      secret = stored;
    } else if (alreadyCurrentUnmarked !== undefined) {
      // Interrupted between storing the key and marking it: mark the version now.
      await markCurrentVersion({
        ...access,
        secretName,
        versionId: alreadyCurrentUnmarked.versionId,
        key: alreadyCurrentUnmarked.key,
      });
    }
    if (staged !== undefined) {
      await clearPendingStage({ ...access, secretName, versionId: staged.versionId });
    }
  }
  const finishAfter = nowSeconds(deps) + options.overlapSeconds;
  let retiring: string[] = [];
  const expired = await updateIdentityRecord(
    options,
    write,
    deps,
    (latest) => {
      const old = latest.keys.filter(
        (record) =>
          record.kid !== kid &&
          isUsableKey(record, now) &&
          (record.expiresAt === undefined || record.expiresAt > finishAfter),
      );
      retiring = old.map((record) => record.kid);
      return { put: old.map((record) => ({ ...recordInput(record), expiresAt: finishAfter })) };
    },
    dryRun ? currentRecordOf({ ...current.recordSet, exists: true, values: added.values }) : undefined,
  );
  return {
    phase: 'started',
    kid,
    keyType,
    publicKey: key.publicKey,
    secretName,
    fingerprint: publicKeyFingerprint(key),
    ...(secret === undefined ? {} : { secret }),
    ...(ignoredPending === undefined ? {} : { ignoredPending }),
    resumed: resumed !== undefined,
    propagationWaitSeconds: alreadyCurrent ? 0 : propagationWait,
    retiring,
    finishAfter,
    steps: [added, expired],
  };
};

/**
 * Finishes a rotation: removes the keys whose `exp` has passed (they verify nothing any more),
 * keeps revoked keys (verifiers report `revoked_key` for them) and refuses to leave the name
 * without a usable key. Before the time it removes nothing and reports what is pending, so it
 * is safe to run from a schedule.
 */
export const finishRotation = async (
  options: IdentityTarget & WriteOptions,
  deps: CommandDeps,
): Promise<RotateFinishResult> => {
  checkTarget(options);
  const now = nowSeconds(deps);
  let removed: string[] = [];
  let pending: { kid: string; expiresAt: number }[] = [];
  const record = await updateIdentityRecord(options, options, deps, (current) => {
    const expired = current.keys.filter(
      (key) => key.publicKey !== '' && key.expiresAt !== undefined && key.expiresAt <= now,
    );
    pending = current.keys.flatMap((key) =>
      key.publicKey !== '' && key.expiresAt !== undefined && key.expiresAt > now
        ? [{ kid: key.kid, expiresAt: key.expiresAt }]
        : [],
    );
    if (expired.length > 0 && !current.keys.some((key) => isUsableKey(key, now))) {
      throw new CliError(
        'would_empty',
        `${current.name} has no usable key left; removing the expired ones would leave it without any. Run keygen first`,
        EXIT_CODE.other,
      );
    }
    removed = expired.map((key) => key.kid);
    return { remove: removed };
  });
  return { phase: 'finished', removed, pending, record };
};
