import { tmpdir } from 'node:os';
import { NhiError } from '@nhi-dns/core';
import { compileNhi } from './compile.js';
import { type ResolvedConfig, resolveConfig, type ServiceInput } from './config.js';
import { ERROR_CODE, type ServerlessFunction, type ServerlessInstance, ServerlessNhiDns } from './plugin.js';
import type { AwsNaming, CfnResource, CfnTemplate } from './template.js';

const ZONE = 'auth.example.com';
const KEY = { kid: 'k1', publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' };

/** Serverless v3's naming for plain function keys. */
const naming: AwsNaming = {
  getNormalizedFunctionName: (key) => `${key.charAt(0).toUpperCase()}${key.slice(1)}`.replace(/-/g, 'Dash'),
  getLambdaLogicalId: (key) => `${naming.getNormalizedFunctionName(key)}LambdaFunction`,
  getRoleLogicalId: () => 'IamRoleLambdaExecution',
};

const sharedRole = (statements: unknown[] = []): CfnResource => ({
  Type: 'AWS::IAM::Role',
  Properties: {
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
      ],
    },
    Policies: [
      { PolicyName: 'svc-prod-lambda', PolicyDocument: { Version: '2012-10-17', Statement: statements } },
    ],
    Path: '/',
    RoleName: 'svc-prod-eu-west-1-lambdaRole',
  },
});

/** A compiled template as Serverless leaves it before `package:finalize`. */
const compiledTemplate = (functions: string[], role: CfnResource = sharedRole()): CfnTemplate => ({
  Resources: {
    IamRoleLambdaExecution: role,
    ...Object.fromEntries(
      functions.map((key) => [
        naming.getLambdaLogicalId(key),
        {
          Type: 'AWS::Lambda::Function',
          Properties: { Role: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] } },
          DependsOn: [`${naming.getNormalizedFunctionName(key)}LogGroup`],
        },
      ]),
    ),
  },
  Outputs: {},
});

const resolve = (custom: unknown, functions: Record<string, unknown>): ResolvedConfig => {
  const input: ServiceInput = {
    custom,
    stage: 'prod',
    serviceDir: tmpdir(),
    functions: Object.entries(functions).map(([key, nhi]) => ({ key, nhi })),
  };
  const config = resolveConfig(input);
  if (config === undefined) throw new Error('no config');
  return config;
};

const configError = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(NhiError);
    expect((error as NhiError).reason).toBe('invalid_config');
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('compileNhi', () => {
  it("with recordOwner 'cli' adds no record, and says in the outputs that the CLI owns it", () => {
    const template = compiledTemplate(['ledger', 'reports']);
    const report = compileNhi(
      template,
      resolve(
        { zone: ZONE },
        {
          ledger: { identity: 'ledger', secrets: ['ledger/db'] },
          reports: { identity: 'reports', selfCheck: true },
        },
      ),
      naming,
    );
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types).not.toContain('AWS::Route53::RecordSet');
    expect(report.records).toEqual([]);
    expect(report.roles).toEqual({ ledger: 'LedgerNhiRole' });
    expect(template.Outputs).toEqual({
      LedgerNhiIdentityName: {
        Value: 'ledger.prod.auth.example.com',
        Description: expect.stringContaining(
          'owned by the nhi-dns CLI (keygen, publish, rotate, revoke), not by this stack',
        ),
      },
      ReportsNhiIdentityName: expect.objectContaining({ Value: 'reports.prod.auth.example.com' }),
    });
    // Without a stack-owned record there is nothing to depend on.
    expect(template.Resources.ReportsLambdaFunction?.DependsOn).toEqual(['ReportsLogGroup']);
    expect(report.alarms).toHaveLength(7);
  });

  it('copies the provider role without its name, keeps its statements and adds only the own grants', () => {
    const logs = {
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: ['arn:aws:logs:*:*:log-group:/aws/lambda/svc-prod*:*:*'],
    };
    const template = compiledTemplate(['billing'], sharedRole([logs]));
    compileNhi(
      template,
      resolve(
        { zone: ZONE },
        { billing: { identity: 'billing', sign: true, secrets: ['billing/api-token'] } },
      ),
      naming,
    );
    const role = template.Resources.BillingNhiRole;
    expect(role?.Properties?.RoleName).toBeUndefined();
    expect(role?.Properties?.Path).toBe('/');
    expect(role?.Properties?.Policies).toEqual([
      { PolicyName: 'svc-prod-lambda', PolicyDocument: { Version: '2012-10-17', Statement: [logs] } },
      {
        PolicyName: 'nhi-dns-secrets',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            expect.objectContaining({
              Sid: 'NhiReadOwnSecrets',
              Resource: [
                {
                  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:/prod/billing/api-token-??????`,
                },
              ],
            }),
            expect.objectContaining({
              Sid: 'NhiReadOwnSigningKey',
              Resource: [
                {
                  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:/prod/nhi/billing/signing-key-??????`,
                },
              ],
            }),
          ],
        },
      },
    ]);
    // The shared role is left as it was: no grant reaches the other functions.
    expect(template.Resources.IamRoleLambdaExecution).toEqual(sharedRole([logs]));
    expect(template.Resources.BillingLambdaFunction?.Properties?.Role).toEqual({
      'Fn::GetAtt': ['BillingNhiRole', 'Arn'],
    });
  });

  it("sign: kms creates the identity's KMS key, its alias and a kms:Sign grant on that key only, per signing function", () => {
    const template = compiledTemplate(['billing', 'billingBatch', 'ledger']);
    const config = resolve(
      { zone: ZONE },
      {
        billing: { identity: 'billing', sign: 'kms' },
        billingBatch: { identity: 'billing', sign: 'kms', secrets: ['billing/api-token'] },
        ledger: { identity: 'ledger', secrets: ['ledger/db'] },
      },
    );
    const report = compileNhi(template, config, naming);
    expect(report.kmsKeys).toEqual({ billing: 'NhiSigningKeyBillingProd' });
    expect(report.roles).toEqual({
      billing: 'BillingNhiRole',
      billingBatch: 'BillingBatchNhiRole',
      ledger: 'LedgerNhiRole',
    });
    const key = template.Resources.NhiSigningKeyBillingProd;
    expect(key).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySpec: 'ECC_NIST_EDWARDS25519',
        KeyUsage: 'SIGN_VERIFY',
        Tags: [{ Key: 'nhi:identity', Value: 'billing.prod.auth.example.com' }],
      },
    });
    const signers = [
      { 'Fn::GetAtt': ['BillingNhiRole', 'Arn'] },
      { 'Fn::GetAtt': ['BillingBatchNhiRole', 'Arn'] },
    ];
    const statements =
      (key?.Properties?.KeyPolicy as { Statement: Record<string, unknown>[] } | undefined)?.Statement ?? [];
    expect(statements.map((statement) => [statement.Sid, statement.Condition])).toEqual([
      ['AccountAdministersButDoesNotSign', undefined],
      ['OnlyTheWorkloadSigns', { ArnNotEquals: { 'aws:PrincipalArn': signers } }],
      ['WorkloadSigns', { ArnEquals: { 'aws:PrincipalArn': signers } }],
    ]);
    expect(template.Resources.NhiSigningKeyAliasBillingProd).toEqual({
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: 'alias/nhi/prod/billing', TargetKeyId: { Ref: 'NhiSigningKeyBillingProd' } },
    });
    for (const [fn, roleId] of [
      ['Billing', 'BillingNhiRole'],
      ['BillingBatch', 'BillingBatchNhiRole'],
    ] as const) {
      expect(template.Resources[`${fn}NhiKmsSignPolicy`]).toEqual({
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'nhi-dns-kms-sign',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'NhiSignWithOwnKmsKey',
                Effect: 'Allow',
                Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
                Resource: { 'Fn::GetAtt': ['NhiSigningKeyBillingProd', 'Arn'] },
              },
            ],
          },
          Roles: [{ Ref: roleId }],
        },
      });
      const fnResource = template.Resources[`${fn}LambdaFunction`];
      expect(fnResource?.Properties?.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(fnResource?.DependsOn).toEqual(
        expect.arrayContaining([`${fn}NhiKmsSignPolicy`, 'NhiSigningKeyAliasBillingProd']),
      );
    }
    // No secret for the KMS-held key: billing's role has no nhi-dns-secrets policy at all, the
    // batch function's reads only its own secret.
    const policyNames = (roleId: string) =>
      ((template.Resources[roleId]?.Properties?.Policies ?? []) as { PolicyName: string }[]).map(
        (p) => p.PolicyName,
      );
    expect(policyNames('BillingNhiRole')).toEqual(['svc-prod-lambda']);
    expect(JSON.stringify(template.Resources.BillingBatchNhiRole)).not.toContain('signing-key');
    expect(JSON.stringify(template)).not.toContain('/nhi/billing/signing-key');
    // ledger signs nothing: it is in no key policy and has no KMS grant.
    expect(JSON.stringify(key)).not.toContain('LedgerNhiRole');
    expect(template.Resources.LedgerNhiKmsSignPolicy).toBeUndefined();
    // identity-sign finds the key by its alias.
    expect(config.functions.map((fn) => fn.environment.NHI_KMS_KEY_ID)).toEqual([
      'alias/nhi/prod/billing',
      'alias/nhi/prod/billing',
      undefined,
    ]);
  });

  it('sign: kms with kmsKeyType p256 makes a P-256 key; one identity, one key type', () => {
    const template = compiledTemplate(['billing']);
    compileNhi(
      template,
      resolve({ zone: ZONE }, { billing: { identity: 'billing', sign: 'kms', kmsKeyType: 'p256' } }),
      naming,
    );
    expect(template.Resources.NhiSigningKeyBillingProd?.Properties?.KeySpec).toBe('ECC_NIST_P256');
    expect(
      configError(() =>
        resolve(
          { zone: ZONE },
          {
            a: { identity: 'billing', sign: 'kms' },
            b: { identity: 'billing', sign: 'kms', kmsKeyType: 'p256' },
          },
        ),
      ),
    ).toMatch(/functions\.b\.nhi\.kmsKeyType .*functions\.a\.nhi signs as billing with a ed25519 KMS key/);
    expect(
      configError(() =>
        resolve({ zone: ZONE }, { a: { identity: 'billing', sign: true, kmsKeyType: 'p256' } }),
      ),
    ).toMatch(/functions\.a\.nhi\.kmsKeyType .*only with sign: kms/);
    expect(configError(() => resolve({ zone: ZONE }, { a: { identity: 'billing', sign: 'hsm' } }))).toMatch(
      /functions\.a\.nhi: option 'sign' is 'hsm'; allowed: true \| false, or 'kms'/,
    );
    // The stack cannot publish a KMS key's public half: the CLI does, after the deployment.
    expect(
      configError(() =>
        resolve(
          { zone: ZONE, recordOwner: 'stack', hostedZoneId: 'Z0123456789ABC' },
          { a: { identity: 'billing', sign: 'kms', publicKey: KEY } },
        ),
      ),
    ).toMatch(/functions\.a\.nhi\.sign .*nhi-dns publish --kms-key-id alias\/nhi\/prod\/billing/);
  });

  it('refuses grants for a function that runs under a role of its own', () => {
    const template = compiledTemplate(['ledger']);
    template.Resources.LedgerLambdaFunction!.Properties!.Role = 'arn:aws:iam::123456789012:role/ledger';
    const message = configError(() =>
      compileNhi(
        template,
        resolve({ zone: ZONE }, { ledger: { identity: 'ledger', secrets: ['ledger/db'] } }),
        naming,
      ),
    );
    expect(message).toContain('functions.ledger.role "arn:aws:iam::123456789012:role/ledger" is not allowed');
    expect(message).toContain('grant secretsmanager:GetSecretValue');
  });

  it('warns when the provider role lets every function use Secrets Manager on "*" without reading values', () => {
    const broad = { Effect: 'Allow', Action: ['secretsmanager:ListSecrets'], Resource: '*' };
    const report = compileNhi(
      compiledTemplate(['ledger'], sharedRole([broad])),
      resolve({ zone: ZONE }, { ledger: { identity: 'ledger', secrets: ['ledger/db'] } }),
      naming,
    );
    expect(report.warnings).toEqual([
      expect.stringContaining('the provider role grants Secrets Manager on "*" to every function'),
    ]);
  });

  const sub = (name: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}`,
  });

  it.each([
    ['/prod/* (the pattern the docs once showed)', 'secretsmanager:GetSecretValue', sub('/prod/*')],
    ['secret:*', ['secretsmanager:GetSecretValue', 'secretsmanager:BatchGetSecretValue'], sub('*')],
    ['"*" with secretsmanager:*', 'secretsmanager:*', '*'],
    ['"*" with Get*', 'secretsmanager:Get*', '*'],
    ['a literal prefix of a signing key', '*', 'arn:aws:secretsmanager:eu-west-1:1:secret:/prod/nhi/bill*'],
    [
      'another workload’s exact key',
      'secretsmanager:GetSecretValue',
      sub('/prod/nhi/billing/signing-key-??????'),
    ],
  ])(
    'refuses a provider statement on %s: every function could read and sign with other workloads’ keys',
    (_, Action, Resource) => {
      const statement = { Effect: 'Allow', Action, Resource };
      const template = compiledTemplate(['ledger', 'reports'], sharedRole([statement]));
      const message = configError(() =>
        compileNhi(
          template,
          resolve(
            { zone: ZONE },
            { ledger: { identity: 'ledger', secrets: ['ledger/db'] }, reports: { identity: 'reports' } },
          ),
          naming,
        ),
      );
      expect(message).toContain('serverless-nhi-dns: provider.iam.role.statements {"Effect":"Allow"');
      expect(message).toContain(
        "every function of the service can read other workloads' signing keys (/prod/nhi/<service>/signing-key) and sign as them",
      );
      expect(message).toContain('set custom.nhi.allowBroadSecretsGrant: true');
      // Refused before anything is added: no per-function role copies the grant.
      expect(template.Resources.LedgerNhiRole).toBeUndefined();
    },
  );

  it('with custom.nhi.allowBroadSecretsGrant: true packages the grant and warns, naming the setting; narrower grants pass', () => {
    const narrow = [
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: sub('/prod/app/*') },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: sub('/prod/app/db-??????') },
      // BatchGetSecretValue takes only "*" and reads each secret through GetSecretValue.
      { Effect: 'Allow', Action: 'secretsmanager:BatchGetSecretValue', Resource: '*' },
      { Effect: 'Deny', Action: 'secretsmanager:*', Resource: '*' },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: 'AppSecret' } },
    ];
    const broad = { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: sub('/prod/*') };
    const template = compiledTemplate(['billing'], sharedRole([...narrow, broad]));
    const report = compileNhi(
      template,
      resolve({ zone: ZONE, allowBroadSecretsGrant: true }, { billing: { identity: 'billing', sign: true } }),
      naming,
    );
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /^provider\.iam\.role\.statements .*every function of the service can read other workloads' signing keys .*secret:\/prod\/\*" \(intrinsics read as \*\) matches them \(allowed by custom\.nhi\.allowBroadSecretsGrant\)$/,
      ),
      // The BatchGetSecretValue statement: Secrets Manager on "*", though it reads no value.
      expect.stringContaining('the provider role grants Secrets Manager on "*" to every function'),
    ]);
    // The function still gets its role with its own signing-key grant.
    expect(report.roles).toEqual({ billing: 'BillingNhiRole' });
  });

  it('gives functions that share a service dimension one set of alarms', () => {
    const template = compiledTemplate(['api', 'worker']);
    const report = compileNhi(
      template,
      resolve(
        {
          zone: ZONE,
          alarms: { actions: ['arn:aws:sns:eu-west-1:123456789012:pager'], authFailureThreshold: 20 },
        },
        {
          api: { identity: 'ledger' },
          worker: { identity: 'ledger', selfCheck: true },
        },
      ),
      naming,
    );
    expect(report.alarms).toEqual([
      'ApiNhiAuthFailureAlarm',
      'ApiNhiDnsMissAnomalyAlarm',
      'ApiNhiDnsMissCeilingAlarm',
      'ApiNhiSelfCheckAlarm',
    ]);
    expect(template.Resources.ApiNhiAuthFailureAlarm?.Properties).toMatchObject({
      Threshold: 20,
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:pager'],
    });
  });

  it('puts a stack-owned record into the hosted zone given by an intrinsic, and a revoked key as p=', () => {
    const template = compiledTemplate(['ledger']);
    compileNhi(
      template,
      resolve(
        { zone: ZONE, recordOwner: 'stack', hostedZoneId: { Ref: 'IdentityZone' }, recordTtl: 60 },
        { ledger: { identity: 'ledger', selfCheck: true, publicKey: [KEY, { kid: 'k0', publicKey: '' }] } },
      ),
      naming,
    );
    expect(template.Resources.NhiIdentityLedgerProd).toEqual({
      Type: 'AWS::Route53::RecordSet',
      Properties: {
        HostedZoneId: { Ref: 'IdentityZone' },
        Name: 'ledger.prod.auth.example.com.',
        Type: 'TXT',
        TTL: '60',
        ResourceRecords: [
          `"v=NHI1; svc=ledger; env=prod; kid=k1; k=ed25519; p=${KEY.publicKey}"`,
          '"v=NHI1; svc=ledger; env=prod; kid=k0; k=ed25519; p="',
        ],
      },
    });
    expect(template.Resources.LedgerLambdaFunction?.DependsOn).toEqual([
      'LedgerLogGroup',
      'NhiIdentityLedgerProd',
    ]);
  });

  it('pins a key to its mTLS client certificate (certThumbprint → x5t-s256), and refuses a malformed pin', () => {
    const thumbprint = Buffer.alloc(32, 9).toString('base64url');
    const template = compiledTemplate(['ledger']);
    compileNhi(
      template,
      resolve(
        { zone: ZONE, recordOwner: 'stack' },
        {
          ledger: { identity: 'ledger', selfCheck: true, publicKey: { ...KEY, certThumbprint: thumbprint } },
        },
      ),
      naming,
    );
    expect(template.Resources.NhiIdentityLedgerProd?.Properties?.ResourceRecords).toEqual([
      `"v=NHI1; svc=ledger; env=prod; kid=k1; k=ed25519; p=${KEY.publicKey}; x5t-s256=${thumbprint}"`,
    ]);
    const refused = configError(() =>
      resolve(
        { zone: ZONE, recordOwner: 'stack' },
        {
          ledger: { identity: 'ledger', selfCheck: true, publicKey: { ...KEY, certThumbprint: 'not-a-pin' } },
        },
      ),
    );
    expect(refused).toMatch(/certThumbprint/);
  });

  it('refuses keys the CLI would refuse to publish, and a logical id that is taken', () => {
    const conflict = configError(() =>
      compileNhi(
        compiledTemplate(['ledger']),
        resolve(
          { zone: ZONE, recordOwner: 'stack' },
          {
            ledger: {
              identity: 'ledger',
              publicKey: [KEY, { kid: 'k1', publicKey: 'h/E8fUzieYNe1woKyHNLwzOqpgSglSdgpDlB2CdqXyU=' }],
            },
          },
        ),
        naming,
      ),
    );
    expect(conflict).toContain(
      'functions.ledger.nhi.publicKey ["k1","k1"] is not allowed: the record of ledger.prod.auth.example.com cannot be published',
    );
    const badKey = configError(() =>
      compileNhi(
        compiledTemplate(['ledger']),
        resolve(
          { zone: ZONE, recordOwner: 'stack' },
          { ledger: { identity: 'ledger', publicKey: { kid: 'k1', publicKey: 'not base64!' } } },
        ),
        naming,
      ),
    );
    expect(badKey).toContain('functions.ledger.nhi.publicKey');
    const template = compiledTemplate(['ledger']);
    template.Resources.LedgerNhiAuthFailureAlarm = { Type: 'AWS::CloudWatch::Alarm' };
    expect(
      configError(() =>
        compileNhi(template, resolve({ zone: ZONE }, { ledger: { identity: 'ledger' } }), naming),
      ),
    ).toContain('resources "LedgerNhiAuthFailureAlarm"');
  });
});

class FakeServerlessError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A Serverless v3 instance as far as the plugin reads it. */
const fakeServerless = (custom: unknown, functions: Record<string, ServerlessFunction>) => {
  const schemas: unknown[] = [];
  const serverless: ServerlessInstance = {
    service: {
      service: 'svc',
      custom: { nhi: custom },
      provider: {
        name: 'aws',
        stage: 'prod',
        compiledCloudFormationTemplate: compiledTemplate(Object.keys(functions)),
      },
      getAllFunctions: () => Object.keys(functions),
      getFunction: (key) => functions[key]!,
    },
    serviceDir: tmpdir(),
    getProvider: () => ({ naming, getStage: () => 'prod' }),
    classes: { Error: FakeServerlessError },
    configSchemaHandler: {
      defineCustomProperties: (schema) => void schemas.push(['custom', schema]),
      defineFunctionProperties: (provider, schema) => void schemas.push([provider, schema]),
    },
  };
  return { serverless, schemas };
};

describe('ServerlessNhiDns (the plugin class)', () => {
  it('declares its schema, hooks initialize and before:package:finalize, and sets the environment on the function', () => {
    const ledger: ServerlessFunction = {
      handler: 'dist/ledger.handler',
      environment: { TABLE: 't' },
      nhi: { identity: 'ledger' },
    };
    const { serverless, schemas } = fakeServerless({ zone: ZONE, dnsServers: ['10.0.0.2'] }, { ledger });
    const plugin = new ServerlessNhiDns(serverless);
    expect(schemas.map((entry) => (entry as [string])[0])).toEqual(['custom', 'aws']);
    expect(Object.keys(plugin.hooks)).toEqual(['initialize', 'before:package:finalize']);
    void plugin.hooks.initialize?.();
    expect(ledger.environment).toEqual({
      TABLE: 't',
      NHI_ZONE: ZONE,
      NHI_ENVIRONMENT: 'prod',
      NHI_SELF: 'ledger.prod.auth.example.com',
      NHI_DNS_SERVERS: '10.0.0.2',
      POWERTOOLS_SERVICE_NAME: 'ledger',
      POWERTOOLS_METRICS_NAMESPACE: 'NHI',
    });
    void plugin.hooks['before:package:finalize']?.();
    expect(plugin.report?.alarms).toHaveLength(3);
    expect(Object.keys(serverless.service.provider.compiledCloudFormationTemplate.Resources)).toContain(
      'LedgerNhiAuthFailureAlarm',
    );
  });

  it('reports a configuration error as a ServerlessError with code NHI_INVALID_CONFIG, the typed error as its cause', () => {
    const { serverless } = fakeServerless(
      { zone: ZONE },
      { ledger: { nhi: { identity: 'ledger', secrets: ['../billing/db'] } } },
    );
    const plugin = new ServerlessNhiDns(serverless);
    let thrown: unknown;
    try {
      plugin.initialize();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FakeServerlessError);
    expect(thrown).toMatchObject({
      code: ERROR_CODE,
      message: expect.stringContaining(
        'serverless-nhi-dns: functions.ledger.nhi.secrets[0] "../billing/db" is not allowed',
      ),
      cause: expect.any(NhiError),
    });
  });

  it('reports a shared-role grant on other workloads’ signing keys as NHI_INVALID_CONFIG at packaging', () => {
    const { serverless } = fakeServerless({ zone: ZONE }, { ledger: { nhi: { identity: 'ledger' } } });
    serverless.service.provider.compiledCloudFormationTemplate.Resources.IamRoleLambdaExecution = sharedRole([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:/prod/*'],
      },
    ]);
    const plugin = new ServerlessNhiDns(serverless);
    plugin.initialize();
    expect(() => plugin.package()).toThrow(
      expect.objectContaining({
        code: ERROR_CODE,
        message: expect.stringContaining('to deploy it anyway, set custom.nhi.allowBroadSecretsGrant: true'),
        cause: expect.any(NhiError),
      }),
    );
  });

  it('does nothing for a service that does not use it', () => {
    const { serverless } = fakeServerless(undefined, { other: { handler: 'x.handler' } });
    const plugin = new ServerlessNhiDns(serverless);
    plugin.initialize();
    plugin.package();
    expect(plugin.config).toBeUndefined();
    expect(Object.keys(serverless.service.provider.compiledCloudFormationTemplate.Resources)).toEqual([
      'IamRoleLambdaExecution',
      'OtherLambdaFunction',
    ]);
  });
});
