import { METRIC, type Observability, recordLatency } from '@nhi-dns/core';
import { type AwsFailure, classifyAwsCode } from './errors.js';
import type { FetchOutcome, SecretLocator, SecretsSource } from './fetch.js';

/** Port of the AWS Parameters and Secrets Lambda Extension unless `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` says otherwise. */
export const DEFAULT_EXTENSION_PORT = 2773;
/** Header that carries the SSRF token (the function's `AWS_SESSION_TOKEN`). */
const TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token';
/** Milliseconds one request to the extension may take (it answers from its cache or calls Secrets Manager). */
const DEFAULT_TIMEOUT_MS = 3000;
/** Largest answer read: a secret holds at most 64 KiB, plus its JSON envelope. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** What one GET to the extension answered. */
export interface ExtensionAnswer {
  readonly status: number;
  readonly text: string;
}

/** Sends one GET to the extension; rejects when it cannot connect, times out or answers too much. */
export type ExtensionGet = (
  url: URL,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
) => Promise<ExtensionAnswer>;

/**
 * `node:http`, loaded on first use through `process.getBuiltinModule`: on Node 22 and 24
 * `import('node:http')` builds an ES module namespace of every export, whose lazy getters load
 * undici (31-33 ms in a fresh process on this machine, against 3.6 ms; on Node 20 both 4 ms).
 */
const loadHttp = async (): Promise<typeof import('node:http')> =>
  process.getBuiltinModule?.('node:http') ?? (await import('node:http'));

/**
 * The default {@link ExtensionGet}: one `node:http` request. Not the global `fetch`: its first
 * call loads undici (a first GET in a fresh process took 27 ms with `fetch`, 7 ms with
 * `node:http`, on Node 20 here), and the extension is only ever called on a cold path, once per
 * secret and `maxAge`.
 */
export const httpGet: ExtensionGet = async (url, headers, signal) => {
  const { get } = await loadHttp();
  return new Promise<ExtensionAnswer>((resolve, reject) => {
    const request = get(url, { headers, signal }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) {
          request.destroy(new Error(`extension answer over ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
};

/** Options of {@link ExtensionSecretsSource}. */
export interface ExtensionSecretsSourceOptions {
  readonly observability: Observability;
  readonly now: () => number;
  /** Base URL. Default `http://localhost:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT or 2773>`. */
  readonly endpoint?: string;
  /** SSRF token. Default: `AWS_SESSION_TOKEN`, read per request (it changes when credentials do). */
  readonly token?: () => string | undefined;
  /** How a GET is sent. Default {@link httpGet} (`node:http`). */
  readonly get?: ExtensionGet;
  readonly timeoutMs?: number;
}

const failure = (awsCode: string, transient: boolean, cause?: unknown): FetchOutcome => {
  const classified = classifyAwsCode(awsCode, transient);
  const result: AwsFailure = cause === undefined ? classified : { ...classified, cause };
  return { ok: false, failure: result };
};

/** The AWS error name in an extension error body (it relays Secrets Manager's), if any. */
const awsCodeIn = (text: string): string | undefined =>
  /\b(AccessDeniedException|ResourceNotFoundException|DecryptionFailure|ThrottlingException|InternalServiceError|InvalidRequestException|InvalidParameterException)\b/.exec(
    text,
  )?.[1];

/**
 * Secrets from the AWS Parameters and Secrets Lambda Extension (a Lambda layer), over its local
 * HTTP endpoint (`GET /secretsmanager/get?secretId=…&versionStage=…`), so the function loads no
 * AWS SDK client at all: the extension makes the `GetSecretValue` calls and caches them itself
 * (`SECRETS_MANAGER_TTL`, 300 s by default, on top of this package's `maxAge`). It answers only
 * while an invocation runs, never during the init phase, so nothing is prefetched with it. It has
 * no `DescribeSecret`: entries are capped by `maxAge` only.
 */
export class ExtensionSecretsSource implements SecretsSource {
  readonly #options: ExtensionSecretsSourceOptions;

  constructor(options: ExtensionSecretsSourceOptions) {
    this.#options = options;
  }

  /** Fetches each locator with its own request (the extension has no batch call). */
  fetch(locators: readonly SecretLocator[]): Promise<FetchOutcome[]> {
    return Promise.all(locators.map((locator) => this.#get(locator)));
  }

  /** Always `undefined`: the extension serves values, not rotation dates. */
  async nextRotation(): Promise<undefined> {
    return undefined;
  }

  async #get(locator: SecretLocator): Promise<FetchOutcome> {
    const { observability, now } = this.#options;
    const base =
      this.#options.endpoint ??
      `http://localhost:${process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || DEFAULT_EXTENSION_PORT}`;
    const url = new URL('/secretsmanager/get', base);
    url.searchParams.set('secretId', locator.name);
    url.searchParams.set('versionStage', locator.versionStage);
    const token = (this.#options.token ?? (() => process.env.AWS_SESSION_TOKEN))();
    const started = now();
    try {
      const response = await (this.#options.get ?? httpGet)(
        url,
        token === undefined ? {} : { [TOKEN_HEADER]: token },
        AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      );
      const { text } = response;
      if (response.status < 200 || response.status > 299) {
        // 400 with Secrets Manager's error relayed, 401 without the token, 5xx while it cannot serve.
        return failure(awsCodeIn(text) ?? `Extension${response.status}`, response.status >= 500);
      }
      const answer = JSON.parse(text) as {
        SecretString?: unknown;
        SecretBinary?: unknown;
        VersionId?: unknown;
      };
      const raw =
        typeof answer.SecretString === 'string'
          ? answer.SecretString
          : typeof answer.SecretBinary === 'string'
            ? Buffer.from(answer.SecretBinary, 'base64')
            : undefined;
      return {
        ok: true,
        secret: { raw, versionId: typeof answer.VersionId === 'string' ? answer.VersionId : undefined },
      };
    } catch (error) {
      // Not listening (no layer, or called during init), a timeout, or an unreadable answer.
      const name = error instanceof SyntaxError ? 'ExtensionBadResponse' : 'RequestTimeout';
      return failure(name, name !== 'ExtensionBadResponse', error);
    } finally {
      recordLatency(observability.metrics, METRIC.secretFetchLatency, now() - started);
    }
  }
}
