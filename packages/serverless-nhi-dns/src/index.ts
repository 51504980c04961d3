import { ServerlessNhiDns } from './plugin.js';

export {
  type CompileReport,
  compileNhi,
  KEY_AGE_MARGIN_DAYS,
  SECRET_READ_ACTIONS,
  SECRET_ROTATION_ACTIONS,
  SECRETS_POLICY_NAME,
  secretArnPattern,
} from './compile.js';
export {
  ALARM_DEFAULTS,
  type CfnIntrinsic,
  checkSecretName,
  DEFAULT_ROTATION_MODULE,
  type FunctionInput,
  isIntrinsic,
  KMS_ROTATION_HANDLER,
  KNOWN_OPTIONS,
  type NhiAlarmOptions,
  type NhiFunctionOptions,
  type NhiPublicKeyOption,
  type NhiRotationOption,
  type NhiServiceOptions,
  RECORD_OWNERS,
  type RecordOwner,
  type ResolvedAlarms,
  type ResolvedConfig,
  type ResolvedFunction,
  type ResolvedRecord,
  type ResolvedRotation,
  resolveConfig,
  SECRET_ROTATION_HANDLER,
  type ServiceInput,
} from './config.js';
export { invalidConfig, PLUGIN_NAME } from './errors.js';
export { type KeyFileContent, MAX_KEY_FILE_BYTES, readPublicKeyFile } from './key-file.js';
export {
  ERROR_CODE,
  type PluginLogger,
  type ServerlessFunction,
  type ServerlessInstance,
  ServerlessNhiDns,
} from './plugin.js';
export { type RecordResource, recordResource } from './record.js';
export { CUSTOM_SCHEMA, FUNCTION_SCHEMA } from './schema.js';
export type { AwsNaming, CfnResource, CfnTemplate } from './template.js';

/** Serverless loads a plugin's default export: `plugins: [serverless-nhi-dns]`. */
export default ServerlessNhiDns;
