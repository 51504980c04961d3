import { DEFAULT_MAX_PROOF_LIFETIME, DEFAULT_SIGNER_KEY_MAX_AGE } from '@nhi-dns/cli';
import { DEFAULT_CLOCK_SKEW } from '@nhi-dns/core';
import { SecretsManagerRotationError } from './secrets-manager-rotation-errors.js';

/** Environment variables the rotation function reads (DESIGN §4.5). */
export const SECRETS_MANAGER_ROTATION_ENV = {
  zone: 'NHI_ZONE',
  hostedZoneId: 'NHI_HOSTED_ZONE_ID',
  dnsServers: 'NHI_DNS_SERVERS',
  signerKeyMaxAge: 'NHI_SIGNER_KEY_MAX_AGE',
  clockSkew: 'NHI_CLOCK_SKEW',
  maxProofLifetime: 'NHI_MAX_PROOF_LIFETIME',
} as const;

/** What the rotation function needs to know beyond the event. */
export interface SecretsManagerRotationConfig {
  /** Zone of the identities, e.g. `auth.example.com` (`NHI_ZONE`). */
  readonly zone: string;
  /** Route 53 hosted zone of `zone` (`NHI_HOSTED_ZONE_ID`). */
  readonly hostedZoneId: string;
  /**
   * DNS servers testSecret asks (`NHI_DNS_SERVERS`, comma-separated `host[:port]`). Default
   * (empty): `/etc/resolv.conf`, the VPC resolver in a Lambda, which is what verifiers ask.
   */
  readonly dnsServers: readonly string[];
  /** Longest `keyMaxAge` of the identity's signers, seconds (`NHI_SIGNER_KEY_MAX_AGE`). @default 60 */
  readonly signerKeyMaxAgeSeconds: number;
  /** Largest `clockSkew` of the identity's verifiers, seconds (`NHI_CLOCK_SKEW`). @default 60 */
  readonly clockSkewSeconds: number;
  /** Longest proof lifetime verifiers accept, seconds (`NHI_MAX_PROOF_LIFETIME`). @default 300 */
  readonly maxProofLifetimeSeconds: number;
}

const seconds = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SecretsManagerRotationError(
      'bad_config',
      `${name} must be a whole number of seconds, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
};

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name]?.trim();
  if (value === undefined || value === '')
    throw new SecretsManagerRotationError('bad_config', `${name} is not set`);
  return value;
};

/**
 * Reads {@link SecretsManagerRotationConfig} from environment variables ({@link SECRETS_MANAGER_ROTATION_ENV}).
 * @throws {SecretsManagerRotationError} `bad_config` when `NHI_ZONE` or `NHI_HOSTED_ZONE_ID` is missing or a
 * number is not a whole number of seconds.
 */
export const secretsManagerRotationConfigFromEnv = (
  env: NodeJS.ProcessEnv = process.env,
): SecretsManagerRotationConfig => ({
  zone: required(env, SECRETS_MANAGER_ROTATION_ENV.zone),
  hostedZoneId: required(env, SECRETS_MANAGER_ROTATION_ENV.hostedZoneId),
  dnsServers: (env[SECRETS_MANAGER_ROTATION_ENV.dnsServers] ?? '')
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean),
  signerKeyMaxAgeSeconds: seconds(
    env,
    SECRETS_MANAGER_ROTATION_ENV.signerKeyMaxAge,
    DEFAULT_SIGNER_KEY_MAX_AGE,
  ),
  clockSkewSeconds: seconds(env, SECRETS_MANAGER_ROTATION_ENV.clockSkew, DEFAULT_CLOCK_SKEW),
  maxProofLifetimeSeconds: seconds(
    env,
    SECRETS_MANAGER_ROTATION_ENV.maxProofLifetime,
    DEFAULT_MAX_PROOF_LIFETIME,
  ),
});

/** Secret names the rotation function accepts: `/<env>/nhi/<service>/signing-key`, labels as DNS's. */
const SECRET_NAME = /^\/([a-z0-9-]{1,63})\/nhi\/([a-z0-9-]{1,63})\/signing-key$/;

/**
 * The identity a signing-key secret belongs to, from its name.
 * @throws {SecretsManagerRotationError} `bad_secret_name` for any other secret: the function rotates only
 * nhi-dns signing keys, whose name says whose key they are.
 */
export const identityOfSecretName = (name: string): { service: string; environment: string } => {
  const match = SECRET_NAME.exec(name);
  if (match === null || match[1] === undefined || match[2] === undefined) {
    throw new SecretsManagerRotationError(
      'bad_secret_name',
      `${name} is not an nhi-dns signing key (/<env>/nhi/<service>/signing-key); refusing to rotate it`,
    );
  }
  return { environment: match[1], service: match[2] };
};
