import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandInput,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { SecretsContext } from './middleware.js';

/** Every secret value in the tests contains this marker, so leaks are easy to find. */
export const MARK = 'S3CR3T';

/** The value Secrets Manager holds for `name` in the tests. */
export const secretValue = (name: string, version = 1): string => `${MARK}-${name}-v${version}`;

/** An AWS SDK style error. */
export const awsError = (name: string, fault: 'client' | 'server' = 'client', status = 400): Error =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });

/** A client whose sends are answered by aws-sdk-client-mock. */
export const newClient = () =>
  new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

/** The mock of every `SecretsManagerClient`, answering by name from a mutable version table. */
export const mockSecretsManager = () => {
  const mock = mockClient(SecretsManagerClient);
  const versions = new Map<string, number>();
  const version = (name: string) => versions.get(name) ?? 1;
  const answer = () => {
    mock.reset();
    versions.clear();
    mock.on(BatchGetSecretValueCommand).callsFake((input: BatchGetSecretValueCommandInput) => ({
      SecretValues: (input.SecretIdList ?? []).map((name) => ({
        Name: name,
        SecretString: secretValue(name, version(name)),
        VersionId: `v${version(name)}`,
      })),
    }));
    mock.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => ({
      Name: input.SecretId,
      SecretString: secretValue(input.SecretId ?? '', version(input.SecretId ?? '')),
      VersionId: `v${version(input.SecretId ?? '')}`,
    }));
    mock.on(DescribeSecretCommand).resolves({ RotationEnabled: false });
  };
  answer();
  return {
    mock,
    /** Back to the default answers. */
    reset: answer,
    /** Makes the next fetches of `name` return version `next`. */
    rotate: (name: string, next: number) => versions.set(name, next),
    calls: (
      command:
        | typeof BatchGetSecretValueCommand
        | typeof GetSecretValueCommand
        | typeof DescribeSecretCommand,
    ) => mock.commandCalls(command as never),
  };
};

/** A controllable wall clock in milliseconds. */
export const testClock = (start = 1_700_000_000_000) => {
  let time = start;
  return {
    now: () => time,
    advance: (seconds: number) => {
      time += seconds * 1000;
    },
  };
};

/** Captures stdout and stderr (Powertools logs, warnings and EMF) while a test runs. */
export const captureStdout = () => {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  return {
    lines,
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
};

/** A minimal Lambda context. */
/**
 * A Lambda context for tests. Typed with `secrets` because a middy handler using this middleware
 * declares the context its handler receives (the middleware fills `secrets` in before it runs).
 */
export const lambdaContext = (extra: Record<string, unknown> = {}): Context & SecretsContext =>
  ({
    functionName: 'test',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 30_000,
    ...extra,
  }) as unknown as Context & SecretsContext;

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export { middy };
