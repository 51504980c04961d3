import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Observability } from '@nhi-dns/core';
import { ExtensionSecretsSource } from './extension.js';
import { loadSecretsManagerSdk, SecretsFetcher, type SecretsSource } from './fetch.js';

/**
 * Where secrets are read from: `'sdk'`, Secrets Manager through the AWS SDK client (batched,
 * rotation dates from `DescribeSecret`), or `'extension'`, the AWS Parameters and Secrets Lambda
 * Extension's local endpoint (no SDK client loaded; not available during init).
 */
export type SecretsSourceKind = 'sdk' | 'extension';

/** What {@link createSecretsSource} needs. */
export interface SecretsSourceSettings {
  /** A client, or a function returning one; default: a `SecretsManagerClient` made on first use ('sdk' only). */
  readonly client?: SecretsManagerClient | (() => SecretsManagerClient) | undefined;
  readonly observability: Observability;
  readonly now: () => number;
}

/** The source of `kind`; the SDK is imported and its client created only on the first fetch. */
export const createSecretsSource = (
  kind: SecretsSourceKind,
  settings: SecretsSourceSettings,
): SecretsSource => {
  const { observability, now } = settings;
  if (kind === 'extension') return new ExtensionSecretsSource({ observability, now });
  const given = settings.client;
  let client: SecretsManagerClient | undefined;
  return new SecretsFetcher({
    client: async () => {
      client ??=
        typeof given === 'function'
          ? given()
          : (given ?? new (await loadSecretsManagerSdk()).SecretsManagerClient({}));
      return client;
    },
    observability,
    now,
  });
};
