import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A running stand-in for AWS Secrets Manager on loopback. */
export interface LocalSecretsManager {
  /** `http://127.0.0.1:<port>`: give it to the SDK as `endpoint` (or `AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
  readonly endpoint: string;
  /**
   * The port, which also serves the Parameters and Secrets Lambda Extension's protocol: give it
   * as `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, with {@link LocalSecretsManagerOptions.extensionToken}
   * as `AWS_SESSION_TOKEN`.
   */
  readonly port: number;
  /** Puts a new version of a secret (a rotation). */
  put(name: string, value: string): void;
  /** API calls received, by action (`BatchGetSecretValue`, ...; `extension:get` for the extension's). */
  readonly calls: string[];
  /** A real SDK client pointed at this stand-in (loopback endpoint, dummy credentials). */
  client(): SecretsManagerClient;
  stop(): Promise<void>;
}

/** Options of {@link startLocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /**
   * The token the extension protocol requires in `X-Aws-Parameters-Secrets-Token` (in Lambda, the
   * function's `AWS_SESSION_TOKEN`). Default `local-session-token`.
   */
  readonly extensionToken?: string;
}

/** Default {@link LocalSecretsManagerOptions.extensionToken}. */
export const LOCAL_EXTENSION_TOKEN = 'local-session-token';

interface Version {
  readonly value: string;
  readonly versionId: string;
}

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:';

/**
 * The demo's and the example tests' file-backed "Secrets Manager": it speaks the JSON protocol
 * of the real service (`X-Amz-Target: secretsmanager.<Action>`) for the three read actions the
 * middleware uses, so the real AWS SDK client and the bundled handlers run unchanged, with no
 * AWS account. On the same port it answers as the Parameters and Secrets Lambda Extension does
 * (`GET /secretsmanager/get?secretId=…`, 401 without the token, 400 with Secrets Manager's error
 * name). Not a security boundary: loopback only, no signature check.
 */
export const startLocalSecretsManager = async (
  secrets: Record<string, string>,
  options: LocalSecretsManagerOptions = {},
): Promise<LocalSecretsManager> => {
  const extensionToken = options.extensionToken ?? LOCAL_EXTENSION_TOKEN;
  const store = new Map<string, Version>();
  const put = (name: string, value: string) => store.set(name, { value, versionId: randomUUID() });
  for (const [name, value] of Object.entries(secrets)) put(name, value);
  const calls: string[] = [];

  const describe = (name: string, version: Version) => ({
    ARN: `${ARN_PREFIX}${name}`,
    Name: name,
    VersionId: version.versionId,
    SecretString: version.value,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: Date.now() / 1000,
  });
  const notFound = {
    __type: 'ResourceNotFoundException',
    message: "Secrets Manager can't find the specified secret.",
  };

  const answer = (action: string, input: Record<string, unknown>): [number, unknown] => {
    switch (action) {
      case 'BatchGetSecretValue': {
        const ids = Array.isArray(input.SecretIdList) ? input.SecretIdList.map(String) : [];
        const values = ids.flatMap((id) => {
          const version = store.get(id);
          return version === undefined ? [] : [describe(id, version)];
        });
        const errors = ids
          .filter((id) => !store.has(id))
          .map((id) => ({ SecretId: id, ErrorCode: 'ResourceNotFoundException', Message: notFound.message }));
        return [200, { SecretValues: values, Errors: errors }];
      }
      case 'GetSecretValue': {
        const id = String(input.SecretId);
        const version = store.get(id);
        return version === undefined ? [400, notFound] : [200, describe(id, version)];
      }
      case 'DescribeSecret': {
        const id = String(input.SecretId);
        return store.has(id)
          ? [200, { ARN: `${ARN_PREFIX}${id}`, Name: id, RotationEnabled: false }]
          : [400, notFound];
      }
      default:
        return [400, { __type: 'InvalidRequestException', message: `${action} is not served here` }];
    }
  };

  /** The extension's `GET /secretsmanager/get`: the GetSecretValue answer, or its error relayed. */
  const answerExtension = (request: IncomingMessage, response: ServerResponse) => {
    calls.push('extension:get');
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.headers['x-aws-parameters-secrets-token'] !== extensionToken) {
      response.writeHead(401).end('missing or wrong X-Aws-Parameters-Secrets-Token');
      return;
    }
    const [status, body] = answer('GetSecretValue', { SecretId: url.searchParams.get('secretId') ?? '' });
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(status === 200 ? JSON.stringify(body) : `${notFound.__type}: ${notFound.message}`);
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && request.url?.startsWith('/secretsmanager/get?')) {
      answerExtension(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const action = String(request.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      calls.push(action);
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      } catch {
        // An unreadable body is answered like any unknown request below.
      }
      const [status, body] = answer(action, input);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(body));
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    put,
    calls,
    client: () =>
      new SecretsManagerClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
