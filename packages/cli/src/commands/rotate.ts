import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import { checkKid, defaultKid, generateSigningKey } from '../keys.js';
import {
  agreedAttributes,
  checkTtl,
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
import { type StoredSigningKey, signingKeySecretName, storeSigningKey } from '../secret-store.js';
import { planPutKey } from './publish.js';

/** Default longest lifetime of a proof, in seconds (DESIGN §3 `maxLifetime`). */
export const DEFAULT_MAX_PROOF_LIFETIME = 300;

/** Options of {@link rotate}. */
export interface RotateOptions extends IdentityTarget, WriteOptions {
  /**
   * Seconds the old keys stay valid after the new key is in place. Must be at least the
   * RRset's TTL plus `maxProofLifetimeSeconds`, so that every cached RRset has seen the new key
   * and every proof signed with an old key has expired before the old key goes.
   */
  readonly overlapSeconds: number;
  /** Longest proof lifetime verifiers accept. Default {@link DEFAULT_MAX_PROOF_LIFETIME}. */
  readonly maxProofLifetimeSeconds?: number;
  /** Type of the new key. Default `ed25519`. */
  readonly keyType?: KeyType;
  /** Id of the new key. Default: `k` + the UTC time. */
  readonly kid?: string;
  /** Start a rotation although one is still in progress (a key already carries a future `exp`). */
  readonly force?: boolean;
}

/** Outcome of starting a rotation. */
export interface RotateStartResult {
  readonly phase: 'started';
  readonly kid: string;
  readonly keyType: KeyType;
  readonly publicKey: string;
  readonly secretName: string;
  /** Absent in a dry run. */
  readonly secret?: Omit<StoredSigningKey, 'secretName'>;
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
 * Starts a rotation. The time the old keys go is kept in DNS itself, as their standard `exp=`
 * tag: verifiers stop accepting them at that moment on their own, `rotate --finish` knows what
 * to remove without any state of its own, and anyone can see a rotation in progress with `dig`.
 *
 * Steps, each safe to interrupt: (1) publish the new key next to the old ones and wait for
 * `INSYNC`; (2) store the new private key as the secret's current version (signers switch);
 * (3) set `exp = now + overlap` on the old keys. Interrupted after (1) or (2), no key has lost
 * validity and a re-run starts over cleanly; the rotation only becomes "in progress" at (3).
 */
export const rotate = async (options: RotateOptions, deps: CommandDeps): Promise<RotateStartResult> => {
  const current = await readIdentityRecord(options, deps);
  const now = nowSeconds(deps);
  const ttl = options.ttl === undefined ? (current.recordSet.ttl ?? DEFAULT_TTL) : checkTtl(options.ttl);
  const maxProofLifetime = options.maxProofLifetimeSeconds ?? DEFAULT_MAX_PROOF_LIFETIME;
  if (!Number.isSafeInteger(options.overlapSeconds) || options.overlapSeconds < ttl + maxProofLifetime) {
    throw usageError(
      `--overlap must be at least TTL + max proof lifetime = ${ttl} + ${maxProofLifetime} = ${ttl + maxProofLifetime} seconds`,
    );
  }
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
  const kid = checkKid(options.kid ?? defaultKid(deps.now()));
  const keyType = options.keyType ?? 'ed25519';
  const key = await generateSigningKey(keyType, kid);
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
        attributes: agreedAttributes(usable),
      }),
    current,
  );
  const secretName = signingKeySecretName(options.service, options.environment);
  let secret: Omit<StoredSigningKey, 'secretName'> | undefined;
  if (options.dryRun !== true) {
    const { secretName: _name, ...stored } = await storeSigningKey({
      secrets: deps.secrets,
      service: options.service,
      environment: options.environment,
      privateJwk: key.privateJwk,
      retry: retryOptionsOf(deps),
    });
    secret = stored;
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
    options.dryRun === true
      ? currentRecordOf({ ...current.recordSet, exists: true, values: added.values })
      : undefined,
  );
  return {
    phase: 'started',
    kid,
    keyType,
    publicKey: key.publicKey,
    secretName,
    ...(secret === undefined ? {} : { secret }),
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
