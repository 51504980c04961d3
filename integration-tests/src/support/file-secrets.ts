import { readFile } from 'node:fs/promises';
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/** A Secrets Manager stand-in answering from a JSON file, and the calls it received. */
export interface FileSecretsSource {
  /** Pass as `secretsInject({ client })`. */
  readonly client: SecretsManagerClient;
  /** Names of the commands received, in order (`BatchGetSecretValueCommand`, ...). */
  readonly calls: string[];
}

const notFound = (name: string) =>
  new ResourceNotFoundException({ message: `secret ${name} not found`, $metadata: { httpStatusCode: 400 } });

/**
 * A file-backed secret source: a client whose `send()` answers `BatchGetSecretValue`,
 * `GetSecretValue` and `DescribeSecret` (no rotation) from `path`, a JSON object mapping full
 * secret names (`/prod/dbcreds`) to string values. The file is read on every call, so a test
 * can rotate a secret by rewriting it. Other commands are refused.
 */
export const fileSecretsSource = (path: string): FileSecretsSource => {
  const calls: string[] = [];
  const load = async (): Promise<Record<string, string>> => JSON.parse(await readFile(path, 'utf8'));
  const send = async (command: unknown): Promise<unknown> => {
    calls.push((command as object).constructor.name);
    const secrets = await load();
    if (command instanceof BatchGetSecretValueCommand) {
      const ids = command.input.SecretIdList ?? [];
      return {
        SecretValues: ids
          .filter((id) => id in secrets)
          .map((id) => ({ Name: id, SecretString: secrets[id], VersionId: 'v1' })),
        Errors: ids
          .filter((id) => !(id in secrets))
          .map((id) => ({ SecretId: id, ErrorCode: 'ResourceNotFoundException', Message: 'not found' })),
      };
    }
    if (command instanceof GetSecretValueCommand) {
      const id = command.input.SecretId ?? '';
      if (!(id in secrets)) throw notFound(id);
      return { Name: id, SecretString: secrets[id], VersionId: 'v1' };
    }
    if (command instanceof DescribeSecretCommand) {
      const id = command.input.SecretId ?? '';
      if (!(id in secrets)) throw notFound(id);
      return { Name: id, RotationEnabled: false };
    }
    throw new Error(`file secrets source: unsupported command ${calls.at(-1)}`);
  };
  return { client: { send } as unknown as SecretsManagerClient, calls };
};
