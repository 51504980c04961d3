import { randomUUID } from 'node:crypto';
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
  /**
   * The CLI's mark on the version it stored as current (keygen, rotate, or an operator's
   * `publish --trust-stored-key`): `<versionId> <kid> <fingerprint>`. Written with
   * `TagResource`, like {@link SECRET_TAG.pending}: a principal that can only write secret values
   * cannot mark a version it put, so `publish` and `render` refuse a current version the mark
   * does not name (`untrusted_key`).
   */
  current: 'nhi:current',
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
  /**
   * Version id of the staged version ({@link stageSigningKey} only): Secrets Manager's rotation
   * protocol names the version it expects (`ClientRequestToken`). Default: one chosen by AWS.
   */
  readonly versionId?: string;
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
 * one stays readable as `AWSPREVIOUS`) and `TagResource` so that `nhi:kid` names the current key
 * and `nhi:current` marks the version (id chosen here, as the `ClientRequestToken`), its kid and
 * its public-key fingerprint, which {@link readPublishedKey} requires.
 */
export const storeSigningKey = async (options: StoreSigningKeyOptions): Promise<StoredSigningKey> => {
  const secretName = signingKeySecretName(options.service, options.environment);
  const secretString = JSON.stringify(options.privateJwk);
  const key = signingKeyFromJwk(options.privateJwk);
  const versionId = randomUUID();
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
            ClientRequestToken: versionId,
            Description: `nhi-dns signing key of ${options.service} in ${options.environment}`,
            Tags: [...tags, { Key: SECRET_TAG.current, Value: pendingMark(versionId, key) }],
          }),
        ),
      options.retry,
    );
    if (created.VersionId !== undefined && created.VersionId !== versionId) {
      await markCurrentVersion({ ...options, secretName, versionId: created.VersionId, key });
    }
    return {
      secretName,
      created: true,
      ...(created.ARN === undefined ? {} : { arn: created.ARN }),
      versionId: created.VersionId ?? versionId,
    };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ResourceExistsException') throw error;
  }
  const put = await withRetry(
    () =>
      options.secrets.send(
        new PutSecretValueCommand({
          SecretId: secretName,
          SecretString: secretString,
          ClientRequestToken: versionId,
        }),
      ),
    options.retry,
  );
  const storedVersion = put.VersionId ?? versionId;
  await withRetry(
    () =>
      options.secrets.send(
        new TagResourceCommand({
          SecretId: secretName,
          Tags: [...tags, { Key: SECRET_TAG.current, Value: pendingMark(storedVersion, key) }],
        }),
      ),
    options.retry,
  );
  return {
    secretName,
    created: false,
    ...(put.ARN === undefined ? {} : { arn: put.ARN }),
    versionId: storedVersion,
  };
};

/**
 * Writes the {@link SECRET_TAG.current} mark (and `nhi:kid`) for a version that holds `key`:
 * after {@link storeSigningKey}, or when `rotate` finds its key already current, or on an
 * operator's `--trust-stored-key`.
 */
export const markCurrentVersion = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly secretName: string;
  readonly versionId: string;
  readonly key: PublishedKey;
  readonly retry?: RetryOptions;
}): Promise<void> => {
  await withRetry(
    () =>
      options.secrets.send(
        new TagResourceCommand({
          SecretId: options.secretName,
          Tags: [
            { Key: SECRET_TAG.kid, Value: options.key.kid },
            { Key: SECRET_TAG.current, Value: pendingMark(options.versionId, options.key) },
          ],
        }),
      ),
    options.retry,
  );
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
            ...(options.versionId === undefined ? {} : { ClientRequestToken: options.versionId }),
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

/** Value of the {@link SECRET_TAG.pending} tag for a staged version (and of {@link SECRET_TAG.current}). */
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

/** Staging label of the version signers read. */
export const CURRENT_STAGE = 'AWSCURRENT';

/**
 * Moves `AWSCURRENT` onto a staged version (Secrets Manager then moves `AWSPREVIOUS` onto the
 * version it left) and writes the {@link SECRET_TAG.current} mark for it; the caller then clears
 * the staged label and `rotate`'s mark ({@link clearPendingStage}). Moving the label, rather than writing
 * the key again as a new version, keeps one version per key: the staged version becomes the
 * current one, as Secrets Manager's rotation protocol expects. Safe to repeat: a version that is
 * already current is only marked.
 */
export const makeVersionCurrent = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly secretName: string;
  readonly versionId: string;
  /** The version `AWSCURRENT` is on now; `undefined` when it is already on `versionId`. */
  readonly currentVersionId: string | undefined;
  readonly key: PublishedKey;
  readonly retry?: RetryOptions;
}): Promise<void> => {
  if (options.currentVersionId !== undefined && options.currentVersionId !== options.versionId) {
    await withRetry(
      () =>
        options.secrets.send(
          new UpdateSecretVersionStageCommand({
            SecretId: options.secretName,
            VersionStage: CURRENT_STAGE,
            MoveToVersionId: options.versionId,
            RemoveFromVersionId: options.currentVersionId,
          }),
        ),
      options.retry,
    );
  }
  await markCurrentVersion(options);
};

/** Staging labels of each version of a secret, and its tags, as `DescribeSecret` reports them. */
export interface SecretVersions {
  readonly secretName: string;
  readonly arn?: string;
  /** Whether Secrets Manager rotation is switched on for the secret. */
  readonly rotationEnabled: boolean;
  readonly stages: Readonly<Record<string, readonly string[]>>;
  readonly tags: Readonly<Record<string, string>>;
}

/** The version that carries `stage`, if any. */
export const versionWithStage = (versions: SecretVersions, stage: string): string | undefined =>
  Object.entries(versions.stages).find(([, stages]) => stages.includes(stage))?.[0];

/**
 * Reads the staging labels and tags of a secret (`DescribeSecret`), by name or ARN: what a
 * rotation step decides from, without reading any value.
 */
export const describeSecretVersions = async (options: {
  readonly secrets: SecretsManagerClient;
  readonly secretId: string;
  readonly retry?: RetryOptions;
}): Promise<SecretVersions> => {
  const described = await withRetry(
    () => options.secrets.send(new DescribeSecretCommand({ SecretId: options.secretId })),
    options.retry,
  );
  return {
    secretName: described.Name ?? options.secretId,
    ...(described.ARN === undefined ? {} : { arn: described.ARN }),
    rotationEnabled: described.RotationEnabled === true,
    stages: described.VersionIdsToStages ?? {},
    tags: Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
  };
};

/** The secret's current version as read, before any decision to trust it. */
export interface CurrentSigningKey {
  readonly secretName: string;
  readonly versionId: string;
  readonly key: PublishedKey;
  /** {@link publicKeyFingerprint} of the key. */
  readonly fingerprint: string;
  /** The {@link SECRET_TAG.current} mark names this version, kid and fingerprint. */
  readonly marked: boolean;
  /** The mark's value ('' when the tag is absent). */
  readonly mark: string;
}

interface SecretAccess {
  readonly secrets: SecretsManagerClient;
  readonly service: string;
  readonly environment: string;
  readonly retry?: RetryOptions;
}

/** The current version with its private JWK: for {@link readSigningKey} only, never returned by the public readers. */
interface CurrentVersion extends CurrentSigningKey {
  readonly privateJwk: SigningKeyJwk;
}

const readCurrentVersion = async (options: SecretAccess): Promise<CurrentVersion> => {
  // The label is named although AWS defaults to it: moto answers a request without one from the
  // version last written as current, not the one AWSCURRENT was moved to.
  const secretName = signingKeySecretName(options.service, options.environment);
  const output = await withRetry(
    () =>
      options.secrets.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: CURRENT_STAGE })),
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
  const { privateJwk, ...key } = signingKeyFromJwk(jwk);
  const versionId = output.VersionId ?? '';
  const described = await withRetry(
    () => options.secrets.send(new DescribeSecretCommand({ SecretId: secretName })),
    options.retry,
  );
  const mark = described.Tags?.find((tag) => tag.Key === SECRET_TAG.current)?.Value ?? '';
  const fingerprint = publicKeyFingerprint(key);
  const marked = versionId !== '' && mark === pendingMark(versionId, key);
  return { secretName, versionId, key, fingerprint, marked, mark, privateJwk };
};

/**
 * Reads the `AWSCURRENT` version of the signing-key secret (a private JWK whose public part must
 * be its own: `key_mismatch`/`bad_secret` otherwise) and the CLI's {@link SECRET_TAG.current}
 * mark (`DescribeSecret`), and says whether the mark names it. Does not decide anything: see
 * {@link readPublishedKey}. Only the public half is returned.
 */
export const readCurrentSigningKey = async (options: SecretAccess): Promise<CurrentSigningKey> => {
  const { privateJwk: _private, ...current } = await readCurrentVersion(options);
  return current;
};

/** Shape of a `--trust-stored-key` value: a SHA-256 fingerprint, base64url without padding. */
export const FINGERPRINT_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Options of {@link readPublishedKey} and {@link readSigningKey}. */
interface TrustOptions extends SecretAccess {
  readonly trustFingerprint?: string;
  readonly markTrusted?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * The one trust decision over the current version (see {@link readPublishedKey}): returns when
 * the mark names it or `trustFingerprint` is its fingerprint (marking it on `markTrusted`),
 * throws `untrusted_key` otherwise.
 */
const trustCurrentVersion = async (current: CurrentSigningKey, options: TrustOptions): Promise<void> => {
  if (current.marked) return;
  const { secretName, versionId, key, fingerprint } = current;
  const described = `key ${key.kid} (fingerprint ${fingerprint}, version ${versionId || '?'})`;
  if (options.trustFingerprint === undefined || options.trustFingerprint !== fingerprint) {
    const why =
      options.trustFingerprint === undefined
        ? current.mark === ''
          ? 'the secret has no nhi:current mark'
          : 'the nhi:current mark names another version or key'
        : `its fingerprint is not --trust-stored-key ${options.trustFingerprint}`;
    throw new CliError(
      'untrusted_key',
      `${secretName}: the current version holds ${described}, which was not written by nhi-dns ` +
        `keygen/rotate (${why}); refusing to use it. If someone with PutSecretValue on the secret ` +
        'wrote it, review the secret policy and CloudTrail PutSecretValue events. If an older ' +
        'nhi-dns stored it, run `nhi-dns rotate` to replace it, or, having checked that ' +
        `${fingerprint} is the fingerprint of the key you published, pass --trust-stored-key ${fingerprint}`,
      EXIT_CODE.other,
    );
  }
  options.log?.(
    `WARNING: trusting the unmarked ${described} of ${secretName} on --trust-stored-key` +
      (options.markTrusted === true ? '; marking it (nhi:current)' : ''),
  );
  if (options.markTrusted === true && versionId !== '') {
    await markCurrentVersion({ ...options, secretName, versionId, key });
  }
};

/**
 * Reads the current signing key of a workload and returns only its public half, after checking
 * that the stored JWK is a private key whose public part is its own (`key_mismatch` otherwise)
 * and that the CLI stored it: the {@link SECRET_TAG.current} mark must name the current
 * version's id, kid and public-key fingerprint. Anyone with `PutSecretValue` on the secret can
 * make their own well-formed key current, but cannot write the mark (`TagResource`).
 *
 * `trustFingerprint` (the operator's `--trust-stored-key`) accepts an unmarked current version
 * whose fingerprint it equals (a key stored by a CLI without marks); with `markTrusted` the
 * mark is then written, so later runs need no flag. The private value never leaves this
 * function: errors say what is wrong, not what the value is.
 *
 * @throws {CliError} `untrusted_key` (exit code 4) for an unmarked current version not trusted
 * by fingerprint; `bad_secret`, `key_mismatch`.
 */
export const readPublishedKey = async (options: TrustOptions): Promise<PublishedKey> => {
  const current = await readCurrentSigningKey(options);
  await trustCurrentVersion(current, options);
  return current.key;
};

/**
 * Reads the current signing key of a workload with its private JWK, for `sign`: the same checks
 * and trust decision as {@link readPublishedKey} (a consistent private JWK, named by the
 * {@link SECRET_TAG.current} mark or trusted by `trustFingerprint`), so a key planted with
 * `PutSecretValue` never signs. Marks nothing (`sign` needs no write permission). Errors never
 * carry the private value.
 *
 * @throws {CliError} `untrusted_key`, `bad_secret`, `key_mismatch` (exit code 4).
 */
export const readSigningKey = async (
  options: Omit<TrustOptions, 'markTrusted'>,
): Promise<GeneratedSigningKey & { readonly secretName: string; readonly fingerprint: string }> => {
  const current = await readCurrentVersion(options);
  await trustCurrentVersion(current, options);
  return {
    ...current.key,
    privateJwk: current.privateJwk,
    secretName: current.secretName,
    fingerprint: current.fingerprint,
  };
};
