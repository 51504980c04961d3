import { rotationRoleStatements, SECRET_ROTATION_ACTIONS } from './rotation-grants.js';

const NAME = 'billing.prod.auth.example.com';
const base = { zoneArn: 'arn:aws:route53:::hostedzone/Z1', changeArn: 'arn:aws:route53:::change/*' };

describe('rotationRoleStatements', () => {
  it('lets a secret rotation change only its TXT RRset and its one secret', () => {
    const statements = rotationRoleStatements(NAME, {
      ...base,
      secretArn: 'arn:secret:/prod/nhi/billing/signing-key-??????',
    });
    expect(statements.map((s) => s.Sid)).toEqual([
      'ReadIdentityZone',
      'ChangeOwnIdentityRecordOnly',
      'WaitForInsync',
      'RotateOwnSigningKeySecret',
    ]);
    expect(statements[1]?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [NAME],
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
      },
    });
    expect(statements[3]?.Action).toEqual([...SECRET_ROTATION_ACTIONS]);
    expect(JSON.stringify(statements)).not.toContain('kms:');
  });

  it('lets a KMS rotation create keys only with its identity tag and manage only keys carrying it', () => {
    const statements = rotationRoleStatements(NAME, {
      ...base,
      keysArn: 'arn:key/*',
      aliasArn: 'arn:alias/nhi/prod/billing',
    });
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.CreateKeysOfOwnIdentityOnly?.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/nhi:identity': NAME },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['nhi:identity'] },
    });
    expect(bySid.ManageKeysOfOwnIdentity).toMatchObject({
      Resource: 'arn:key/*',
      Condition: { StringEquals: { 'aws:ResourceTag/nhi:identity': NAME } },
    });
    expect(bySid.ManageKeysOfOwnIdentity?.Action).not.toContain('kms:Sign');
    expect(bySid.MoveOwnAlias).toMatchObject({ Resource: 'arn:alias/nhi/prod/billing' });
    expect(JSON.stringify(statements)).not.toContain('secretsmanager:');
  });
});
