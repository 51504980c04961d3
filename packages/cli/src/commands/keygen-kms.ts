import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, kmsOf } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import {
  createKmsSigningKey,
  grantKmsSign,
  KMS_KEY_SPEC,
  type KmsPublishedKey,
  kmsAliasName,
  readKmsPublicKey,
} from '../kms-key.js';
import { PROPAGATION_MARGIN_SECONDS, planPropagationWait, waitForPropagation } from '../negative-cache.js';
import {
  agreedAttributes,
  type IdentityTarget,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { checkTarget } from '../validation.js';
import { planPutKey } from './publish.js';
import { checkPropagationWait } from './rotate.js';

/** Options of {@link keygenKms}. */
export interface KeygenKmsOptions extends IdentityTarget, WriteOptions {
  /** Key type of the KMS key. Default `ed25519` (`ECC_NIST_EDWARDS25519`). */
  readonly keyType?: KeyType;
  /** IAM role ARNs that may sign with the key (the workload's function roles); at least one. */
  readonly signerRoles: readonly string[];
  /** IAM role ARNs that alone may change the key policy and alias (recommended; see `kmsKeyPolicy`). */
  readonly adminRoles?: readonly string[];
  /** `x-` attributes of the key; default: those every published key agrees on. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** As keygen's: seconds to wait after `INSYNC` before the signers may sign. */
  readonly propagationWaitSeconds?: number;
}

/** Outcome of {@link keygenKms}: public facts only (KMS never hands out the private key). */
export interface KeygenKmsResult {
  readonly kid: string;
  readonly keyType: KeyType;
  /** The published public key (base64), as it appears in DNS. */
  readonly publicKey: string;
  /** The key's alias: what signers name (`signingKey: { kmsKeyId: alias }`). */
  readonly alias: string;
  /** The key's ARN; absent in a dry run (no key is created). */
  readonly keyArn?: string;
  /** Seconds waited (in a dry run: to be waited) between `INSYNC` and granting `kms:Sign`. */
  readonly propagationWaitSeconds: number;
  readonly warning?: string;
  /** Absent in a dry run. */
  readonly record?: RecordUpdateResult;
}

/**
 * Creates a workload's signing key in AWS KMS and publishes its public half (`kc=kms`): the
 * recommended key source for new identities, since the private key never exists outside KMS.
 * Order, so that nobody can sign with a key that DNS does not yet vouch for: create the key with
 * a policy that lets no one sign and point `alias/nhi/<env>/<service>` at it, publish and wait
 * for `INSYNC` and resolver caches (as keygen does), then grant `kms:Sign` to the signer roles.
 * A dry run makes no AWS write (no key is created; `publicKey` is then empty).
 */
export const keygenKms = async (options: KeygenKmsOptions, deps: CommandDeps): Promise<KeygenKmsResult> => {
  checkTarget(options);
  const keyType = options.keyType ?? 'ed25519';
  if (!(keyType in KMS_KEY_SPEC))
    throw new CliError('usage', 'key type must be ed25519 or p256', EXIT_CODE.usage);
  const requestedWait =
    options.propagationWaitSeconds === undefined
      ? undefined
      : checkPropagationWait(options.propagationWaitSeconds);
  const alias = kmsAliasName(options.service, options.environment);
  const current = await readIdentityRecord(options, deps);
  const plan = await planPropagationWait(
    options,
    current.recordSet,
    requestedWait,
    deps,
    (ttl) => ttl + PROPAGATION_MARGIN_SECONDS,
  );
  if (plan.warning !== undefined) deps.log?.(plan.warning);
  const base = {
    keyType,
    alias,
    propagationWaitSeconds: plan.seconds,
    ...(plan.warning === undefined ? {} : { warning: plan.warning }),
  };
  if (options.dryRun === true) return { ...base, kid: '(assigned by KMS)', publicKey: '' };
  const kms = kmsOf(deps);
  const key: KmsPublishedKey = await createKmsSigningKey({
    kms,
    service: options.service,
    environment: options.environment,
    name: current.name,
    keyType,
    signerRoles: options.signerRoles,
    ...(options.adminRoles === undefined ? {} : { adminRoles: options.adminRoles }),
  });
  deps.log?.(`created KMS key ${key.keyArn} (${alias}); no one may sign with it until it is in DNS`);
  const record = await publishKmsKey(options, deps, key, options.attributes);
  await waitForPropagation(
    deps,
    plan.seconds,
    `for resolver caches to drop what they held for ${record.name} before ${key.kid} may sign`,
  );
  await grantKmsSign(kms, key.keyArn, {
    signerRoles: options.signerRoles,
    ...(options.adminRoles === undefined ? {} : { adminRoles: options.adminRoles }),
  });
  deps.log?.(`granted kms:Sign on ${alias} to ${options.signerRoles.join(', ')}`);
  return { ...base, kid: key.kid, publicKey: key.publicKey, keyArn: key.keyArn, record };
};

/**
 * Merges a KMS key into the identity RRset (`kc=kms` when KMS made its material), as `publish`
 * merges a stored key: other keys untouched, idempotent.
 */
export const publishKmsKey = async (
  options: IdentityTarget & WriteOptions,
  deps: CommandDeps,
  key: KmsPublishedKey,
  attributes?: Readonly<Record<string, string>>,
  expiresAt?: number,
): Promise<RecordUpdateResult> => {
  const current = await readIdentityRecord(options, deps);
  const agreed = attributes ?? agreedAttributes(current.keys.filter((record) => record.publicKey !== ''));
  return updateIdentityRecord(
    options,
    options,
    deps,
    (latest) =>
      planPutKey(latest, {
        service: options.service,
        environment: options.environment,
        kid: key.kid,
        keyType: key.keyType,
        publicKey: key.publicKey,
        attributes: agreed,
        ...(expiresAt === undefined ? {} : { expiresAt }),
        ...(key.keyCustody === undefined ? {} : { keyCustody: key.keyCustody }),
      }),
    current,
  );
};

/** Reads an existing KMS key and publishes it: `publish --kms-key-id`. */
export const publishExistingKmsKey = async (
  options: IdentityTarget &
    WriteOptions & {
      readonly kmsKeyId: string;
      /** `x-` attributes of the key; default: those every published key agrees on. */
      readonly attributes?: Readonly<Record<string, string>>;
      /** `exp=` of the key, Unix seconds (to retire a stranded key); default none. */
      readonly expiresAt?: number;
    },
  deps: CommandDeps,
): Promise<{ readonly key: KmsPublishedKey; readonly record?: RecordUpdateResult }> => {
  checkTarget(options);
  const key = await readKmsPublicKey(kmsOf(deps), options.kmsKeyId);
  if (options.dryRun === true) return { key };
  return { key, record: await publishKmsKey(options, deps, key, options.attributes, options.expiresAt) };
};
