import { secretsInject } from './middleware.js';

export { decodeSecretValue, type JsonMode, type RawSecretValue } from './decode.js';
export {
  type AwsFailure,
  classifyAwsCode,
  classifyAwsError,
  FETCH_ERROR_CODES,
  type FetchErrorCode,
  SECRETS_ERROR_REASONS,
  SecretsError,
  type SecretsErrorOptions,
  type SecretsErrorReason,
} from './errors.js';
export {
  DEFAULT_EXTENSION_PORT,
  type ExtensionAnswer,
  type ExtensionGet,
  ExtensionSecretsSource,
  type ExtensionSecretsSourceOptions,
} from './extension.js';
export { BATCH_SIZE, DEFAULT_VERSION_STAGE, type SecretsSource } from './fetch.js';
export { type SecretsContext, type SecretsInjectMiddleware, secretsInject } from './middleware.js';
export { ENVIRONMENT_VARIABLE, validateNamespace, validateSecretName } from './names.js';
export type { SecretOptions, SecretsInjectOptions } from './options.js';
export { type ReadSecretOptions, SecretReader, type SecretReaderOptions } from './reader.js';
export type { SecretsSourceKind } from './sources.js';
export { BACKGROUND_REFRESH_SHARE, SECRET_SERVED_STALE_METRIC } from './store.js';

/** The middleware factory, Middy style: `import secretsInject from '@nhi-dns/secrets-inject'`. */
export default secretsInject;
