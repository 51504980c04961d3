import { generateKeyPairSync } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * An environment-agnostic stack (region and account as CloudFormation pseudo parameters), with
 * the default synthesizer: its BootstrapVersion parameter and rule are in the template, as users
 * get it (cfn-lint 1.51 finds nothing in them).
 */
export const newStack = (id = 'Test'): Stack => new Stack(new App(), id);

/** A Node.js function with inline code: no asset, so the template stands alone. */
export const newFunction = (stack: Stack, id: string): lambda.Function =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });

/** A fresh Ed25519 public key as a record's `p=` (raw 32 bytes, base64). */
export const ed25519PublicKey = (): string => {
  const { publicKey } = generateKeyPairSync('ed25519');
  return Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
};

/** A fresh P-256 public key as a record's `p=` (SPKI DER, base64: 124 characters). */
export const p256PublicKey = (): string => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
};

/** The CloudFormation value of a secret ARN pattern, as `Stack.formatArn` renders it. */
export const secretArn = (secretName: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':secretsmanager:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:secret:${secretName}-??????`,
    ],
  ],
});

/** The properties of the one resource of `type` in `template` (fails when there is not exactly one). */
export const onlyResource = (template: Template, type: string) => {
  const found = Object.values(template.findResources(type));
  const [only] = found;
  if (found.length !== 1 || only === undefined)
    throw new Error(`expected one ${type}, found ${found.length}`);
  return only.Properties;
};
