import {
  CreateSecretCommand,
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
  publishedKeyFromJwk,
  type SigningKeyJwk,
} from './keys.js';
import { type RetryOptions, withRetry } from './retry.js';

/** Tag keys put on the signing-key secret. */
export const SECRET_TAG = {
  service: 'nhi:service',
  environment: 'nhi:environment',
  kid: 'nhi:kid',
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
    return { secretName, versionId: put.VersionId };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/** A key found under `AWSPENDING`: the generated key it was, and its version. */
export interface PendingSigningKey extends StagedSigningKey {
  readonly key: GeneratedSigningKey;
}

/**
 * Reads the `AWSPENDING` version of the signing-key secret, or `undefined` when the secret or
 * the label does not exist. The private value stays in the returned key object; errors do not
 * echo it.
 */
export const readPendingSigningKey = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly service: string;
  readonly environment: string;
  readonly retry?: RetryOptions;
}): Promise<PendingSigningKey | undefined> => {
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
    if (isNotFound(error)) return undefined;
    throw error;
  }
  if (output.SecretString === undefined || output.VersionId === undefined) return undefined;
  let jwk: unknown;
  try {
    jwk = JSON.parse(output.SecretString);
  } catch {
    throw new CliError('bad_secret', `${secretName} (${PENDING_STAGE}) is not JSON`, EXIT_CODE.other);
  }
  const published = publishedKeyFromJwk(jwk);
  return {
    secretName,
    versionId: output.VersionId,
    key: { ...published, privateJwk: jwk as SigningKeyJwk },
  };
};

/** Removes the `AWSPENDING` label from a staged version (once it has been made current). */
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
};

/**
 * Reads the current signing key of a workload and returns only its public half. The private
 * value never leaves this function: errors say what is wrong, not what the value is.
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
  return publishedKeyFromJwk(jwk);
};
