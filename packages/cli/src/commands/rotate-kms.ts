import {
  DescribeKeyCommand,
  type KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { DEFAULT_CLOCK_SKEW, type KeyType, kidOfKmsKey, MAX_WIT_LIFETIME } from '@nhi-dns/core';
import { type CommandDeps, kmsOf, nowSeconds } from '../deps.js';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import {
  createLockedKmsKey,
  grantKmsSign,
  KMS_IDENTITY_TAG,
  kmsAliasName,
  kmsAliasTarget,
  readKmsPublicKey,
} from '../kms-key.js';
import { PROPAGATION_MARGIN_SECONDS, waitForPropagation } from '../negative-cache.js';
import {
  DEFAULT_TTL,
  type IdentityTarget,
  isUsableKey,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { recordInput } from '../route53-rrset.js';
import { checkTarget } from '../validation.js';
import { publishKmsKey } from './keygen-kms.js';
import { checkPropagationWait, finishRotation, type RotateFinishResult } from './rotate.js';

/** Default of {@link FinishKmsRotationOptions.deletionWindowDays}: KMS's longest waiting period. */
export const DEFAULT_KMS_DELETION_WINDOW_DAYS = 30;

/**
 * How long the old KMS key stays published once the alias names the new one: a signer may have
 * minted a WIT with the old key just before the alias moved, and that WIT (and the WPTs bound to
 * it) is valid for its lifetime, plus the verifiers' clock skew. WPTs die with their WIT.
 */
export const kmsRotationOverlap = (limits: {
  readonly maxWitLifetime: number;
  readonly clockSkew: number;
}): number => limits.maxWitLifetime + limits.clockSkew;

/** Options of {@link rotateKms}. */
export interface RotateKmsOptions extends IdentityTarget, WriteOptions {
  /** IAM role ARNs that may sign with the new key (the workload's function roles); at least one. */
  readonly signerRoles: readonly string[];
  /** IAM role ARNs that alone may change the key policy and alias (recommended; see `kmsKeyPolicy`). */
  readonly adminRoles?: readonly string[];
  /** Type of the new key. Default: the current key's. */
  readonly keyType?: KeyType;
  /**
   * Longest `witLifetime` of the identity's signers, seconds. Default the ceiling, 86 400: a signer
   * may be configured up to it, and retiring the old key before its last WIT expires would refuse
   * that signer until it renews. Give the real value (identity-sign's default is 3600) to shorten it.
   */
  readonly maxWitLifetimeSeconds?: number;
  /** Largest `clockSkew` of the identity's verifiers, seconds. Default 60. */
  readonly clockSkewSeconds?: number;
  /** Seconds to wait after `INSYNC` before the signers may use the new key. Default: the TTL + 5. */
  readonly propagationWaitSeconds?: number;
}

/** Outcome of {@link rotateKms}. */
export interface RotateKmsResult {
  readonly phase: 'started';
  /** The new key's kid, ARN and alias (which now names it). */
  readonly kid: string;
  readonly keyArn: string;
  readonly alias: string;
  /** The kid of the key the alias named before, now retiring. */
  readonly retiring: string;
  /** Unix seconds: the old key's `exp`; `rotate --kms --finish` removes it from then on. */
  readonly finishAfter: number;
  readonly propagationWaitSeconds: number;
  readonly steps: readonly RecordUpdateResult[];
}

/**
 * Rotates a KMS-held identity key (DESIGN §3a, §4.5). In order, so that no WIT is ever refused:
 * create the next key with a policy that lets no one sign; publish it beside the current one and
 * wait for `INSYNC` and resolver caches; grant `kms:Sign` to the signer roles; move
 * `alias/nhi/<env>/<service>` to it (signers follow the alias at their next WIT); give the old key
 * `exp` = now + {@link kmsRotationOverlap}, after which `rotate --kms --finish` removes it and
 * schedules its deletion. Refused while a rotation is pending (an old key still has an `exp`
 * ahead), so two runs never leave two retiring keys.
 *
 * @throws {CliError} `kms_no_key` when the alias names no key, `kms_key_unpublished` when its key
 *   is not in the record, `rotation_in_progress` when one is pending (all exit 4).
 */
export const rotateKms = async (options: RotateKmsOptions, deps: CommandDeps): Promise<RotateKmsResult> => {
  checkTarget(options);
  if (options.dryRun === true) throw usageError('rotate --kms has no dry run: it creates a KMS key');
  const maxWitLifetime = options.maxWitLifetimeSeconds ?? MAX_WIT_LIFETIME;
  if (!Number.isSafeInteger(maxWitLifetime) || maxWitLifetime < 1 || maxWitLifetime > MAX_WIT_LIFETIME) {
    throw usageError(`--max-wit-lifetime must be 1..${MAX_WIT_LIFETIME} seconds`);
  }
  const clockSkew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW;
  const requestedWait =
    options.propagationWaitSeconds === undefined
      ? undefined
      : checkPropagationWait(options.propagationWaitSeconds);
  const kms = kmsOf(deps);
  const alias = kmsAliasName(options.service, options.environment);
  const oldKid = kidOfKmsKey((await kmsAliasTarget(kms, alias)) ?? '');
  if (oldKid === undefined) {
    throw new CliError(
      'kms_no_key',
      `${alias} names no KMS key: create one with keygen --kms`,
      EXIT_CODE.other,
    );
  }
  const current = await readIdentityRecord(options, deps);
  const now = nowSeconds(deps);
  const published = current.keys.find((key) => key.kid === oldKid);
  if (published === undefined || !isUsableKey(published, now)) {
    throw new CliError(
      'kms_key_unpublished',
      `${current.name} does not publish a usable ${oldKid} (the key ${alias} names): publish --kms-key-id ${alias} first`,
      EXIT_CODE.other,
    );
  }
  const retiringAlready = current.keys.filter((key) => isUsableKey(key, now) && key.expiresAt !== undefined);
  if (retiringAlready.length > 0) {
    throw new CliError(
      'rotation_in_progress',
      `${current.name} has keys retiring (${retiringAlready.map((key) => key.kid).join(', ')}): run rotate --kms --finish after they expire`,
      EXIT_CODE.other,
    );
  }
  const keyType = options.keyType ?? published.keyType;
  const next = await createLockedKmsKey({
    kms,
    name: current.name,
    keyType,
    signerRoles: options.signerRoles,
    ...(options.adminRoles === undefined ? {} : { adminRoles: options.adminRoles }),
  });
  deps.log?.(`created KMS key ${next.keyArn}; no one may sign with it until it is in DNS`);
  const added = await publishKmsKey(options, deps, next);
  const propagationWait =
    requestedWait ?? (current.recordSet.ttl ?? DEFAULT_TTL) + PROPAGATION_MARGIN_SECONDS;
  await waitForPropagation(
    deps,
    propagationWait,
    `for resolver caches to see ${next.kid} before signers may use it`,
  );
  await grantKmsSign(kms, next.keyArn, {
    signerRoles: options.signerRoles,
    ...(options.adminRoles === undefined ? {} : { adminRoles: options.adminRoles }),
  });
  await kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: next.keyArn }));
  deps.log?.(`${alias} now names ${next.kid}; signers switch at their next WIT`);
  const finishAfter = nowSeconds(deps) + kmsRotationOverlap({ maxWitLifetime, clockSkew });
  const expired = await updateIdentityRecord(options, options, deps, (latest) => {
    const retiring = latest.keys.find((key) => key.kid === oldKid);
    return retiring === undefined ? {} : { put: [{ ...recordInput(retiring), expiresAt: finishAfter }] };
  });
  return {
    phase: 'started',
    kid: next.kid,
    keyArn: next.keyArn,
    alias,
    retiring: oldKid,
    finishAfter,
    propagationWaitSeconds: propagationWait,
    steps: [added, expired],
  };
};

/**
 * Whether the KMS key is this identity's: tagged for `name` (`nhi:identity`, as every nhi-dns path
 * tags the keys it creates) with `publicKey` as its public half, as the record publishes it.
 */
const keyOfIdentity = async (
  kms: KMSClient,
  keyId: string,
  name: string,
  publicKey: string,
): Promise<'ours' | 'pending-deletion' | 'not-ours'> => {
  try {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    // Already scheduled by an earlier finish that failed before the record changed.
    if (KeyMetadata?.KeyState === 'PendingDeletion') return 'pending-deletion';
    const { Tags = [] } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    if (!Tags.some((tag) => tag.TagKey === KMS_IDENTITY_TAG && tag.TagValue === name)) return 'not-ours';
    return (await readKmsPublicKey(kms, keyId)).publicKey === publicKey ? 'ours' : 'not-ours';
  } catch {
    // A key we cannot read (gone, disabled, no permission) is not one we delete.
    return 'not-ours';
  }
};

/** Options of {@link finishKmsRotation}. */
export interface FinishKmsRotationOptions extends IdentityTarget, WriteOptions {
  /** Days KMS waits before it deletes a retired key (7..30). Default 30. */
  readonly deletionWindowDays?: number;
}

/** Outcome of {@link finishKmsRotation}. */
export interface FinishKmsRotationResult extends RotateFinishResult {
  /** ARNs or ids of the retired KMS keys whose deletion was scheduled. */
  readonly scheduledDeletion: readonly string[];
}

/**
 * Finishes a KMS rotation: removes the keys whose `exp` has passed (as `rotate --finish`), then
 * schedules the deletion of each removed `kms-<key id>` key, never of the key the alias names.
 * Before the time it removes and schedules nothing, so it is safe to run from a schedule.
 */
export const finishKmsRotation = async (
  options: FinishKmsRotationOptions,
  deps: CommandDeps,
): Promise<FinishKmsRotationResult> => {
  const days = options.deletionWindowDays ?? DEFAULT_KMS_DELETION_WINDOW_DAYS;
  if (!Number.isSafeInteger(days) || days < 7 || days > 30)
    throw usageError('--deletion-window-days must be 7..30');
  const kms = kmsOf(deps);
  const aliasTarget = await kmsAliasTarget(kms, kmsAliasName(options.service, options.environment));
  // Deletion is scheduled before the RR goes: a KMS key pending deletion can no longer sign, and if
  // the record change then fails or times out, the next finish removes the RR; the other order
  // could leave a removed key that no later run would ever find to delete.
  const now = nowSeconds(deps);
  const current = await readIdentityRecord(options, deps);
  const scheduledDeletion: string[] = [];
  for (const key of current.keys) {
    const keyId = key.kid.startsWith('kms-') ? key.kid.slice(4) : undefined;
    const expired = key.publicKey !== '' && key.expiresAt !== undefined && key.expiresAt <= now;
    if (keyId === undefined || !expired || keyId === aliasTarget || options.dryRun === true) continue;
    // Only a key of this identity: whoever may write this name's RRs must not get another
    // workload's key deleted by naming it here. The tag and the public key must both agree.
    const owner = await keyOfIdentity(kms, keyId, current.name, key.publicKey);
    if (owner === 'not-ours') {
      deps.log?.(
        `WARNING: ${key.kid} is not a KMS key of ${current.name} (tag or public key differ): not deleted`,
      );
      continue;
    }
    if (owner === 'pending-deletion') {
      scheduledDeletion.push(keyId);
      continue;
    }
    try {
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: days }));
    } catch (error) {
      // Already pending deletion: an earlier finish got this far and then failed.
      if ((error as { name?: string }).name !== 'KMSInvalidStateException') throw error;
    }
    scheduledDeletion.push(keyId);
    deps.log?.(`scheduled the deletion of KMS key ${keyId} in ${days} days`);
  }
  const finished = await finishRotation(options, deps);
  return { ...finished, scheduledDeletion };
};
