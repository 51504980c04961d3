import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  type Tag,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { CliError, EXIT_CODE } from './errors.js';
import { type PublishedKey, publishedKeyFromJwk, type SigningKeyJwk } from './keys.js';
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
