/**
 * The facts about AWS KMS signing keys that every nhi-dns caller of KMS shares (the CLI that
 * creates and publishes them, identity-sign that signs with them, the deploy paths): which key
 * spec and signing algorithm serve each record key type, and how a KMS key names its record key.
 * Strings only: no AWS SDK import here.
 */
import type { KeyType } from './record.js';
import { ecdsaDerToJose } from './workload-token.js';

/** KMS key spec and `Sign` algorithm of each record key type (`MessageType: RAW`: KMS hashes). */
export const KMS_KEY_SPECS = Object.freeze({
  ed25519: Object.freeze({ keySpec: 'ECC_NIST_EDWARDS25519', signingAlgorithm: 'ED25519_SHA_512' }),
  p256: Object.freeze({ keySpec: 'ECC_NIST_P256', signingAlgorithm: 'ECDSA_SHA_256' }),
} as const satisfies Record<KeyType, { keySpec: string; signingAlgorithm: string }>);

/**
 * A KMS `Sign` answer as the 64-byte JOSE signature: Ed25519 as it comes, `ECDSA_SHA_256` from
 * the DER KMS answers with to r||s (RFC 7518 §3.4).
 */
export const joseSignatureOfKms = (keyType: KeyType, signature: Uint8Array): Uint8Array =>
  keyType === 'p256' ? ecdsaDerToJose(signature) : signature;

/** The record key type of a KMS key spec; `undefined` for a spec that cannot sign for an identity. */
export const keyTypeOfKmsKeySpec = (keySpec: string | undefined): KeyType | undefined =>
  (Object.keys(KMS_KEY_SPECS) as KeyType[]).find((type) => KMS_KEY_SPECS[type].keySpec === keySpec);

const KEY_UUID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The record `kid` of a KMS key: `kms-` and its key id, from a key id or key ARN. Derived, never
 * chosen: a signer that knows its key knows its kid, and an alias moved to the next key moves the
 * kid with it. `undefined` for anything else (an alias names no key by itself).
 */
export const kidOfKmsKey = (keyIdOrArn: string): string | undefined => {
  const keyId = keyIdOrArn.includes(':key/') ? keyIdOrArn.slice(keyIdOrArn.indexOf(':key/') + 5) : keyIdOrArn;
  return KEY_UUID.test(keyId) ? `kms-${keyId}` : undefined;
};

/** The alias of a workload's KMS signing key: `alias/nhi/<env>/<service>`. */
export const kmsAliasName = (service: string, environment: string): string =>
  `alias/nhi/${environment}/${service}`;

/** Tag on every identity key the CLI and the deploy paths create: the identity it signs for. */
export const KMS_IDENTITY_TAG = 'nhi:identity';

/**
 * What the account (through IAM) may do with an identity's KMS key: administer it and read its
 * public half, never `kms:Sign`.
 */
export const KMS_ADMIN_ACTIONS: readonly string[] = Object.freeze([
  'kms:Describe*',
  'kms:Get*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Enable*',
  'kms:Disable*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
]);

/**
 * What a signer needs on its KMS key: `Sign` for each WIT, `GetPublicKey` for the key type and the
 * kid identity-sign derives, `DescribeKey`.
 */
export const KMS_SIGNER_ACTIONS: readonly string[] = Object.freeze([
  'kms:Sign',
  'kms:GetPublicKey',
  'kms:DescribeKey',
]);

/**
 * Input of {@link kmsKeyPolicy}: ARNs as strings, or values a deploy tool resolves later
 * (CloudFormation `Fn::Sub`/`Fn::GetAtt` objects, CDK tokens).
 */
export interface KmsKeyPolicyPrincipals {
  /** The account's root ARN, `arn:<partition>:iam::<account>:root`. */
  readonly accountRoot: unknown;
  /** IAM role ARNs allowed `kms:Sign`: the workload's function roles. */
  readonly signerRoles: readonly unknown[];
  /** Leave the signers out: a key not yet in DNS must not sign. */
  readonly withoutSigners?: boolean;
  /**
   * IAM role ARNs that alone may change the key policy or the alias (the pipeline that creates and
   * rotates the key). Without them, any principal the account's IAM grants `kms:PutKeyPolicy` on
   * the key could rewrite the policy to name itself a signer; with them, that is denied to every
   * other principal. Default none (IAM decides, as for other keys).
   */
  readonly adminRoles?: readonly unknown[];
}

/**
 * The key policy of an identity's KMS key (one document for the CLI and every deploy path): the
 * account may administer the key and read its public half; `kms:Sign` is denied to every principal
 * but the signer roles (so an IAM `kms:*` grant elsewhere cannot sign as the workload), who alone
 * are allowed {@link KMS_SIGNER_ACTIONS}. The signers are matched on `aws:PrincipalArn` under the
 * account principal, not named as principals: KMS checks that every principal of a policy exists
 * when the policy is written, and a deploy creates the roles in the same run; a condition needs no
 * lookup and still matches a role deleted and made again under its name. A signer role still needs
 * its own IAM grant of {@link KMS_SIGNER_ACTIONS} on the key.
 */
export const kmsKeyPolicy = (principals: KmsKeyPolicyPrincipals): Record<string, unknown> => {
  const { accountRoot, signerRoles } = principals;
  const signers = principals.withoutSigners === true ? [] : [...signerRoles];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountAdministersButDoesNotSign',
        Effect: 'Allow',
        Principal: { AWS: accountRoot },
        Action: [...KMS_ADMIN_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'OnlyTheWorkloadSigns',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Resource: '*',
        // Without signers nobody but the account's root user (who can change the policy anyway).
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': signers.length === 0 ? [accountRoot] : signers } },
      },
      ...(principals.adminRoles === undefined || principals.adminRoles.length === 0
        ? []
        : [
            {
              Sid: 'OnlyAdministratorsChangeIt',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: ['kms:PutKeyPolicy', 'kms:UpdateAlias', 'kms:CreateGrant'],
              Resource: '*',
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': [...principals.adminRoles] } },
            },
          ]),
      ...(signers.length === 0
        ? []
        : [
            {
              Sid: 'WorkloadSigns',
              Effect: 'Allow',
              Principal: { AWS: accountRoot },
              Action: [...KMS_SIGNER_ACTIONS],
              Resource: '*',
              Condition: { ArnEquals: { 'aws:PrincipalArn': signers } },
            },
          ]),
    ],
  };
};
