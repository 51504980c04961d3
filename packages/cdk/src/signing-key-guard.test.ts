import { ArnFormat, Annotations as CoreAnnotations, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NhiIdentity } from './identity.js';
import { nhiProtect } from './protect.js';
import { SIGNING_KEY_GRANT_WARNING } from './signing-key-guard.js';
import { newFunction, newStack } from './stack.test-helper.js';

const zone = 'auth.example.com';

const identity = (stack: Stack, service: string) =>
  new NhiIdentity(stack, `${service}Identity`, { zone, service, environment: 'prod', recordOwner: 'cli' });

/** Where, in the stack, the signing-key warning was added, and with which text. */
const warnings = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp(SIGNING_KEY_GRANT_WARNING))
    .map(({ id, entry }) => ({ id, text: String(entry.data) }));

const secretArn = (stack: Stack, name: string) =>
  stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });

describe('the signing-key warning', () => {
  it('warns on a statement of a protected function’s role that reads the environment’s secrets (/prod/*)', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Ledger');
    nhiProtect(fn, { identity: identity(stack, 'ledger'), secrets: ['ledger/db'] });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [`arn:${Stack.of(stack).partition}:secretsmanager:*:*:secret:/prod/*`],
      }),
    );
    const found = warnings(stack);
    expect(found).toEqual([
      {
        id: '/Test/Ledger/ServiceRole/DefaultPolicy/Resource',
        text: expect.stringContaining(
          "The role Test/Ledger/ServiceRole can read other workloads' signing keys (/<environment>/nhi/<service>/signing-key) and so sign as them",
        ),
      },
    ]);
    expect(found[0]?.text).toContain(
      'whose Resource "arn:*:secretsmanager:*:*:secret:/prod/*" (tokens read as *)',
    );
    expect(found[0]?.text).toContain(`[ack: ${SIGNING_KEY_GRANT_WARNING}]`);
    // A warning, not an error: the template is still there, grant included.
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue' })]),
      },
    });
  });

  it('warns on inline and attached policies, on secretsmanager:* and "*", and on another workload’s key', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Ledger');
    const ledger = identity(stack, 'ledger');
    nhiProtect(fn, { identity: ledger });
    const role = fn.role as iam.Role;
    role.attachInlinePolicy(
      new iam.Policy(stack, 'Wide', {
        statements: [new iam.PolicyStatement({ actions: ['secretsmanager:*'], resources: ['*'] })],
      }),
    );
    role.addManagedPolicy(
      new iam.ManagedPolicy(stack, 'Managed', {
        statements: [
          new iam.PolicyStatement({
            actions: ['secretsmanager:Get*'],
            resources: [secretArn(stack, '/prod/nhi/billing/signing-key-??????')],
          }),
        ],
      }),
    );
    // Another construct's grant of billing's key to ledger's function.
    identity(stack, 'billing');
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(stack, '/prod/nhi/payments/signing-key-??????')],
      }),
    );
    expect(
      warnings(stack)
        .map(({ id }) => id)
        .sort(),
    ).toEqual([
      '/Test/Ledger/ServiceRole/DefaultPolicy/Resource',
      '/Test/Managed/Resource',
      '/Test/Wide/Resource',
    ]);
  });

  it('names only the statement that reaches: not its own grants (secrets, its own key) or narrow ones', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Billing');
    const billing = identity(stack, 'billing');
    nhiProtect(fn, { identity: billing, secrets: ['billing/db'] });
    billing.grantSign(fn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(stack, '/prod/billing/*')],
      }),
    );
    // BatchGetSecretValue takes only "*" and checks GetSecretValue on each secret.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:BatchGetSecretValue'], resources: ['*'] }),
    );
    fn.role?.attachInlinePolicy(
      new iam.Policy(stack, 'Wide', {
        statements: [
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [secretArn(stack, '/prod/nhi/billing*')],
          }),
        ],
      }),
    );
    const found = warnings(stack);
    expect(found.map(({ id }) => id)).toEqual(['/Test/Wide/Resource']);
    // billing* also matches billing-eu's key.
    expect(found[0]?.text).toContain('secret:/prod/nhi/billing*');
  });

  it('can be acknowledged on the function (or any scope above the role)', () => {
    const build = (acknowledge: boolean) => {
      const stack = newStack();
      const fn = newFunction(stack, 'Reports');
      nhiProtect(fn, { identity: identity(stack, 'reports') });
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['*'], resources: ['*'] }));
      if (acknowledge) {
        CoreAnnotations.of(fn).acknowledgeWarning(SIGNING_KEY_GRANT_WARNING, 'an admin tool, reviewed');
      }
      return warnings(stack);
    };
    expect(build(false)).toHaveLength(1);
    expect(build(true)).toEqual([]);
  });

  it('grantSign alone guards the role too, and a role guarded twice warns once per statement', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Billing');
    const billing = identity(stack, 'billing');
    billing.grantSign(fn);
    billing.grantSign(fn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(stack, '/prod/nhi/*')],
      }),
    );
    expect(warnings(stack)).toHaveLength(1);
  });
});
