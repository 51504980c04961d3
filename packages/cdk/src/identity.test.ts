import { parseTxtValue, render } from '@nhi-dns/cli';
import { parseRecordSet } from '@nhi-dns/core';
import { CfnParameter, Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { NhiIdentity } from './identity.js';
import {
  ed25519PublicKey,
  newFunction,
  newStack,
  onlyResource,
  p256PublicKey,
  secretArn,
} from './stack.test-helper.js';

const zone = 'auth.example.com';
const NAME = 'ledger.prod.auth.example.com';

/** Every IAM statement of the template, flattened. */
const statementsOf = (template: Template): Array<{ Action: unknown; Resource: unknown; Effect: string }> =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument
        .Statement,
  );

const actionsOf = (statement: { Action: unknown }): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action as string];

describe('NhiIdentity record', () => {
  it('publishes one TXT RR per key, the text of formatRecord, quoted as the CLI renders it', () => {
    const stack = newStack();
    const hostedZone = new route53.PublicHostedZone(stack, 'Zone', { zoneName: 'example.com' });
    const keys = [
      { kid: 'k2026-01', keyType: 'ed25519' as const, publicKey: ed25519PublicKey() },
      { kid: 'k2026-02', keyType: 'ed25519' as const, publicKey: ed25519PublicKey() },
    ];
    const identity = new NhiIdentity(stack, 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      hostedZone,
      publicKey: keys,
      attributes: { tier: 'pci' },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Route53::RecordSet', 1);
    // The CLI's `render --format cloudformation` for the same keys is the oracle.
    const rendered = JSON.parse(
      render({
        service: 'ledger',
        environment: 'prod',
        zone,
        format: 'cloudformation',
        keys,
        attributes: { tier: 'pci' },
      }),
    ).Resources.NhiIdentityLedgerProd.Properties;
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      HostedZoneId: { Ref: Match.stringLikeRegexp('^Zone') },
      Name: `${NAME}.`,
      Type: 'TXT',
      TTL: '300',
      ResourceRecords: [...rendered.ResourceRecords].sort(),
    });
    expect(identity.recordTexts).toEqual(
      keys.map(
        (key) => `v=NHI1; svc=ledger; env=prod; kid=${key.kid}; k=ed25519; p=${key.publicKey}; x-tier=pci`,
      ),
    );
    const values = onlyResource(template, 'AWS::Route53::RecordSet').ResourceRecords;
    const parsed = parseRecordSet(
      NAME,
      (values as string[]).map((value) => parseTxtValue(value) ?? []),
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.keys.map((key) => key.kid)).toEqual(['k2026-01', 'k2026-02']);
    expect(parsed.attributes).toEqual({ tier: 'pci' });
  });

  it('splits an RR longer than 255 bytes into character-strings of at most 255', () => {
    const stack = newStack();
    const publicKey = p256PublicKey();
    const attributes = { owner: 'payments-platform-team', tier: 'pci', region: 'eu-central-1-and-eu-west-1' };
    const identity = new NhiIdentity(stack, 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      hostedZoneId: '/hostedzone/Z0123456789ABC',
      ttl: Duration.seconds(60),
      publicKey: { kid: 'k1', keyType: 'p256', publicKey, expiresAt: 1_900_000_000 },
      attributes,
    });
    const [text] = identity.recordTexts;
    expect(Buffer.byteLength(text ?? '')).toBeGreaterThan(255);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      HostedZoneId: 'Z0123456789ABC',
      TTL: '60',
      ResourceRecords: [`"${text?.slice(0, 255)}" "${text?.slice(255)}"`],
    });
    const [value] = onlyResource(template, 'AWS::Route53::RecordSet').ResourceRecords;
    const strings = parseTxtValue(value) ?? [];
    expect(strings.map((part) => part.length)).toEqual([255, Buffer.byteLength(text ?? '') - 255]);
    const parsed = parseRecordSet(NAME, [strings]);
    expect(parsed.keys).toEqual([
      expect.objectContaining({
        kid: 'k1',
        keyType: 'p256',
        publicKey,
        expiresAt: 1_900_000_000,
        attributes,
      }),
    ]);
  });

  it('pins a client certificate to a key (x5t-s256), and refuses a thumbprint that is not one', () => {
    const thumbprint = Buffer.alloc(32, 7).toString('base64url');
    const identity = new NhiIdentity(newStack(), 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      hostedZoneId: 'Z0123456789ABC',
      publicKey: { kid: 'k1', publicKey: Buffer.alloc(32, 1).toString('base64'), certThumbprint: thumbprint },
    });
    expect(parseRecordSet(NAME, [[identity.recordTexts[0] ?? '']]).keys).toEqual([
      expect.objectContaining({ kid: 'k1', certThumbprint: thumbprint }),
    ]);
    expect(
      () =>
        new NhiIdentity(newStack(), 'Bad', {
          zone,
          service: 'ledger',
          environment: 'prod',
          hostedZoneId: 'Z0123456789ABC',
          publicKey: { kid: 'k1', publicKey: Buffer.alloc(32, 1).toString('base64'), certThumbprint: 'abc' },
        }),
    ).toThrow(/x5t-s256/);
  });

  it('declares no record when the CLI owns it (one owner per record)', () => {
    const stack = newStack();
    newFunction(stack, 'Fn'); // a stack of no resource is no template
    const identity = new NhiIdentity(stack, 'Billing', {
      zone,
      service: 'billing',
      environment: 'prod',
      recordOwner: 'cli',
    });
    Template.fromStack(stack).resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(identity.record).toBeUndefined();
    expect(identity.recordOwner).toBe('cli');
    expect(identity.name).toBe('billing.prod.auth.example.com');
    expect(identity.signingKeySecretName).toBe('/prod/nhi/billing/signing-key');
  });

  const base = { zone, service: 'ledger', environment: 'prod' };
  const key = { kid: 'k1', publicKey: ed25519PublicKey() };
  const refusals: Array<[string, (stack: Stack) => unknown, RegExp]> = [
    [
      'two owners',
      (s) => new NhiIdentity(s, 'A', { ...base, recordOwner: 'cli', publicKey: key } as never),
      /one owner/,
    ],
    ['no owner', (s) => new NhiIdentity(s, 'A', { ...base } as never), /recordOwner: 'cli'/],
    [
      'an upper-case label',
      (s) => new NhiIdentity(s, 'A', { ...base, service: 'Ledger', recordOwner: 'cli' }),
      /lower case/,
    ],
    [
      'a bad label',
      (s) => new NhiIdentity(s, 'A', { ...base, service: 'led_ger', recordOwner: 'cli' }),
      /labels/,
    ],
    [
      'a token',
      (s) =>
        new NhiIdentity(s, 'A', {
          ...base,
          environment: new CfnParameter(s, 'Env').valueAsString,
          recordOwner: 'cli',
        }),
      /known at synthesis/,
    ],
    [
      'no hosted zone',
      (s) => new NhiIdentity(s, 'A', { ...base, publicKey: key }),
      /exactly one of hostedZone/,
    ],
    [
      'a bad hosted zone id',
      (s) => new NhiIdentity(s, 'A', { ...base, publicKey: key, hostedZoneId: 'z!' }),
      /hosted zone id/,
    ],
    [
      'a record outside the hosted zone',
      (s) =>
        new NhiIdentity(s, 'A', {
          ...base,
          publicKey: key,
          hostedZone: new route53.PublicHostedZone(s, 'Z', { zoneName: 'other.example' }),
        }),
      /inside the hosted zone/,
    ],
    [
      'a kid twice',
      (s) =>
        new NhiIdentity(s, 'A', {
          ...base,
          publicKey: [key, { ...key, publicKey: ed25519PublicKey() }],
          hostedZoneId: 'Z1',
        }),
      /each kid/,
    ],
    [
      'a bad key',
      (s) =>
        new NhiIdentity(s, 'A', { ...base, publicKey: { kid: 'k1', publicKey: 'AAAA' }, hostedZoneId: 'Z1' }),
      /ed25519 key must be 32 raw bytes/,
    ],
    [
      'no keys',
      (s) => new NhiIdentity(s, 'A', { ...base, publicKey: [], hostedZoneId: 'Z1' }),
      /at least one key/,
    ],
  ];
  it.each(refusals)('refuses %s', (_what, create, message) => {
    expect(() => create(newStack())).toThrow(message);
  });
});

describe('NhiIdentity grants', () => {
  it('grantSign allows reading exactly the signing key: its ARN pattern, two actions, no *', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Billing');
    const identity = new NhiIdentity(stack, 'BillingIdentity', {
      zone,
      service: 'billing',
      environment: 'prod',
      recordOwner: 'cli',
    });
    const grant = identity.grantSign(fn);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: secretArn('/prod/nhi/billing/signing-key'),
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^BillingServiceRole') }],
    });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/BatchGetSecretValue/);
  });

  it('grantSecrets allows exactly /<env>/<name> of each name, and refuses names that leave the namespace', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Ledger');
    const role = new iam.Role(stack, 'Other', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const identity = new NhiIdentity(stack, 'LedgerIdentity', {
      zone,
      service: 'ledger',
      environment: 'prod',
      recordOwner: 'cli',
    });
    identity.grantSecrets(fn, ['ledger/db', 'ledger/api-token', 'ledger/db']);
    identity.grantSecrets(role, ['shared/tls']);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: [secretArn('/prod/ledger/db'), secretArn('/prod/ledger/api-token')],
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^LedgerServiceRole') }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Resource: secretArn('/prod/shared/tls') })] },
      Roles: [{ Ref: Match.stringLikeRegexp('^Other') }],
    });
    for (const statement of statementsOf(template)) {
      if (actionsOf(statement).some((action) => action.startsWith('secretsmanager:'))) {
        expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|secret:\*|\/\*/);
      }
    }
    for (const bad of [
      '/prod/x',
      '../staging/db',
      'a//b',
      'a/./b',
      'db/',
      'arn:aws:secretsmanager:x',
      'nhi/billing/signing-key',
      'a b',
    ]) {
      expect(() => identity.grantSecrets(fn, [bad])).toThrow(/@nhi-dns\/cdk: secret name/);
    }
    expect(() => identity.grantSecrets(fn, [])).toThrow(/at least one secret name/);
    expect(identity.secretName('ledger/db')).toBe('/prod/ledger/db');
  });
});
