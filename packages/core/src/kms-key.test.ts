import { KMS_KEY_SPECS, keyTypeOfKmsKeySpec, kidOfKmsKey, kmsAliasName, kmsKeyPolicy } from './kms-key.js';

const ROOT = 'arn:aws:iam::123456789012:root';
const ROLE = 'arn:aws:iam::123456789012:role/billing-function';

describe('KMS signing keys', () => {
  it('maps record key types to KMS key specs and back, nothing else', () => {
    expect(KMS_KEY_SPECS.ed25519).toEqual({
      keySpec: 'ECC_NIST_EDWARDS25519',
      signingAlgorithm: 'ED25519_SHA_512',
    });
    expect(keyTypeOfKmsKeySpec('ECC_NIST_P256')).toBe('p256');
    for (const spec of ['RSA_2048', 'ECC_SECG_P256K1', undefined])
      expect(keyTypeOfKmsKeySpec(spec)).toBeUndefined();
  });

  it('derives kms-<key id> from a key id or key ARN, and nothing from an alias', () => {
    const id = '1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(kidOfKmsKey(id)).toBe(`kms-${id}`);
    expect(kidOfKmsKey(`arn:aws:kms:eu-west-1:123456789012:key/${id}`)).toBe(`kms-${id}`);
    expect(kidOfKmsKey('alias/nhi/prod/billing')).toBeUndefined();
    expect(kmsAliasName('billing', 'prod')).toBe('alias/nhi/prod/billing');
  });

  it('lets only the signer roles sign, denies Sign to every other principal, and locks everyone out before DNS', () => {
    const policy = kmsKeyPolicy({ accountRoot: ROOT, signerRoles: [ROLE] }) as {
      Statement: Record<string, unknown>[];
    };
    const [admin, deny, allow] = policy.Statement;
    expect(admin).toMatchObject({ Effect: 'Allow', Principal: { AWS: ROOT } });
    expect(admin?.Action).not.toContain('kms:Sign');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Action: 'kms:Sign',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROLE] } },
    });
    // Matched on aws:PrincipalArn, not named as principals: KMS validates principals when the
    // policy is written, and a deploy creates the roles in the same run.
    expect(allow).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
      Condition: { ArnEquals: { 'aws:PrincipalArn': [ROLE] } },
    });
    const locked = kmsKeyPolicy({ accountRoot: ROOT, signerRoles: [ROLE], withoutSigners: true }) as {
      Statement: Record<string, unknown>[];
    };
    expect(locked.Statement).toHaveLength(2);
    expect(locked.Statement[1]).toMatchObject({
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROOT] } },
    });
  });

  it('denies policy and alias changes to all but the named administrators, when they are named', () => {
    const admin = 'arn:aws:iam::123456789012:role/nhi-pipeline';
    const policy = kmsKeyPolicy({ accountRoot: ROOT, signerRoles: [ROLE], adminRoles: [admin] }) as {
      Statement: Record<string, unknown>[];
    };
    expect(policy.Statement.find((s) => s.Sid === 'OnlyAdministratorsChangeIt')).toEqual({
      Sid: 'OnlyAdministratorsChangeIt',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['kms:PutKeyPolicy', 'kms:UpdateAlias', 'kms:CreateGrant'],
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [admin] } },
    });
    const open = kmsKeyPolicy({ accountRoot: ROOT, signerRoles: [ROLE] }) as {
      Statement: Record<string, unknown>[];
    };
    expect(open.Statement.some((s) => s.Sid === 'OnlyAdministratorsChangeIt')).toBe(false);
  });
});
