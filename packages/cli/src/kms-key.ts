/**
 * Signing keys held in AWS KMS (DESIGN §3a): created non-exportable, named by an alias, readable
 * by the deployer (`GetPublicKey`), usable for `Sign` only by the signer roles named. The CLI never
 * sees a private key of these: it publishes the public half with `kc=kms`.
 */
import { createPublicKey } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type KeySpec,
  type KMSClient,
  PutKeyPolicyCommand,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import {
  kidOfKmsKey as coreKidOfKmsKey,
  kmsKeyPolicy as coreKmsKeyPolicy,
  joseSignatureOfKms,
  type KeyCustody,
  type KeyType,
  KMS_IDENTITY_TAG,
  KMS_KEY_SPECS,
  keyTypeOfKmsKeySpec,
  kmsAliasName,
  mintWorkloadIdentity,
  type WorkloadProofSigner,
} from '@nhi-dns/core';
import { CliError, EXIT_CODE, usageError } from './errors.js';
import type { PublishedKey } from './keys.js';

/** KMS key spec of each record key type (core's table). */
export const KMS_KEY_SPEC = Object.freeze({
  ed25519: KMS_KEY_SPECS.ed25519.keySpec,
  p256: KMS_KEY_SPECS.p256.keySpec,
} as const satisfies Record<KeyType, KeySpec>);

/** KMS signing algorithm of each record key type (core's table). */
export const KMS_SIGNING_ALGORITHM = Object.freeze({
  ed25519: KMS_KEY_SPECS.ed25519.signingAlgorithm,
  p256: KMS_KEY_SPECS.p256.signingAlgorithm,
} as const satisfies Record<KeyType, SigningAlgorithmSpec>);

export { KMS_IDENTITY_TAG, kmsAliasName };

/**
 * The record `kid` of a KMS key (core's `kidOfKmsKey`: `kms-` + its key id).
 * @throws {CliError} usage error for something that is not a key id or key ARN.
 */
export const kidOfKmsKey = (keyIdOrArn: string): string => {
  const kid = coreKidOfKmsKey(keyIdOrArn);
  if (kid === undefined) throw usageError(`not a KMS key id or key ARN: ${keyIdOrArn}`);
  return kid;
};

/** A KMS key as the record publishes it. */
export interface KmsPublishedKey extends PublishedKey {
  /** The key's ARN. */
  readonly keyArn: string;
  /** `kms` when KMS made the key material (it cannot be exported); absent for imported material. */
  readonly keyCustody?: KeyCustody;
}

/**
 * Reads a KMS key's public half and facts (`DescribeKey`, `GetPublicKey`) and checks it can sign
 * for an identity: enabled, `SIGN_VERIFY`, Ed25519 or P-256. Custody is `kms` only for key
 * material KMS (or its CloudHSM store) made: imported material existed outside KMS once.
 * @throws {CliError} `kms_key_unusable` (exit 4) naming what is wrong.
 */
export const readKmsPublicKey = async (kms: KMSClient, keyId: string): Promise<KmsPublishedKey> => {
  const { KeyMetadata: meta } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  const unusable = (why: string) =>
    new CliError('kms_key_unusable', `KMS key ${keyId} cannot sign for an identity: ${why}`, EXIT_CODE.other);
  if (meta?.Arn === undefined || meta.KeyId === undefined) throw unusable('DescribeKey returned no key');
  if (meta.KeyState !== 'Enabled') throw unusable(`its state is ${meta.KeyState}`);
  if (meta.KeyUsage !== 'SIGN_VERIFY') throw unusable(`its usage is ${meta.KeyUsage}, not SIGN_VERIFY`);
  const keyType = keyTypeOfKmsKeySpec(meta.KeySpec);
  if (keyType === undefined)
    throw unusable(`its spec is ${meta.KeySpec}; ECC_NIST_EDWARDS25519 or ECC_NIST_P256 can`);
  const { PublicKey: spki } = await kms.send(new GetPublicKeyCommand({ KeyId: meta.Arn }));
  if (spki === undefined) throw unusable('GetPublicKey returned no key');
  const der = Buffer.from(spki);
  const imported = createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (imported.asymmetricKeyType !== (keyType === 'ed25519' ? 'ed25519' : 'ec'))
    throw unusable('its public key is of another type');
  const custodial = meta.Origin === 'AWS_KMS' || meta.Origin === 'AWS_CLOUDHSM';
  return {
    kid: kidOfKmsKey(meta.KeyId),
    keyType,
    // DESIGN §2: raw 32 bytes for ed25519 (the SPKI's tail), the SPKI DER for p256.
    publicKey: (keyType === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64'),
    keyArn: meta.Arn,
    ...(custodial ? { keyCustody: 'kms' as const } : {}),
  };
};

/** Who may do what with an identity's KMS key: {@link kmsKeyPolicy}. */
export interface KmsKeyPolicyInput {
  /** IAM role ARNs allowed `kms:Sign` (and `kms:GetPublicKey`): the workload's function roles. */
  readonly signerRoles: readonly string[];
  /** Leave the signers out: a key not yet in DNS must not sign (keygen grants them after). */
  readonly withoutSigners?: boolean;
  /**
   * IAM role ARNs that alone may change the key policy and the alias (`--admin-role`: the pipeline
   * that runs keygen and rotate). Recommended: without them, any principal IAM grants
   * `kms:PutKeyPolicy` on the key could make itself a signer.
   */
  readonly adminRoles?: readonly string[];
}

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/**
 * The key policy of an identity's KMS key (core's `kmsKeyPolicy`), as JSON, for signer roles of
 * one account (the key's).
 * @throws {CliError} usage error for no signer role, or one that is not a role ARN of one account.
 */
export const kmsKeyPolicy = (input: KmsKeyPolicyInput): string => {
  const { signerRoles } = input;
  if (signerRoles.length === 0) throw usageError('a KMS signing key needs at least one --signer-role');
  const parsed = signerRoles.map((arn) => {
    const match = ROLE_ARN.exec(arn);
    if (match === null) throw usageError(`--signer-role ${arn}: not an IAM role ARN`);
    return match;
  });
  const [[, partition, account]] = parsed as [RegExpExecArray];
  if (parsed.some((match) => match[2] !== account)) {
    throw usageError('--signer-role: every signer role must be in one account (the key is)');
  }
  for (const arn of input.adminRoles ?? []) {
    if (!ROLE_ARN.test(arn)) throw usageError(`--admin-role ${arn}: not an IAM role ARN`);
  }
  return JSON.stringify(
    coreKmsKeyPolicy({
      accountRoot: `arn:${partition}:iam::${account}:root`,
      signerRoles,
      ...(input.withoutSigners === undefined ? {} : { withoutSigners: input.withoutSigners }),
      ...(input.adminRoles === undefined ? {} : { adminRoles: input.adminRoles }),
    }),
  );
};

/** Options of {@link createLockedKmsKey}. */
export interface CreateLockedKmsKeyOptions extends KmsKeyPolicyInput {
  readonly kms: KMSClient;
  /** The identity name, written as the key's `nhi:identity` tag. */
  readonly name: string;
  readonly keyType: KeyType;
}

/**
 * Creates a KMS signing key for an identity (non-exportable, `SIGN_VERIFY`, tagged with its
 * identity) with a policy that lets no one sign yet: {@link grantKmsSign} once DNS has it.
 * @returns the key as the record will publish it.
 */
export const createLockedKmsKey = async (options: CreateLockedKmsKeyOptions): Promise<KmsPublishedKey> => {
  const { kms } = options;
  const created = await kms.send(
    new CreateKeyCommand({
      KeySpec: KMS_KEY_SPEC[options.keyType],
      KeyUsage: 'SIGN_VERIFY',
      Description: `nhi-dns signing key of ${options.name}`,
      Policy: kmsKeyPolicy({ ...options, withoutSigners: true }),
      Tags: [{ TagKey: KMS_IDENTITY_TAG, TagValue: options.name }],
    }),
  );
  const keyId = created.KeyMetadata?.KeyId;
  if (keyId === undefined)
    throw new CliError('kms_key_unusable', 'CreateKey returned no key id', EXIT_CODE.other);
  return readKmsPublicKey(kms, keyId);
};

/** The key id an alias names, or `undefined` when the alias does not exist. */
export const kmsAliasTarget = async (kms: KMSClient, alias: string): Promise<string | undefined> => {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.KeyId;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFoundException') return undefined;
    throw error;
  }
};

/** Options of {@link createKmsSigningKey}. */
export interface CreateKmsSigningKeyOptions extends CreateLockedKmsKeyOptions {
  readonly service: string;
  readonly environment: string;
}

/**
 * Creates an identity's first KMS signing key ({@link createLockedKmsKey}) and points
 * `alias/nhi/<env>/<service>` at it.
 * @throws {CliError} `kms_alias_exists` (exit 4) when the alias already names a key: rotate instead.
 */
export const createKmsSigningKey = async (options: CreateKmsSigningKeyOptions): Promise<KmsPublishedKey> => {
  const { kms, service, environment } = options;
  // Checked before anything is created: a refused run leaves no key behind.
  kmsKeyPolicy({ ...options, withoutSigners: true });
  const alias = kmsAliasName(service, environment);
  const existing = await kmsAliasTarget(kms, alias);
  if (existing !== undefined) {
    throw new CliError(
      'kms_alias_exists',
      `${alias} already names KMS key ${existing}: publish it (--kms-key-id) or rotate --kms`,
      EXIT_CODE.other,
    );
  }
  const key = await createLockedKmsKey(options);
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.keyArn }));
  return key;
};

/** Grants `kms:Sign` to the signer roles: the last step of keygen, once the key is in DNS. */
export const grantKmsSign = async (
  kms: KMSClient,
  keyId: string,
  input: KmsKeyPolicyInput,
): Promise<void> => {
  await kms.send(
    new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: kmsKeyPolicy(input) }),
  );
};

/**
 * Has KMS sign `message` (`MessageType: RAW`) and returns the 64-byte JOSE signature (P-256's DER
 * converted to r||s).
 */
export const kmsSign = async (
  kms: KMSClient,
  keyId: string,
  keyType: KeyType,
  message: Uint8Array,
): Promise<Buffer> => {
  const { Signature } = await kms.send(
    new SignCommand({
      KeyId: keyId,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: KMS_SIGNING_ALGORITHM[keyType],
    }),
  );
  if (Signature === undefined)
    throw new CliError('kms_key_unusable', 'Sign returned no signature', EXIT_CODE.other);
  return Buffer.from(joseSignatureOfKms(keyType, Signature));
};

/** Options of {@link mintKmsWorkloadIdentity}. */
export interface MintKmsWorkloadIdentityOptions {
  readonly kms: KMSClient;
  /** Key id, ARN or alias of the workload's KMS key. */
  readonly kmsKeyId: string;
  /** The workload's identity name (`iss` of the WIT). */
  readonly name: string;
  /** WIT lifetime, seconds. Default one hour. */
  readonly lifetime?: number;
  /** Issue time, Unix seconds. Default now. */
  readonly now?: number;
}

/**
 * A WIT for `name` signed by its KMS key (one `Sign`; `DescribeKey` and `GetPublicKey` first, for
 * the key type and the kid), and the signer of its WPTs: what `nhi-dns sign --kms-key-id` hands a
 * CI job or a container. The short-lived private key stays in this process.
 */
export const mintKmsWorkloadIdentity = async (
  options: MintKmsWorkloadIdentityOptions,
): Promise<WorkloadProofSigner> => {
  const key = await readKmsPublicKey(options.kms, options.kmsKeyId);
  return mintWorkloadIdentity({
    name: options.name,
    kid: key.kid,
    keyType: key.keyType,
    ...(options.lifetime === undefined ? {} : { lifetime: options.lifetime }),
    ...(options.now === undefined ? {} : { now: options.now }),
    sign: (input) => kmsSign(options.kms, key.keyArn, key.keyType, input),
  });
};
