/**
 * What a rotation function's role may do (DESIGN §4.6): one list for every deploy path (the CDK
 * construct, the Serverless plugin), so that their grants cannot drift. Plain IAM statements; the
 * resources are whatever the deploy tool resolves (CloudFormation intrinsics, CDK tokens, ARNs).
 */
import { KMS_IDENTITY_TAG } from './kms-key.js';

/** Secrets Manager actions a rotation function needs on the one signing-key secret it rotates. */
export const SECRET_ROTATION_ACTIONS: readonly string[] = Object.freeze([
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:TagResource',
]);

/** The resources of {@link rotationRoleStatements}. */
export interface RotationRoleResources {
  /** The identity's hosted zone, `arn:<partition>:route53:::hostedzone/<id>`. */
  readonly zoneArn: unknown;
  /** Route 53 changes, `arn:<partition>:route53:::change/*` (for the INSYNC wait). */
  readonly changeArn: unknown;
  /** A secret-held key: the signing-key secret's ARN (pattern). */
  readonly secretArn?: unknown;
  /** A KMS-held key: every key of the account and region (`…:key/*`), narrowed by the identity tag. */
  readonly keysArn?: unknown;
  /** A KMS-held key: its alias ARN. */
  readonly aliasArn?: unknown;
}

/**
 * The statements of a rotation function's role: read the identity's zone, change only the
 * identity's TXT RRset, wait for INSYNC; then either the one signing-key secret, or the KMS keys
 * tagged with the identity (creation only with that tag) and its alias, so the function cannot
 * reach another workload's key or record.
 */
export const rotationRoleStatements = (
  name: string,
  resources: RotationRoleResources,
): Record<string, unknown>[] => {
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'ReadIdentityZone',
      Effect: 'Allow',
      Action: ['route53:ListResourceRecordSets'],
      Resource: resources.zoneArn,
    },
    {
      Sid: 'ChangeOwnIdentityRecordOnly',
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets'],
      Resource: resources.zoneArn,
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [name],
          'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        },
      },
    },
    { Sid: 'WaitForInsync', Effect: 'Allow', Action: ['route53:GetChange'], Resource: resources.changeArn },
  ];
  if (resources.secretArn !== undefined) {
    statements.push({
      Sid: 'RotateOwnSigningKeySecret',
      Effect: 'Allow',
      Action: [...SECRET_ROTATION_ACTIONS],
      Resource: resources.secretArn,
    });
  }
  if (resources.keysArn !== undefined) {
    statements.push(
      {
        Sid: 'CreateKeysOfOwnIdentityOnly',
        Effect: 'Allow',
        Action: ['kms:CreateKey', 'kms:TagResource'],
        Resource: '*',
        Condition: {
          StringEquals: { [`aws:RequestTag/${KMS_IDENTITY_TAG}`]: name },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [KMS_IDENTITY_TAG] },
        },
      },
      {
        Sid: 'ManageKeysOfOwnIdentity',
        Effect: 'Allow',
        Action: [
          'kms:DescribeKey',
          'kms:GetPublicKey',
          'kms:ListResourceTags',
          'kms:PutKeyPolicy',
          'kms:ScheduleKeyDeletion',
          'kms:TagResource',
          'kms:CreateAlias',
          'kms:UpdateAlias',
        ],
        Resource: resources.keysArn,
        Condition: { StringEquals: { [`aws:ResourceTag/${KMS_IDENTITY_TAG}`]: name } },
      },
    );
  }
  if (resources.aliasArn !== undefined) {
    statements.push({
      Sid: 'MoveOwnAlias',
      Effect: 'Allow',
      Action: ['kms:CreateAlias', 'kms:UpdateAlias'],
      Resource: resources.aliasArn,
    });
  }
  return statements;
};
