import { planPutKey } from '../commands/publish.js';
import type { CommandDeps } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import type { GeneratedSigningKey, PublishedKey } from '../keys.js';
import {
  agreedAttributes,
  type CurrentRecord,
  type IdentityTarget,
  isUsableKey,
  type RecordUpdateResult,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import type { RetryOptions } from '../retry.js';
import { recordInput } from '../route53-rrset.js';
import {
  CURRENT_STAGE,
  type CurrentSigningKey,
  clearPendingStage,
  describeSecretVersions,
  isNotFound,
  makeVersionCurrent,
  markCurrentVersion,
  type PendingLookup,
  type PendingSigningKey,
  readCurrentSigningKey,
  type StagedSigningKey,
  type StoredSigningKey,
  signingKeySecretName,
  stageSigningKey,
  storeSigningKey,
  versionWithStage,
} from '../secret-store.js';

/** How a rotation step reaches the identity's signing-key secret. */
export interface SecretAccess {
  readonly secrets: CommandDeps['secrets'];
  readonly service: string;
  readonly environment: string;
  readonly retry?: RetryOptions;
}

/** A version under `AWSPENDING` that rotation did not stage and so ignores. */
export interface IgnoredPending {
  readonly versionId: string;
  readonly kid?: string;
  readonly fingerprint?: string;
}

/**
 * What to do about the version under `AWSPENDING`, decided by {@link planResume}:
 * - `fresh`: nothing to resume; generate a key.
 * - `ignored`: a version without rotation's mark; never published nor made current, a fresh key
 *   takes the label.
 * - `resume`: carry on with the marked staged key; `alreadyCurrent` when an interrupted run had
 *   already made it current (then `unmarkedCurrent` is set if it was interrupted before marking).
 */
export type ResumePlan =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'ignored'; readonly pending: IgnoredPending }
  | {
      readonly kind: 'resume';
      readonly pending: PendingSigningKey;
      readonly alreadyCurrent: boolean;
      readonly unmarkedCurrent?: CurrentSigningKey;
    };

/**
 * Decides whether a staged key is resumed. Only a version rotation staged and marked (the
 * `nhi:pending` tag names version, kid and fingerprint) is; and only while DNS has nothing that
 * contradicts it: its kid is unpublished (and not the current secret's), or published with the
 * same public key, usable and not retiring. Pure: the caller reads the inputs.
 */
export const planResume = (input: {
  readonly pending: PendingLookup;
  readonly stored: CurrentSigningKey | undefined;
  readonly record: CurrentRecord;
  readonly now: number;
}): ResumePlan => {
  const { pending, stored, record, now } = input;
  if (pending.status === 'none') return { kind: 'fresh' };
  if (pending.status === 'unmarked') {
    return {
      kind: 'ignored',
      pending: {
        versionId: pending.versionId,
        ...(pending.kid === undefined ? {} : { kid: pending.kid }),
        ...(pending.fingerprint === undefined ? {} : { fingerprint: pending.fingerprint }),
      },
    };
  }
  const currentKid = stored?.key.kid;
  const entry = record.keys.find((key) => key.kid === pending.key.kid);
  const resumable =
    entry === undefined
      ? pending.key.kid !== currentKid
      : entry.publicKey === pending.key.publicKey && isUsableKey(entry, now) && entry.expiresAt === undefined;
  if (!resumable) return { kind: 'fresh' };
  // Already current only if the current value is the staged key itself (same public key), not
  // merely one under its kid.
  const alreadyCurrent = currentKid === pending.key.kid && stored?.fingerprint === pending.fingerprint;
  const { status: _status, ...staged } = pending;
  return {
    kind: 'resume',
    pending: staged,
    alreadyCurrent,
    ...(alreadyCurrent && stored !== undefined && !stored.marked ? { unmarkedCurrent: stored } : {}),
  };
};

/**
 * The secret's current version as it is (marked or not), or `undefined` when there is no secret.
 * Rotation only compares it with its staged key; it never publishes it.
 */
export const readStoredKey = async (access: SecretAccess): Promise<CurrentSigningKey | undefined> => {
  try {
    return await readCurrentSigningKey(access);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/**
 * Step 0: stages the new private key under `AWSPENDING` (signers read `AWSCURRENT` and do not
 * see it) and marks it, so an interrupted rotation resumes with the same key. `versionId` is the
 * version to create (Secrets Manager's `ClientRequestToken`). `undefined` when the secret does
 * not exist yet (a key published without the CLI): {@link switchSigners} then creates it.
 */
export const stageKey = async (
  access: SecretAccess,
  key: GeneratedSigningKey,
  versionId?: string,
): Promise<StagedSigningKey | undefined> =>
  stageSigningKey({
    ...access,
    privateJwk: key.privateJwk,
    ...(versionId === undefined ? {} : { versionId }),
  });

/**
 * Step 1: publishes the new key beside the identity's usable keys (Route 53 UPSERT of the merged
 * RRset, with the attributes they all agree on) and waits for `INSYNC`. Publishing a key that is
 * already there with the same public key changes nothing, so the step can be repeated.
 */
export const publishKey = async (input: {
  readonly target: IdentityTarget;
  readonly write: WriteOptions;
  readonly deps: CommandDeps;
  readonly key: Pick<GeneratedSigningKey, 'kid' | 'keyType' | 'publicKey'>;
  /** Keys usable before the rotation: the new key takes the attributes they agree on. */
  readonly usable: CurrentRecord['keys'];
  /** Plan against this state instead of reading Route 53 (a dry run, or a state just read). */
  readonly current?: CurrentRecord;
}): Promise<RecordUpdateResult> => {
  const { target, key } = input;
  return updateIdentityRecord(
    target,
    input.write,
    input.deps,
    (latest) =>
      planPutKey(latest, {
        service: target.service,
        environment: target.environment,
        kid: key.kid,
        keyType: key.keyType,
        publicKey: key.publicKey,
        attributes: agreedAttributes(input.usable.filter((record) => record.kid !== key.kid)),
      }),
    input.current,
  );
};

/**
 * Step 2: signers switch. `AWSCURRENT` moves onto the staged version (`AWSPREVIOUS` follows onto
 * the old one), the version gets the `nhi:current` mark, and the `AWSPENDING` label and
 * `nhi:pending` mark are cleared. Without a staged version (no secret existed) the key is stored
 * as a new secret. A key already current is only marked when an interrupted run left it unmarked.
 * Returns where a newly stored key went, `undefined` when nothing was stored.
 */
export const switchSigners = async (input: {
  readonly access: SecretAccess;
  /** The new key; its private JWK is needed only when no version was staged (a new secret). */
  readonly key: PublishedKey & { readonly privateJwk?: GeneratedSigningKey['privateJwk'] };
  readonly staged: StagedSigningKey | undefined;
  readonly alreadyCurrent: boolean;
  readonly unmarkedCurrent?: CurrentSigningKey | undefined;
}): Promise<Omit<StoredSigningKey, 'secretName'> | undefined> => {
  const { access, key, staged } = input;
  const secretName = signingKeySecretName(access.service, access.environment);
  let stored: Omit<StoredSigningKey, 'secretName'> | undefined;
  if (input.alreadyCurrent) {
    if (input.unmarkedCurrent !== undefined) {
      // Interrupted between storing the key and marking it: mark the version now.
      await markCurrentVersion({
        ...access,
        secretName,
        versionId: input.unmarkedCurrent.versionId,
        key: input.unmarkedCurrent.key,
      });
    }
  } else if (staged === undefined) {
    if (key.privateJwk === undefined) {
      throw new CliError(
        'bad_secret',
        `${secretName}: no staged version and no key to store`,
        EXIT_CODE.other,
      );
    }
    const { secretName: _name, ...created } = await storeSigningKey({
      ...access,
      privateJwk: key.privateJwk,
    });
    stored = created;
  } else {
    const versions = await describeSecretVersions({ ...access, secretId: secretName });
    await makeVersionCurrent({
      ...access,
      secretName,
      versionId: staged.versionId,
      currentVersionId: versionWithStage(versions, CURRENT_STAGE),
      key,
    });
    stored = {
      created: false,
      versionId: staged.versionId,
      ...(versions.arn === undefined ? {} : { arn: versions.arn }),
    };
  }
  if (staged !== undefined) await clearPendingStage({ ...access, secretName, versionId: staged.versionId });
  return stored;
};

/**
 * Step 3: gives every other usable key `exp = finishAfter` (keys already expiring sooner keep
 * their `exp`), so verifiers stop accepting them at that moment on their own. Repeating it with a
 * later `finishAfter` changes nothing: a key that already has an earlier `exp` keeps it.
 */
export const retireOldKeys = async (input: {
  readonly target: IdentityTarget;
  readonly write: WriteOptions;
  readonly deps: CommandDeps;
  /** The new key, which stays. */
  readonly kid: string;
  readonly now: number;
  readonly finishAfter: number;
  /** Plan against this state instead of reading Route 53 (a dry run's later step). */
  readonly assumed?: CurrentRecord;
}): Promise<{ readonly retiring: readonly string[]; readonly update: RecordUpdateResult }> => {
  let retiring: string[] = [];
  const update = await updateIdentityRecord(
    input.target,
    input.write,
    input.deps,
    (latest) => {
      const old = latest.keys.filter(
        (record) =>
          record.kid !== input.kid &&
          isUsableKey(record, input.now) &&
          (record.expiresAt === undefined || record.expiresAt > input.finishAfter),
      );
      retiring = old.map((record) => record.kid);
      return { put: old.map((record) => ({ ...recordInput(record), expiresAt: input.finishAfter })) };
    },
    input.assumed,
  );
  return { retiring, update };
};

/** Outcome of {@link removeExpiredKeys}. */
export interface RemovedKeys {
  /** Expired keys removed (or to be removed, in a dry run). */
  readonly removed: readonly string[];
  /** Retiring keys whose `exp` has not passed yet, with it. */
  readonly pending: readonly { kid: string; expiresAt: number }[];
  readonly record: RecordUpdateResult;
}

/**
 * Step 4: removes the keys whose `exp` has passed (they verify nothing any more), keeps revoked
 * keys (verifiers report `revoked_key` for them), and refuses to leave the name without a usable
 * key (`would_empty`). Before any `exp` it removes nothing, so it is safe to run at any time.
 */
export const removeExpiredKeys = async (input: {
  readonly target: IdentityTarget;
  readonly write: WriteOptions;
  readonly deps: CommandDeps;
  readonly now: number;
}): Promise<RemovedKeys> => {
  const { now } = input;
  let removed: string[] = [];
  let pending: { kid: string; expiresAt: number }[] = [];
  const record = await updateIdentityRecord(input.target, input.write, input.deps, (current) => {
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
  return { removed, pending, record };
};
