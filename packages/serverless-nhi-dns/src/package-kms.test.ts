// The real thing for KMS-held keys: Serverless Framework v3's `serverless package`, offline, on the
// README's `sign: kms` service, with this plugin bundled from its sources, and cfn-lint on the result.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kmsKeyPolicy } from '@nhi-dns/cli';
import { bundlePlugin, installPlugin, serverlessBin, serverlessEnv } from './service.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');

type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};
type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
};

/** The README's `sign: kms` serverless.yml, as it stands. */
const readmeKmsServerlessYml = (): string => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const yml = /## Signing keys in KMS[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (yml === undefined) throw new Error('README.md has no ```yaml block under "## Signing keys in KMS"');
  return yml;
};

let work: string;
let bundle: string;
let template: { Resources: Record<string, Resource> };
let templateFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nhi-sls-kms-'));
  const tmp = join(packageDir, '.tmp');
  mkdirSync(tmp, { recursive: true });
  bundle = join(tmp, `plugin-kms-${process.pid}.mjs`);
  const service = join(work, 'service');
  for (const dir of ['dist', 'home']) mkdirSync(join(service, dir), { recursive: true });
  await bundlePlugin(bundle);
  installPlugin(service, bundle);
  writeFileSync(join(service, 'serverless.yml'), readmeKmsServerlessYml());
  for (const name of ['ledger', 'billing']) {
    writeFileSync(
      join(service, 'dist', `${name}.mjs`),
      'export const handler = async () => ({ statusCode: 204 });\n',
    );
  }
  await promisify(execFile)(process.execPath, [serverlessBin(), 'package', '--region', 'eu-west-1'], {
    cwd: service,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
    env: serverlessEnv(join(service, 'home')),
  });
  templateFile = join(service, '.serverless', 'cloudformation-template-update-stack.json');
  template = JSON.parse(readFileSync(templateFile, 'utf8'));
}, 240_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  if (bundle !== undefined) rmSync(bundle, { force: true });
});

const resource = (logicalId: string): Resource => {
  const found = template.Resources[logicalId];
  if (found === undefined) throw new Error(`no ${logicalId} in the template`);
  return found;
};
const ofType = (type: string): string[] =>
  Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id)
    .sort();

describe('serverless package (v3, offline) of the README sign: kms service', () => {
  it("creates billing's KMS key (Ed25519, SIGN_VERIFY, retained) and alias/nhi/prod/billing", () => {
    expect(ofType('AWS::KMS::Key')).toEqual(['NhiSigningKeyBillingProd']);
    const key = resource('NhiSigningKeyBillingProd');
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' });
    expect(resource('NhiSigningKeyAliasBillingProd').Properties).toEqual({
      AliasName: 'alias/nhi/prod/billing',
      TargetKeyId: { Ref: 'NhiSigningKeyBillingProd' },
    });
  });

  it("writes the CLI's key policy, billing's role the one signer", () => {
    const statements = (
      resource('NhiSigningKeyBillingProd').Properties.KeyPolicy as { Statement: Statement[] }
    ).Statement;
    const role = `arn:aws:iam::123456789012:role/billing`;
    const cli = (JSON.parse(kmsKeyPolicy({ signerRoles: [role] })).Statement as Statement[]).map(
      (statement) =>
        // The CLI's literal ARNs, as this template writes them.
        JSON.parse(
          JSON.stringify(statement)
            .replaceAll(`"${role}"`, JSON.stringify({ 'Fn::GetAtt': ['BillingNhiRole', 'Arn'] }))
            .replaceAll(
              '"arn:aws:iam::123456789012:root"',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the Fn::Sub placeholders.
              JSON.stringify({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' }),
            ),
        ),
    );
    expect(statements.slice(0, 2)).toEqual(cli.slice(0, 2));
    // The signer allowed by its ARN, not named as a principal (KMS validates principals when the
    // policy is written, and the role is created in the same deployment).
    const { Principal: _named, ...rest } = cli[2] as Statement;
    expect(statements[2]).toEqual({
      ...rest,
      Principal: { AWS: cli[0].Principal.AWS },
      Condition: { ArnEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': ['BillingNhiRole', 'Arn'] }] } },
    });
  });

  it('grants billing kms:Sign on that key only, on a role of its own, with NHI_KMS_KEY_ID; no signing-key secret', () => {
    expect(ofType('AWS::IAM::Policy')).toEqual(['BillingNhiKmsSignPolicy']);
    expect(resource('BillingNhiKmsSignPolicy').Properties).toMatchObject({
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
            Resource: { 'Fn::GetAtt': ['NhiSigningKeyBillingProd', 'Arn'] },
          },
        ],
      },
      Roles: [{ Ref: 'BillingNhiRole' }],
    });
    const billing = resource('BillingLambdaFunction');
    expect(billing.Properties.Role).toEqual({ 'Fn::GetAtt': ['BillingNhiRole', 'Arn'] });
    expect(billing.DependsOn).toEqual(
      expect.arrayContaining(['BillingNhiKmsSignPolicy', 'NhiSigningKeyAliasBillingProd']),
    );
    expect((billing.Properties.Environment as { Variables: Record<string, string> }).Variables).toMatchObject(
      {
        NHI_SELF: 'billing.prod.auth.example.com',
        NHI_KMS_KEY_ID: 'alias/nhi/prod/billing',
      },
    );
    expect(JSON.stringify(template)).not.toContain('signing-key');
    expect(JSON.stringify(resource('BillingNhiRole'))).not.toContain('secretsmanager');
    // Nothing else may sign: the ledger reads its secret and holds no KMS grant.
    expect(JSON.stringify(resource('LedgerNhiRole'))).not.toContain('kms:');
    expect(JSON.stringify(resource('IamRoleLambdaExecution'))).not.toContain('kms:');
  });

  it('cfn-lint finds nothing in the template', () => {
    const lint = spawnSync('cfn-lint', ['--', templateFile], { encoding: 'utf8', timeout: 180_000 });
    if (lint.error !== undefined) {
      throw new Error(
        `cfn-lint could not run (${lint.error.message}): install it (pip install cfn-lint), as CI has it`,
      );
    }
    expect({ status: lint.status, findings: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });
  });
});
