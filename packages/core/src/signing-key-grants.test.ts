import { grantReachesSigningKeys, signingKeyReach } from './signing-key-grants.js';

const READ = ['secretsmanager:GetSecretValue'];
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
const BILLING = { environment: 'prod', service: 'billing' };

describe('grantReachesSigningKeys', () => {
  it.each([
    '*',
    'arn:aws:secretsmanager:*',
    'arn:*:secretsmanager:*:*:secret:*',
    `${ARN}*`,
    `${ARN}/prod/*`,
    `${ARN}/*/nhi/*`,
    `${ARN}/prod/n*`,
    `${ARN}/prod/nhi/ledger/signing-key-??????`,
    `${ARN}/prod/nhi/*/signing-key*`,
    `${ARN}/?????/nhi/billing/*`,
  ])('a read on %j reaches other workloads’ signing keys', (resource) => {
    expect(grantReachesSigningKeys(READ, [resource])).toBe(true);
    expect(grantReachesSigningKeys(READ, [resource], [BILLING])).toBe(true);
  });

  it.each([
    `${ARN}/prod/app/*`,
    `${ARN}/prod/billing/db-??????`,
    `${ARN}/prod/nhi`,
    `${ARN}/prod/nhi/ledger/signing-key`,
    `${ARN}/prod/nhi/ledger/signing-key-*-??????`,
    `${ARN}/prod/nhi/Ledger/signing-key-??????`,
    'arn:aws:s3:::bucket/*',
    'arn:aws:ssm:*:*:parameter/prod/*',
  ])('a read on %j reaches none', (resource) => {
    expect(grantReachesSigningKeys(READ, [resource])).toBe(false);
  });

  it("lets a workload's grant name its own key, and no one else's", () => {
    const own = `${ARN}/prod/nhi/billing/signing-key-??????`;
    expect(grantReachesSigningKeys(READ, [own], [BILLING])).toBe(false);
    expect(grantReachesSigningKeys(READ, [`${ARN}/prod/nhi/billing/*`], [BILLING])).toBe(false);
    // Another workload's key, or its own service in another environment, is someone else's.
    expect(grantReachesSigningKeys(READ, [own], [{ environment: 'prod', service: 'ledger' }])).toBe(true);
    expect(grantReachesSigningKeys(READ, [own], [{ environment: 'dev', service: 'billing' }])).toBe(true);
    // A prefix of the own name is a prefix of other names too: billing-eu, billing2.
    expect(grantReachesSigningKeys(READ, [`${ARN}/prod/nhi/billing*`], [BILLING])).toBe(true);
    expect(grantReachesSigningKeys(READ, [`${ARN}/prod/nhi/bill*/signing-key-??????`], [BILLING])).toBe(true);
    // Several owners: each may be named, a pattern over both and a third is not.
    const ledger = { environment: 'prod', service: 'ledger' };
    expect(
      grantReachesSigningKeys(READ, [own, `${ARN}/prod/nhi/ledger/signing-key-??????`], [BILLING, ledger]),
    ).toBe(false);
    expect(grantReachesSigningKeys(READ, [`${ARN}/prod/nhi/*`], [BILLING, ledger])).toBe(true);
  });

  it.each([
    [['*']],
    [['secretsmanager:*']],
    [['secretsmanager:Get*']],
    [['SecretsManager:getsecretvalue']],
    [['secretsmanager:?etSecretValue']],
    [['s3:GetObject', 'secretsmanager:GetSecretValue']],
  ])('actions %j read secret values', (actions) => {
    expect(grantReachesSigningKeys(actions, ['*'])).toBe(true);
  });

  it.each([
    [['secretsmanager:DescribeSecret']],
    [['secretsmanager:ListSecrets']],
    [['secretsmanager:List*']],
    [['secretsmanager:GetSecretValueX']],
    [['s3:*']],
    // BatchGetSecretValue authorizes each secret through GetSecretValue: alone it reads nothing.
    [['secretsmanager:BatchGetSecretValue']],
  ])('actions %j read none', (actions) => {
    expect(grantReachesSigningKeys(actions, ['*'])).toBe(false);
  });
});

describe('signingKeyReach', () => {
  it('returns the resource pattern that reaches, or undefined', () => {
    const statement = {
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: [`${ARN}/prod/app/db-??????`, `${ARN}/prod/*`],
    };
    expect(signingKeyReach(statement)).toBe(`${ARN}/prod/*`);
    expect(signingKeyReach({ ...statement, Resource: `${ARN}/prod/app/*` })).toBeUndefined();
    expect(signingKeyReach({ ...statement, Effect: 'Deny' })).toBeUndefined();
    expect(signingKeyReach(undefined)).toBeUndefined();
    expect(signingKeyReach('*')).toBeUndefined();
  });

  it('reads CloudFormation values as globs: Fn::Sub, Fn::Join, Fn::If; a reference names one resource', () => {
    const allow = (Resource: unknown) => ({ Effect: 'Allow', Action: 'secretsmanager:*', Resource });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub placeholders, not a template literal.
    const sub = 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:';
    expect(signingKeyReach(allow({ 'Fn::Sub': `${sub}/prod/*` }))).toBe(
      'arn:*:secretsmanager:*:*:secret:/prod/*',
    );
    expect(signingKeyReach(allow({ 'Fn::Sub': [`${sub}/\${Stage}/*`, { Stage: 'prod' }] }))).toBe(
      'arn:*:secretsmanager:*:*:secret:/*/*',
    );
    expect(signingKeyReach(allow({ 'Fn::Sub': `${sub}/prod/app/db-??????` }))).toBeUndefined();
    // ${!Literal} is the literal text ${Literal}, which no key ARN holds.
    expect(signingKeyReach(allow({ 'Fn::Sub': `${sub}/\${!x}/*` }))).toBeUndefined();
    const join = (tail: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          tail,
        ],
      ],
    });
    expect(signingKeyReach(allow(join(':secret:/prod/*')))).toBe('arn:*:secretsmanager:*:*:secret:/prod/*');
    expect(signingKeyReach(allow(join(':secret:/prod/app/*')))).toBeUndefined();
    expect(
      signingKeyReach(allow(join(':secret:/prod/nhi/billing/signing-key-??????')), [BILLING]),
    ).toBeUndefined();
    expect(signingKeyReach(allow({ 'Fn::If': ['Wide', `${ARN}*`, { Ref: 'AWS::NoValue' }] }))).toBe(
      `${ARN}*`,
    );
    expect(signingKeyReach(allow({ Ref: 'SigningKeySecret' }))).toBeUndefined();
    expect(signingKeyReach(allow({ 'Fn::GetAtt': ['Secret', 'Id'] }))).toBeUndefined();
    expect(signingKeyReach(allow({ 'Fn::Select': [0, ['a', 'b']] }))).toBe('*');
  });

  it('counts NotAction that leaves GetSecretValue out, and any allowed NotResource', () => {
    expect(signingKeyReach({ Effect: 'Allow', NotAction: 's3:*', Resource: '*' })).toBe('*');
    expect(
      signingKeyReach({ Effect: 'Allow', NotAction: ['secretsmanager:Get*'], Resource: '*' }),
    ).toBeUndefined();
    expect(
      signingKeyReach({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        NotResource: `${ARN}/prod/nhi/*`,
      }),
    ).toBe('NotResource');
    // A computed action may be anything.
    expect(signingKeyReach({ Effect: 'Allow', Action: { Ref: 'Action' }, Resource: '*' })).toBe('*');
  });
});
