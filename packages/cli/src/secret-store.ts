import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  type Tag,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { CliError, EXIT_CODE } from './errors.js';
import {
  type GeneratedSigningKey,
  type PublishedKey,
  publicKeyFingerprint,
  type SigningKeyJwk,
  signingKeyFromJwk,
} from './keys.js';
import { type RetryOptions, withRetry } from './retry.js';

/** Tag keys put on the signing-key secret. */
export const SECRET_TAG = {
  service: 'nhi:service',
  environment: 'nhi:environment',
  kid: 'nhi:kid',
  /**
   * `rotate`'s mark on the version it staged: `<versionId> <kid> <fingerprint>` (empty once the
   * version is current). Written with `TagResource`, which a principal that can only write
   * secret values (`PutSecretValue`) lacks, so it cannot mark a version it planted.
   */
  pending: 'nhi:pending',
} as const;

/** Name of a workload's signing-key secret (DESIGN §4.5): `/<env>/nhi/<service>/signing-key`. */
export const signingKeySecretName = (service: string, environment: string): string =>
  `/${environment}/nhi/${service}/signing-key`;

/** Options of {@link storeSigningKey}. */
export interface StoreSigningKeyOptions {
  readonly secrets: SecretsManagerClient;
  readonly service: string;
  readonly environment: string;
  readonly privateJwk: SigningKeyJwk;
  readonly retry?: RetryOptions;
}

/** Where the key was stored. */
export interface StoredSigningKey {
  readonly secretName: string;
  readonly arn?: string;
  readonly versionId?: string;
  /** True when the secret was created, false when a new version was added to it. */
  readonly created: boolean;
}

/**
 * Stores a private JWK as the current version of the workload's signing-key secret:
 * `CreateSecret` the first time, else `PutSecretValue` (a new `AWSCURRENT` version; the previous
 * one stays readable as `AWSPREVIOUS`) and `TagResource` so that `nhi:kid` names the current key.
 */
export const storeSigningKey = async (options: StoreSigningKeyOptions): Promise<StoredSigningKey> => {
  const secretName = signingKeySecretName(options.service, options.environment);
  const secretString = JSON.stringify(options.privateJwk);
  const tags: Tag[] = [
    { Key: SECRET_TAG.service, Value: options.service },
    { Key: SECRET_TAG.environment, Value: options.environment },
    { Key: SECRET_TAG.kid, Value: options.privateJwk.kid },
  ];
  try {
    const created = await withRetry(
      () =>
        options.secrets.send(
          new CreateSecretCommand({
            Name: secretName,
            SecretString: secretString,
            Description: `nhi-dns signing key of ${options.service} in ${options.environment}`,
            Tags: tags,
          }),
        ),
      options.retry,
    );
    return {
      secretName,
      created: true,
      ...(created.ARN === undefined ? {} : { arn: created.ARN }),
      ...(created.VersionId === undefined ? {} : { versionId: created.VersionId }),
    };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ResourceExistsException') throw error;
  }
  const put = await withRetry(
    () =>
      options.secrets.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: secretString })),
    options.retry,
  );
  await withRetry(
    () => options.secrets.send(new TagResourceCommand({ SecretId: secretName, Tags: tags })),
    options.retry,
  );
  return {
    secretName,
    created: false,
    ...(put.ARN === undefined ? {} : { arn: put.ARN }),
    ...(put.VersionId === undefined ? {} : { versionId: put.VersionId }),
  };
};

/** Staging label of a key that `rotate` has generated but not yet made current. */
export const PENDING_STAGE = 'AWSPENDING';

/** Whether an AWS error says the secret (or the asked-for version) does not exist. */
export const isNotFound = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ResourceNotFoundException';

/** Where a staged key is. */
export interface StagedSigningKey {
  readonly secretName: string;
  readonly versionId: string;
}

/**
 * Stores a private JWK as a new version of the signing-key secret labelled only `AWSPENDING`:
 * signers read `AWSCURRENT` and do not see it, but an interrupted `rotate` finds it again and
 * carries on with the same key. Returns `undefined` when the secret does not exist yet (a key
 * published without the CLI): such a secret can only be created with a current version.
 */
export const stageSigningKey = async (
  options: StoreSigningKeyOptions,
): Promise<StagedSigningKey | undefined> => {
  const secretName = signingKeySecretName(options.service, options.environment);
  try {
    const put = await withRetry(
      () =>
        options.secrets.send(
          new PutSecretValueCommand({
            SecretId: secretName,
            SecretString: JSON.stringify(options.privateJwk),
            VersionStages: [PENDING_STAGE],
          }),
        ),
      options.retry,
    );
    if (put.VersionId === undefined) {
      throw new CliError('bad_secret', `${secretName}: no VersionId for the staged key`, EXIT_CODE.other);
    }
    const versionId = put.VersionId;
    const published = signingKeyFromJwk(options.privateJwk);
    await withRetry(
      () =>
        options.secrets.send(
          new TagResourceCommand({
            SecretId: secretName,
            Tags: [{ Key: SECRET_TAG.pending, Value: pendingMark(versionId, published) }],
          }),
        ),
      options.retry,
    );
    return { secretName, versionId };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/** Value of the {@link SECRET_TAG.pending} tag for a staged version. */
export const pendingMark = (versionId: string, key: PublishedKey): string =>
  `${versionId} ${key.kid} ${publicKeyFingerprint(key)}`;

/** A key found under `AWSPENDING` that `rotate` staged: the key it was, and its version. */
export interface PendingSigningKey extends StagedSigningKey {
  readonly key: GeneratedSigningKey;
  /** {@link publicKeyFingerprint} of the key. */
  readonly fingerprint: string;
}

/**
 * What is under `AWSPENDING`: nothing, a version `rotate` staged and marked (`marked`), or a
 * version without a valid mark (`unmarked`: written by someone else, by a CLI without marks, or
 * by a run interrupted between staging and marking). An unmarked value is never parsed beyond
 * what the operator needs to recognise it (`kid`, fingerprint, when it is a usable JWK).
 */
export type PendingLookup =
  | { readonly status: 'none' }
  | ({ readonly status: 'marked' } & PendingSigningKey)
  | {
      readonly status: 'unmarked';
      readonly secretName: string;
      readonly versionId: string;
      readonly kid?: string;
      readonly fingerprint?: string;
    };

/**
 * Reads the `AWSPENDING` version of the signing-key secret and `rotate`'s mark on it (the
 * {@link SECRET_TAG.pending} tag, through `DescribeSecret`). Only a version whose id, kid and
 * public-key fingerprint the mark names is `marked`; a marked value must also be a private JWK
 * whose public part is its private part's. The private value stays in the returned key object;
 * errors do not echo it.
 *
 * @throws {CliError} `bad_secret` / `key_mismatch` for a marked version that is not a
 * consistent private JWK of the marked key.
 */
export const readPendingSigningKey = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly service: string;
  readonly environment: string;
  readonly retry?: RetryOptions;
}): Promise<PendingLookup> => {
  const secretName = signingKeySecretName(options.service, options.environment);
  let output: { SecretString?: string | undefined; VersionId?: string | undefined };
  try {
    output = await withRetry(
      () =>
        options.secrets.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: PENDING_STAGE }),
        ),
      options.retry,
    );
  } catch (error) {
    if (isNotFound(error)) return { status: 'none' };
    throw error;
  }
  if (output.SecretString === undefined || output.VersionId === undefined) return { status: 'none' };
  const versionId = output.VersionId;
  const described = await withRetry(
    () => options.secrets.send(new DescribeSecretCommand({ SecretId: secretName })),
    options.retry,
  );
  const mark = described.Tags?.find((tag) => tag.Key === SECRET_TAG.pending)?.Value ?? '';
  const [markedVersion, markedKid, markedFingerprint] = mark.split(' ');
  let key: GeneratedSigningKey | undefined;
  let keyError: unknown;
  try {
    key = signingKeyFromJwk(JSON.parse(output.SecretString));
  } catch (error) {
    keyError = error;
  }
  const fingerprint = key === undefined ? undefined : publicKeyFingerprint(key);
  if (markedVersion !== versionId) {
    return {
      status: 'unmarked',
      secretName,
      versionId,
      ...(key === undefined ? {} : { kid: key.kid }),
      ...(fingerprint === undefined ? {} : { fingerprint }),
    };
  }
  if (key === undefined || fingerprint === undefined) {
    if (keyError instanceof CliError) throw keyError;
    throw new CliError('bad_secret', `${secretName} (${PENDING_STAGE}) is not JSON`, EXIT_CODE.other);
  }
  if (markedKid !== key.kid || markedFingerprint !== fingerprint) {
    throw new CliError(
      'key_mismatch',
      `${secretName} (${PENDING_STAGE}) holds key ${key.kid} (fingerprint ${fingerprint}), not the key ` +
        `rotate staged under that version (${markedKid ?? '?'}, ${markedFingerprint ?? '?'})`,
      EXIT_CODE.other,
    );
  }
  return { status: 'marked', secretName, versionId, key, fingerprint };
};

/**
 * Removes the `AWSPENDING` label from a staged version (once it has been made current) and
 * empties `rotate`'s mark, so that the label moved back onto that version is not resumed.
 */
export const clearPendingStage = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly secretName: string;
  readonly versionId: string;
  readonly retry?: RetryOptions;
}): Promise<void> => {
  await withRetry(
    () =>
      options.secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: options.secretName,
          VersionStage: PENDING_STAGE,
          RemoveFromVersionId: options.versionId,
        }),
      ),
    options.retry,
  );
  await withRetry(
    () =>
      options.secrets.send(
        new TagResourceCommand({
          SecretId: options.secretName,
          Tags: [{ Key: SECRET_TAG.pending, Value: '' }],
        }),
      ),
    options.retry,
  );
};

/**
 * Reads the current signing key of a workload and returns only its public half, after checking
 * that the stored JWK is a private key whose public part is its own (`key_mismatch` otherwise).
 * The private value never leaves this function: errors say what is wrong, not what the value is.
 */
export const readPublishedKey = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly service: string;
  readonly environment: string;
  readonly retry?: RetryOptions;
}): Promise<PublishedKey> => {
  const secretName = signingKeySecretName(options.service, options.environment);
  const output = await withRetry(
    () => options.secrets.send(new GetSecretValueCommand({ SecretId: secretName })),
    options.retry,
  );
  if (output.SecretString === undefined) {
    throw new CliError('bad_secret', `${secretName} has no SecretString`, EXIT_CODE.other);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(output.SecretString);
  } catch {
    throw new CliError('bad_secret', `${secretName} is not JSON`, EXIT_CODE.other);
  }
  const { privateJwk: _private, ...published } = signingKeyFromJwk(jwk);
  return published;
};
