import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type ScalarTag } from 'yaml';

/** CloudFormation short-form intrinsics, parsed into their long form. */
const intrinsic = (tag: string, fn: string, collection?: 'seq' | 'map'): ScalarTag =>
  ({
    tag: `!${tag}`,
    ...(collection === undefined ? {} : { collection }),
    resolve: (value: unknown) => ({ [fn]: value }),
  }) as unknown as ScalarTag;

const customTags = [
  intrinsic('Ref', 'Ref'),
  intrinsic('Sub', 'Fn::Sub'),
  intrinsic('GetAtt', 'Fn::GetAtt'),
  intrinsic('Not', 'Fn::Not', 'seq'),
  intrinsic('Equals', 'Fn::Equals', 'seq'),
  intrinsic('If', 'Fn::If', 'seq'),
];

type Resource = { Type: string; Properties: Record<string, unknown> };
const here = dirname(fileURLToPath(import.meta.url));
const template = parse(readFileSync(join(here, 'template.yaml'), 'utf8'), { customTags }) as {
  Resources: Record<string, Resource>;
};
const resources = Object.entries(template.Resources);
const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);

type Statement = { Effect: string; Action: string[]; Resource: unknown };
const statementsOf = (fn: Resource): Statement[] =>
  ((fn.Properties.Policies ?? []) as Array<{ Statement: Statement[] }>).flatMap((policy) => policy.Statement);

describe('examples/template.yaml', () => {
  it('declares the three functions, their identity records and the AuthFailure alarm', () => {
    expect(ofType('AWS::Serverless::Function').map(([name]) => name)).toEqual([
      'LedgerFunction',
      'BillingFunction',
      'ReportsFunction',
    ]);
    const records = ofType('AWS::Route53::RecordSet');
    expect(records).toHaveLength(3);
    for (const [, record] of records) {
      expect(record.Properties.Type).toBe('TXT');
      const [value] = record.Properties.ResourceRecords as Array<{ 'Fn::Sub': string }>;
      // A quoted TXT value carrying an NHI1 record whose svc matches the record name.
      expect(value?.['Fn::Sub']).toMatch(/^"v=NHI1; svc=([a-z]+); env=\$\{Environment\}; kid=.*"$/);
      const svc = /svc=([a-z]+)/.exec(value?.['Fn::Sub'] ?? '')?.[1];
      expect((record.Properties.Name as { 'Fn::Sub': string })['Fn::Sub']).toMatch(new RegExp(`^${svc}\\.`));
    }
    const [[, alarm] = ['', undefined]] = ofType('AWS::CloudWatch::Alarm');
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('AuthFailure');
  });

  it('keeps every secret under /<environment>/ and every function reading only its own namespace', () => {
    for (const [, secret] of ofType('AWS::SecretsManager::Secret')) {
      expect((secret.Properties.Name as { 'Fn::Sub': string })['Fn::Sub']).toMatch(/^\/\$\{Environment\}\//);
    }
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
    const expectedNamespace: Record<string, string | undefined> = {
      LedgerFunction: '/${Environment}/ledger/*',
      BillingFunction: '/${Environment}/nhi/billing/*',
      ReportsFunction: undefined,
    };
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
    for (const [name, fn] of ofType('AWS::Serverless::Function')) {
      const secretStatements = statementsOf(fn).filter((s) =>
        s.Action.some((a) => a.startsWith('secretsmanager:')),
      );
      const namespace = expectedNamespace[name];
      if (namespace === undefined) {
        expect(secretStatements).toEqual([]);
        continue;
      }
      for (const statement of secretStatements) {
        if (statement.Action.every((a) => a === 'secretsmanager:BatchGetSecretValue')) {
          // BatchGetSecretValue has no resource-level permissions; each secret is still checked
          // against GetSecretValue, which is scoped below.
          expect(statement.Resource).toBe('*');
          continue;
        }
        const arn = (statement.Resource as { 'Fn::Sub': string })['Fn::Sub'];
        expect(arn.endsWith(`:secret:${namespace}`)).toBe(true);
        expect(
          statement.Action.every((a) =>
            ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].includes(a),
          ),
        ).toBe(true);
      }
      // No function may write secrets or touch DNS at run time.
      const actions = statementsOf(fn).flatMap((s) => s.Action);
      expect(actions.filter((a) => /^(route53:|secretsmanager:(Put|Create|Update|Delete))/.test(a))).toEqual(
        [],
      );
    }
  });
});
