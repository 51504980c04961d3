import { isIdentityLabel } from '@nhi-dns/core';
import { SecretsError } from './errors.js';

/** Environment variable naming the function's environment (e.g. `prod`), used for the namespace. */
export const ENVIRONMENT_VARIABLE = 'NHI_ENVIRONMENT';

/** Longest secret name Secrets Manager accepts. */
export const MAX_SECRET_NAME_LENGTH = 512;

/** Characters Secrets Manager allows in a name; `:` (ARNs) and anything else is refused. */
const SECRET_NAME_CHARACTERS = /^[A-Za-z0-9/_+=.@-]+$/;

/** Longest namespace a verified environment can produce: `/` + 63-character label + `/`. */
export const MAX_ENVIRONMENT_NAMESPACE_LENGTH = 65;

const configError = (message: string): SecretsError =>
  new SecretsError('invalid_config', `secrets-inject: ${message}`);

/**
 * The subtree of a namespace that holds the workloads' signing keys, `/<env>/nhi/<service>/signing-key`.
 * identity-sign reads a function's own key; injecting one (its own or another workload's) would
 * put a key that signs as a workload into `context.secrets`, so names under it are refused.
 */
export const SIGNING_KEY_SEGMENT = 'nhi';

/** True when every `/`-separated segment is non-empty and neither `.` nor `..`. */
const hasSafeSegments = (path: string): boolean =>
  path.split('/').every((segment) => segment.length > 0 && segment !== '.' && segment !== '..');

/**
 * Validates a secret name relative to its namespace (`dbcreds`, `billing/db`). A name that could
 * leave the namespace (leading `/`, `..`, empty segments, an ARN, any character outside
 * `[A-Za-z0-9/_+=.@-]`) is refused, and so is a name under `nhi/`, where the signing keys are
 * (see {@link SIGNING_KEY_SEGMENT}).
 *
 * @param name - the configured name.
 * @param maxLength - the room left once the namespace is prepended.
 * @throws {SecretsError} `invalid_config`, naming the offending name (names are not secret).
 */
export const validateSecretName = (name: unknown, maxLength = MAX_SECRET_NAME_LENGTH): string => {
  if (typeof name !== 'string' || name.length === 0) {
    throw configError('a secret name must be a non-empty string');
  }
  if (!SECRET_NAME_CHARACTERS.test(name)) {
    throw configError(`secret name "${name}" may only contain [A-Za-z0-9/_+=.@-] (no ARNs)`);
  }
  if (!hasSafeSegments(name)) {
    throw configError(
      `secret name "${name}" must stay inside its namespace (no leading or trailing "/", "//", "." or "..")`,
    );
  }
  if (name.split('/')[0] === SIGNING_KEY_SEGMENT) {
    throw configError(
      `secret name "${name}" is under ${SIGNING_KEY_SEGMENT}/, which holds the workloads' signing keys: identity-sign reads a function's own key, and no key is injected`,
    );
  }
  if (name.length > maxLength) {
    throw configError(`secret name "${name}" is too long for its namespace (max ${maxLength} characters)`);
  }
  return name;
};

/**
 * Validates an explicit namespace prefix such as `/prod/` or `/prod/billing/`. A namespace inside
 * an environment's signing keys (`/prod/nhi/`, `/prod/nhi/billing/`) is refused, as names under
 * `nhi/` are.
 * @throws {SecretsError} `invalid_config` when it is not `/segment/.../`, or is under `/<env>/nhi/`.
 */
export const validateNamespace = (namespace: unknown): string => {
  if (
    typeof namespace !== 'string' ||
    namespace.length < 3 ||
    !namespace.startsWith('/') ||
    !namespace.endsWith('/') ||
    !SECRET_NAME_CHARACTERS.test(namespace) ||
    !hasSafeSegments(namespace.slice(1, -1))
  ) {
    throw configError('namespace must look like "/prod/" or "/prod/team/" (segments of [A-Za-z0-9_+=.@-])');
  }
  if (namespace.split('/')[2] === SIGNING_KEY_SEGMENT) {
    throw configError(
      `namespace "${namespace}" is under /<environment>/${SIGNING_KEY_SEGMENT}/, which holds the workloads' signing keys: identity-sign reads a function's own key, and no key is injected`,
    );
  }
  if (namespace.length >= MAX_SECRET_NAME_LENGTH) throw configError('namespace is too long');
  return namespace;
};

/**
 * The namespace of an environment label (`prod` → `/prod/`), or `undefined` when `environment`
 * is not a valid identity label (`[a-z0-9-]{1,63}`) — never a path built from unchecked input.
 */
export const namespaceOfEnvironment = (environment: unknown): string | undefined =>
  typeof environment === 'string' && isIdentityLabel(environment) ? `/${environment}/` : undefined;
