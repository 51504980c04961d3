import { isIP } from 'node:net';
import type { PublishedKey } from '@nhi-dns/cli';
import {
  aBoolean,
  anObject,
  aString,
  aStringList,
  CERT_THUMBPRINT_PATTERN,
  canonicalName,
  compileAllowList,
  either,
  formatIdentityName,
  isIdentityLabel,
  type KeyType,
  KID_PATTERN,
  kmsAliasName,
  METRICS_NAMESPACE,
  type OptionRule,
  oneOf,
  parseZone,
  required,
  validateOptions,
} from '@nhi-dns/core';
import { invalidConfig, PLUGIN_NAME } from './errors.js';
import { readPublicKeyFile } from './key-file.js';

/** Who owns the identity TXT records: the `nhi-dns` CLI (default) or this stack. */
export const RECORD_OWNERS = ['cli', 'stack'] as const;
/** One of {@link RECORD_OWNERS}. */
export type RecordOwner = (typeof RECORD_OWNERS)[number];

/** A CloudFormation intrinsic function (`{ Ref: X }`, `{ 'Fn::GetAtt': [...] }`, ...), as YAML `!Ref` gives. */
export type CfnIntrinsic = Readonly<Record<string, unknown>>;

/** One public key of a stack-owned record (`functions.<fn>.nhi.publicKey`). */
export interface NhiPublicKeyOption {
  /** Key id, 1..64 characters of `[A-Za-z0-9._-]`. */
  readonly kid: string;
  /** Base64: the raw 32 bytes for ed25519, the SPKI DER for p256 (`p=` of the record). Empty: revoked. */
  readonly publicKey: string;
  /** Default `ed25519`. */
  readonly keyType?: 'ed25519' | 'p256';
  /**
   * The API Gateway mutual TLS client certificate pinned to this key (`x5t-s256=`): base64url
   * SHA-256 of its DER, as `nhi-dns publish --cert` computes it. Default: no pin.
   */
  readonly certThumbprint?: string;
}

/** `custom.nhi.alarms`. */
export interface NhiAlarmOptions {
  /** Alarm actions of every alarm: ARNs or intrinsics (`!Ref PagerTopic`). Default none. */
  readonly actions?: readonly (string | CfnIntrinsic)[];
  /** Denials per period that raise the AuthFailure alarm. Default 5. */
  readonly authFailureThreshold?: number;
  /** Seconds, period of the AuthFailure alarm. Default 60. */
  readonly authFailurePeriod?: number;
  /** Width of the anomaly band on DNS misses, in standard deviations. Default 2. */
  readonly dnsMissStdDevs?: number;
  /** Seconds, period of both DNS miss alarms. Default 300. */
  readonly dnsMissPeriod?: number;
  /** Consecutive periods above the band before the DNS spike alarm fires. Default 3. */
  readonly dnsMissEvaluationPeriods?: number;
  /** DNS misses per period that raise the static ceiling alarm. Default 1000. */
  readonly dnsMissCeiling?: number;
}

/** `functions.<fn>.nhi.rotation`: the automatic rotation of the identity's signing key. */
export interface NhiRotationOption {
  /** Days between rotations, 1..1000 (Secrets Manager's `AutomaticallyAfterDays`). */
  readonly days: number;
}

/** `custom.nhi`: what every function of the service shares. */
export interface NhiServiceOptions {
  /** Zone of the identity records, e.g. `auth.example.com`. */
  readonly zone: string;
  /** Environment label (`[a-z0-9-]{1,63}`). Default: the stage. */
  readonly environment?: string;
  /** Default `'cli'`: the stack declares no record. */
  readonly recordOwner?: RecordOwner;
  /**
   * Hosted zone of stack-owned records, or with `recordOwner: 'cli'` the zone the rotation
   * functions write (id or intrinsic). Default: `HostedZoneName` = the zone; required with `rotation`.
   */
  readonly hostedZoneId?: string | CfnIntrinsic;
  /** TTL in seconds of stack-owned records. Default 300 (the CLI's). */
  readonly recordTtl?: number;
  /** DNS servers, `NHI_DNS_SERVERS` (`10.0.0.2`, `127.0.0.1:5353`, `[fd00::2]:53`). */
  readonly dnsServers?: readonly string[];
  /** Thresholds and actions of the alarms. */
  readonly alarms?: NhiAlarmOptions;
  /**
   * Adds an `AWS::CloudWatch::Dashboard` of the protected functions' identity metrics
   * (AuthSuccess, AuthFailure by Reason, DnsLookup by Outcome and DnsCacheHit, DnsLookupLatency
   * p99, SecretFetchError by Code). Default `false` (as `@nhi-dns/cdk`'s `dashboard`).
   */
  readonly dashboard?: boolean;
  /**
   * Deploy even though a statement of the shared role (`provider.iam.role.statements`) lets
   * every function read other workloads' signing keys (`secretsmanager:GetSecretValue` on
   * `…:secret:/<environment>/*`, `…:secret:*`, `*`): packaging warns instead of refusing. Any
   * function holding such a grant can sign as any of those workloads. Default `false`.
   */
  readonly allowBroadSecretsGrant?: boolean;
  /**
   * Module of the rotation handlers, relative to serverless.yml and without extension: the
   * functions `rotation` adds run `<rotationModule>.secretsManagerRotationHandler` or
   * `.kmsRotationHandler`. Default `node_modules/@nhi-dns/rotation/dist/index` (installed as a
   * dependency and packaged); a bundle of your own, e.g. `dist/nhi-rotation`, when the package
   * patterns leave node_modules out.
   */
  readonly rotationModule?: string;
}

/** `functions.<fn>.nhi`: the function's identity and what it may do. */
export interface NhiFunctionOptions {
  /** Service label of the function's identity: `<identity>.<environment>.<zone>`. */
  readonly identity: string;
  /** Who may call the function: identity names or patterns (`NHI_ALLOW`). */
  readonly allow?: readonly string[];
  /** Secrets the function reads, relative to `/<environment>/` (`ledger/db`). */
  readonly secrets?: readonly string[];
  /**
   * The function signs as its identity. `kms` (recommended for new identities): the stack creates
   * the identity's AWS KMS key and grants the function `kms:Sign` on it. `true`: grants the key
   * `nhi-dns keygen` stored in Secrets Manager. Default false.
   */
  readonly sign?: boolean | 'kms';
  /** With `sign: kms`: the KMS key's type, `ed25519` (default) or `p256`. */
  readonly kmsKeyType?: KeyType;
  /** The function checks its own record (kill switch): adds the self_mismatch alarm. Default false. */
  readonly selfCheck?: boolean;
  /** Stack-owned records only: the key(s) to publish. */
  readonly publicKey?: NhiPublicKeyOption | readonly NhiPublicKeyOption[];
  /** Stack-owned records only: a file with the key(s), output of `nhi-dns keygen --json` or `nhi-dns render`. */
  readonly publicKeyFile?: string;
  /** Stack-owned records only: `x-` attributes of every RR (`{ tier: internal }`). */
  readonly attributes?: Readonly<Record<string, string>>;
  /** CLI-owned records only: rotate the identity's signing key every `days` (@nhi-dns/rotation). */
  readonly rotation?: NhiRotationOption;
}

/** Alarm settings with every default filled in. */
export interface ResolvedAlarms {
  readonly actions: readonly (string | CfnIntrinsic)[];
  readonly authFailureThreshold: number;
  readonly authFailurePeriod: number;
  readonly dnsMissStdDevs: number;
  readonly dnsMissPeriod: number;
  readonly dnsMissEvaluationPeriods: number;
  readonly dnsMissCeiling: number;
}

/** One protected function, checked. */
export interface ResolvedFunction {
  /** Key of the function in serverless.yml. */
  readonly key: string;
  /** Service label of its identity. */
  readonly identity: string;
  /** Its identity name, `<identity>.<environment>.<zone>`. */
  readonly name: string;
  /** Canonical allow list (may be empty). */
  readonly allow: readonly string[];
  /** Full secret names, `/<environment>/<name>`. */
  readonly secrets: readonly string[];
  /** Full name of its signing key when it signs with a secret-held key, `/<environment>/nhi/<identity>/signing-key`. */
  readonly signingKey?: string;
  /** Alias of its identity's KMS key when it signs with one (`sign: kms`), `alias/nhi/<environment>/<identity>`. */
  readonly kmsKey?: string;
  readonly selfCheck: boolean;
  /** The `service` dimension of its metrics (`POWERTOOLS_SERVICE_NAME`). */
  readonly serviceName: string;
  /** Variables the plugin sets on the function. */
  readonly environment: Readonly<Record<string, string>>;
}

/** A record this stack owns. */
export interface ResolvedRecord {
  /** Service label. */
  readonly identity: string;
  readonly name: string;
  readonly keys: readonly PublishedKey[];
  readonly attributes?: Readonly<Record<string, string>>;
  /** Functions (keys) that have this identity. */
  readonly functions: readonly string[];
}

/** A KMS signing key this stack creates: one per identity that some function signs as with `sign: kms`. */
export interface ResolvedKmsKey {
  /** Service label. */
  readonly identity: string;
  /** The identity name. */
  readonly name: string;
  /** `alias/nhi/<environment>/<identity>`. */
  readonly alias: string;
  readonly keyType: KeyType;
  /** Functions (keys) that sign with it: the signers of its key policy. */
  readonly functions: readonly string[];
}

/** The automatic rotation of one identity's signing key (`rotation`), and the function it adds. */
export interface ResolvedRotation {
  /** Service label. */
  readonly identity: string;
  /** The identity name. */
  readonly name: string;
  /** Days between rotations. */
  readonly days: number;
  /** `kms` when a function signs as the identity with `sign: kms`, else `secret`. */
  readonly custody: 'secret' | 'kms';
  /** `/<environment>/nhi/<identity>/signing-key` (secret) or `alias/nhi/<environment>/<identity>` (kms). */
  readonly keyName: string;
  /** Key of the function the plugin adds to serverless.yml's functions, `nhiRotation<Identity>`. */
  readonly functionKey: string;
  /** Its handler: `<rotationModule>.secretsManagerRotationHandler` or `.kmsRotationHandler`. */
  readonly handler: string;
  /** Its `service` dimension (`POWERTOOLS_SERVICE_NAME`): `nhi-rotation.<identity>.<environment>`. */
  readonly serviceName: string;
  /** Its variables. `NHI_HOSTED_ZONE_ID` may be an intrinsic. */
  readonly environment: Readonly<Record<string, string | CfnIntrinsic>>;
}

/** Export of `@nhi-dns/rotation` that Secrets Manager invokes for a secret-held key. */
export const SECRET_ROTATION_HANDLER = 'secretsManagerRotationHandler';
/** Export of `@nhi-dns/rotation` that the daily schedule invokes for a KMS-held key. */
export const KMS_ROTATION_HANDLER = 'kmsRotationHandler';
/** Default of `custom.nhi.rotationModule`: the package as npm installs it. */
export const DEFAULT_ROTATION_MODULE = 'node_modules/@nhi-dns/rotation/dist/index';

/** The plugin's whole configuration, checked. */
export interface ResolvedConfig {
  readonly zone: string;
  readonly environment: string;
  readonly recordOwner: RecordOwner;
  readonly hostedZoneId?: string | CfnIntrinsic;
  readonly recordTtl?: number;
  readonly dnsServers?: readonly string[];
  readonly alarms: ResolvedAlarms;
  readonly dashboard: boolean;
  /** `custom.nhi.allowBroadSecretsGrant`: a shared-role grant reaching signing keys warns, not refuses. */
  readonly allowBroadSecretsGrant: boolean;
  readonly functions: readonly ResolvedFunction[];
  /** Empty unless `recordOwner: 'stack'`. */
  readonly records: readonly ResolvedRecord[];
  /** The KMS signing keys to create (`sign: kms`). */
  readonly kmsKeys: readonly ResolvedKmsKey[];
  /** The identities whose keys rotate automatically (`rotation`). */
  readonly rotations: readonly ResolvedRotation[];
}

/** One function of serverless.yml, as the plugin reads it. */
export interface FunctionInput {
  readonly key: string;
  /** `functions.<key>.nhi`; `undefined` when the function is not protected. */
  readonly nhi: unknown;
  /** `functions.<key>.environment`. */
  readonly environment?: unknown;
}

/** What {@link resolveConfig} reads from the service. */
export interface ServiceInput {
  /** `custom.nhi`. */
  readonly custom: unknown;
  /** The stage (`provider.stage` / `--stage`), the default environment. */
  readonly stage?: string;
  /** Directory of serverless.yml: `publicKeyFile` is relative to it. */
  readonly serviceDir: string;
  /** `provider.environment`. */
  readonly providerEnvironment?: unknown;
  readonly functions: readonly FunctionInput[];
}

/** Defaults of {@link NhiAlarmOptions}, the same as `@nhi-dns/cdk`'s. */
export const ALARM_DEFAULTS: ResolvedAlarms = Object.freeze({
  actions: [],
  authFailureThreshold: 5,
  authFailurePeriod: 60,
  dnsMissStdDevs: 2,
  dnsMissPeriod: 300,
  dnsMissEvaluationPeriods: 3,
  dnsMissCeiling: 1000,
});

/** Characters Secrets Manager allows in a name (`:`, and so ARNs, excluded), as secrets-inject checks. */
const SECRET_NAME_CHARACTERS = /^[A-Za-z0-9/_+=.@-]+$/;
/** Longest secret name Secrets Manager accepts. */
const MAX_SECRET_NAME_LENGTH = 512;
/** A Powertools service name usable in a Metrics Insights query without quoting. */
const SERVICE_NAME = /^[A-Za-z0-9._-]{1,255}$/;
const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** True for a CloudFormation intrinsic: an object with one key, `Ref` or `Fn::*`. */
export const isIntrinsic = (value: unknown): value is CfnIntrinsic => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || (keys[0] ?? '').startsWith('Fn::'));
};

const anIntrinsic: OptionRule = {
  allowed: 'a CloudFormation intrinsic (!Ref, !GetAtt, !ImportValue)',
  test: isIntrinsic,
};
const anActionList: OptionRule = {
  allowed: 'a list of alarm action ARNs or intrinsics (!Ref PagerTopic)',
  test: (value) =>
    Array.isArray(value) &&
    value.every((item) => (typeof item === 'string' && item.length > 0) || isIntrinsic(item)),
};
const aPositiveNumber: OptionRule = {
  allowed: 'a number above 0',
  test: (value) => typeof value === 'number' && Number.isFinite(value) && value > 0,
};
const aWholeNumber = (min: number, max: number): OptionRule => ({
  allowed: `a whole number within ${min}..${max}`,
  test: (value) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max,
});
/** CloudWatch alarm periods of a metric with standard resolution: whole minutes, up to a day. */
const aPeriod: OptionRule = {
  allowed: 'seconds, a multiple of 60 within 60..86400',
  test: (value) =>
    Number.isInteger(value) &&
    (value as number) >= 60 &&
    (value as number) <= 86_400 &&
    (value as number) % 60 === 0,
};
const aStringMap: OptionRule = {
  allowed: 'an object of string values, e.g. { tier: internal }',
  test: (value) =>
    anObject.test(value) && Object.values(value as object).every((item) => typeof item === 'string'),
};

const SERVICE_RULES = {
  zone: required(aString),
  environment: aString,
  recordOwner: oneOf(...RECORD_OWNERS),
  hostedZoneId: either(aString, anIntrinsic),
  recordTtl: aWholeNumber(0, 2_147_483_647),
  dnsServers: aStringList,
  alarms: anObject,
  dashboard: aBoolean,
  allowBroadSecretsGrant: aBoolean,
  rotationModule: {
    allowed: 'a module path relative to serverless.yml, without extension, e.g. dist/nhi-rotation',
    test: (value: unknown) =>
      typeof value === 'string' && /^[A-Za-z0-9_@./-]+$/.test(value) && !value.startsWith('/'),
  },
};

const ALARM_RULES = {
  actions: anActionList,
  authFailureThreshold: aPositiveNumber,
  authFailurePeriod: aPeriod,
  dnsMissStdDevs: aPositiveNumber,
  dnsMissPeriod: aPeriod,
  dnsMissEvaluationPeriods: aWholeNumber(1, 100),
  dnsMissCeiling: aPositiveNumber,
};

const FUNCTION_RULES = {
  identity: required({
    allowed: 'a lower-case label [a-z0-9-]{1,63}, e.g. ledger',
    test: (value) => typeof value === 'string' && isIdentityLabel(value),
  }),
  allow: aStringList,
  secrets: aStringList,
  sign: either(aBoolean, oneOf('kms')),
  kmsKeyType: oneOf('ed25519', 'p256'),
  selfCheck: aBoolean,
  publicKey: either(anObject, { allowed: 'a list of keys', test: Array.isArray }),
  publicKeyFile: aString,
  attributes: aStringMap,
  rotation: anObject,
};

const ROTATION_RULES = {
  days: required(aWholeNumber(1, 1000)),
};

const KEY_RULES = {
  kid: required({
    allowed: '1..64 characters of [A-Za-z0-9._-]',
    test: (v) => typeof v === 'string' && KID_PATTERN.test(v),
  }),
  publicKey: required({ allowed: 'a base64 string (empty: revoked)', test: (v) => typeof v === 'string' }),
  keyType: oneOf('ed25519', 'p256'),
  certThumbprint: {
    allowed: 'the base64url SHA-256 of a certificate (43 characters)',
    test: (v: unknown) => typeof v === 'string' && CERT_THUMBPRINT_PATTERN.test(v),
  },
};

/** `validateOptions` with the option's path in serverless.yml in the message. */
const validate = (path: string, options: unknown, rules: Record<string, OptionRule>): void =>
  validateOptions(`${PLUGIN_NAME}: ${path}`, options, rules);

/** True for a DNS server as the resolver parses `NHI_DNS_SERVERS` entries. */
const isDnsServer = (server: string): boolean => {
  const bracketed = BRACKETED.exec(server);
  const v4 = IPV4_WITH_PORT.exec(server);
  const [address, port] = bracketed
    ? [bracketed[1], bracketed[2]]
    : v4
      ? [v4[1], v4[2]]
      : [server, undefined];
  const portOk = port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
  const family = address === undefined ? 0 : isIP(address);
  return family !== 0 && (bracketed === null || family === 6) && portOk;
};

/**
 * Checks a secret name relative to `/<environment>/` as secrets-inject does at init (no leading or
 * trailing `/`, no empty, `.` or `..` segment, no ARN, only `[A-Za-z0-9/_+=.@-]`), and refuses the
 * `nhi/` subtree: signing keys are granted by `sign: true`, each to its own identity only.
 */
export const checkSecretName = (option: string, name: string, environment: string): string => {
  const fail = (allowed: string): never => {
    throw invalidConfig(option, name, allowed);
  };
  if (!SECRET_NAME_CHARACTERS.test(name)) {
    fail('use characters of [A-Za-z0-9/_+=.@-], relative to /<environment>/ (no ARNs)');
  }
  const segments = name.split('/');
  if (!segments.every((segment) => segment.length > 0 && segment !== '.' && segment !== '..')) {
    fail('it must stay inside /<environment>/ (no leading or trailing "/", "//", "." or "..")');
  }
  if (segments[0] === 'nhi') {
    fail('nhi/ holds signing keys: give the function sign: true, which grants its own key and no other');
  }
  if (`/${environment}/${name}`.length > MAX_SECRET_NAME_LENGTH) {
    fail(`/${environment}/<name> must be at most ${MAX_SECRET_NAME_LENGTH} characters`);
  }
  return `/${environment}/${name}`;
};

const objectOrEmpty = (value: unknown): Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/**
 * The `service` dimension of a function's metrics: `POWERTOOLS_SERVICE_NAME` of the function,
 * else of the provider, else the identity's service label (which the plugin then sets).
 */
const serviceNameOf = (
  key: string,
  identity: string,
  functionEnvironment: Readonly<Record<string, unknown>>,
  providerEnvironment: Readonly<Record<string, unknown>>,
): { serviceName: string; set: boolean } => {
  for (const [where, environment] of [
    [`functions.${key}.environment`, functionEnvironment],
    ['provider.environment', providerEnvironment],
  ] as const) {
    const value = environment.POWERTOOLS_SERVICE_NAME;
    if (value === undefined) continue;
    if (typeof value !== 'string' || !SERVICE_NAME.test(value)) {
      throw invalidConfig(
        `${where}.POWERTOOLS_SERVICE_NAME`,
        value,
        'the alarms select on it: a literal of 1..255 characters [A-Za-z0-9._-]',
      );
    }
    return { serviceName: value, set: false };
  }
  return { serviceName: identity, set: true };
};

const checkNamespace = (
  key: string,
  functionEnvironment: Readonly<Record<string, unknown>>,
  providerEnvironment: Readonly<Record<string, unknown>>,
): boolean => {
  for (const [where, environment] of [
    [`functions.${key}.environment`, functionEnvironment],
    ['provider.environment', providerEnvironment],
  ] as const) {
    const value = environment.POWERTOOLS_METRICS_NAMESPACE;
    if (value === undefined) continue;
    if (value !== METRICS_NAMESPACE) {
      throw invalidConfig(
        `${where}.POWERTOOLS_METRICS_NAMESPACE`,
        value,
        `the alarms read namespace ${METRICS_NAMESPACE}: leave it unset or set it to ${METRICS_NAMESPACE}`,
      );
    }
    return false;
  }
  return true;
};

const sameAttributes = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * Checks `custom.nhi` and every `functions.<fn>.nhi` and fills in the defaults.
 *
 * @returns `undefined` when the service uses the plugin nowhere (no `custom.nhi`, no function `nhi`).
 * @throws {NhiError} `invalid_config`, the message naming the option by its path in serverless.yml.
 */
export const resolveConfig = (input: ServiceInput): ResolvedConfig | undefined => {
  const protectedFunctions = input.functions.filter((fn) => fn.nhi !== undefined && fn.nhi !== null);
  if (input.custom === undefined && protectedFunctions.length === 0) return undefined;
  if (input.custom === undefined) {
    throw invalidConfig(
      'custom.nhi',
      undefined,
      `functions ${protectedFunctions.map((fn) => fn.key).join(', ')} have nhi settings: give custom.nhi.zone (and environment)`,
    );
  }
  validate('custom.nhi', input.custom, SERVICE_RULES);
  const service = input.custom as NhiServiceOptions;

  let zone: string;
  try {
    zone = parseZone(service.zone);
  } catch (error) {
    throw invalidConfig('custom.nhi.zone', service.zone, (error as Error).message, error);
  }
  const environment = service.environment ?? input.stage;
  if (environment === undefined || !isIdentityLabel(environment)) {
    throw invalidConfig(
      service.environment === undefined
        ? 'custom.nhi.environment (default: the stage)'
        : 'custom.nhi.environment',
      environment,
      'a lower-case label [a-z0-9-]{1,63}: the second label of every identity name and the secrets namespace /<environment>/',
    );
  }
  const recordOwner: RecordOwner = service.recordOwner ?? 'cli';
  const rotates = protectedFunctions.some(
    (fn) => typeof fn.nhi === 'object' && (fn.nhi as NhiFunctionOptions).rotation !== undefined,
  );
  if (recordOwner === 'cli') {
    for (const option of rotates ? (['recordTtl'] as const) : (['hostedZoneId', 'recordTtl'] as const)) {
      if (service[option] !== undefined) {
        throw invalidConfig(
          `custom.nhi.${option}`,
          service[option],
          option === 'hostedZoneId'
            ? "it places a stack-owned record, and with recordOwner: 'cli' (the default) the nhi-dns CLI owns every record: set recordOwner: 'stack', give a function rotation (its function writes the record in that zone), or remove it"
            : "it places a stack-owned record, and with recordOwner: 'cli' (the default) the nhi-dns CLI owns every record: set recordOwner: 'stack' or remove it",
        );
      }
    }
  }
  if (
    typeof service.hostedZoneId === 'string' &&
    !/^(?:\/hostedzone\/)?Z[A-Z0-9]{1,31}$/.test(service.hostedZoneId)
  ) {
    throw invalidConfig(
      'custom.nhi.hostedZoneId',
      service.hostedZoneId,
      'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, or !Ref of one',
    );
  }
  let dnsServers: string[] | undefined;
  if (service.dnsServers !== undefined) {
    if (service.dnsServers.length === 0) {
      throw invalidConfig(
        'custom.nhi.dnsServers',
        [],
        'a non-empty list of addresses (10.0.0.2, 127.0.0.1:5353)',
      );
    }
    dnsServers = service.dnsServers.map((server, index) => {
      if (!isDnsServer(server)) {
        throw invalidConfig(
          `custom.nhi.dnsServers[${index}]`,
          server,
          'an IPv4 or IPv6 address, optionally with :port ([v6]:port)',
        );
      }
      return server;
    });
  }
  if (service.alarms !== undefined) validate('custom.nhi.alarms', service.alarms, ALARM_RULES);
  const alarms: ResolvedAlarms = { ...ALARM_DEFAULTS, ...stripUndefined(service.alarms ?? {}) };

  const providerEnvironment = objectOrEmpty(input.providerEnvironment);
  const records = new Map<
    string,
    {
      keys: PublishedKey[];
      attributes?: Record<string, string>;
      attributesFrom?: string;
      functions: string[];
    }
  >();
  const kmsKeys = new Map<string, { keyType: KeyType; from: string; functions: string[] }>();
  const rotationDays = new Map<string, { days: number; from: string }>();
  const functions = protectedFunctions.map((fn): ResolvedFunction => {
    const path = `functions.${fn.key}.nhi`;
    validate(path, fn.nhi, FUNCTION_RULES);
    const options = fn.nhi as NhiFunctionOptions;
    const identity = options.identity;
    const name = formatIdentityName({ service: identity, environment, zone });

    const allow = (() => {
      if (options.allow === undefined) return [];
      try {
        compileAllowList(options.allow, zone);
      } catch (error) {
        throw invalidConfig(`${path}.allow`, options.allow, (error as Error).message, error);
      }
      return [...new Set(options.allow.map(canonicalName))];
    })();
    const secrets = [
      ...new Set(
        (options.secrets ?? []).map((secret, index) =>
          checkSecretName(`${path}.secrets[${index}]`, secret, environment),
        ),
      ),
    ];

    const ownsRecordOptions = (['publicKey', 'publicKeyFile', 'attributes'] as const).filter(
      (option) => options[option] !== undefined,
    );
    if (recordOwner === 'cli' && ownsRecordOptions.length > 0) {
      throw invalidConfig(
        `${path}.${ownsRecordOptions[0]}`,
        ownsRecordOptions[0] === 'publicKey' ? '<given>' : options[ownsRecordOptions[0]!],
        "one owner per record: with recordOwner: 'cli' (the default) nhi-dns keygen/publish own the record; set custom.nhi.recordOwner: 'stack' to publish it from this stack",
      );
    }
    if (recordOwner === 'stack') {
      const record = records.get(identity) ?? { keys: [], functions: [] };
      record.functions.push(fn.key);
      const keys =
        options.publicKey === undefined
          ? []
          : Array.isArray(options.publicKey)
            ? options.publicKey
            : [options.publicKey];
      keys.forEach((key, index) => {
        const keyPath = Array.isArray(options.publicKey)
          ? `${path}.publicKey[${index}]`
          : `${path}.publicKey`;
        validate(keyPath, key, KEY_RULES);
        record.keys.push({
          kid: key.kid,
          keyType: key.keyType ?? 'ed25519',
          publicKey: key.publicKey,
          ...(key.certThumbprint === undefined ? {} : { certThumbprint: key.certThumbprint }),
        });
      });
      let attributes = options.attributes;
      if (options.publicKeyFile !== undefined) {
        const fromFile = readPublicKeyFile(
          `${path}.publicKeyFile`,
          options.publicKeyFile,
          input.serviceDir,
          name,
        );
        record.keys.push(...fromFile.keys);
        if (fromFile.attributes !== undefined && Object.keys(fromFile.attributes).length > 0) {
          if (attributes !== undefined && !sameAttributes(attributes, fromFile.attributes)) {
            throw invalidConfig(
              `${path}.attributes`,
              attributes,
              `the records in ${options.publicKeyFile} carry ${JSON.stringify(fromFile.attributes)}: give the same or none`,
            );
          }
          attributes = fromFile.attributes;
        }
      }
      if (attributes !== undefined) {
        if (record.attributes !== undefined && !sameAttributes(record.attributes, attributes)) {
          throw invalidConfig(
            `${path}.attributes`,
            attributes,
            `functions.${record.attributesFrom}.nhi gives identity ${identity} ${JSON.stringify(record.attributes)}: one record, one set of attributes`,
          );
        }
        record.attributes = { ...attributes };
        record.attributesFrom = fn.key;
      }
      records.set(identity, record);
    }

    if (options.rotation !== undefined) {
      validate(`${path}.rotation`, options.rotation, ROTATION_RULES);
      if (recordOwner === 'stack') {
        throw invalidConfig(
          `${path}.rotation`,
          options.rotation,
          "the rotation changes the record, and a stack-owned record changes only by deploying: keep recordOwner: 'cli' (the default)",
        );
      }
      if (service.hostedZoneId === undefined) {
        throw invalidConfig(
          'custom.nhi.hostedZoneId',
          undefined,
          `${path}.rotation writes the record of ${identity}: give the id of the hosted zone that holds it (Z..., or !Ref of one)`,
        );
      }
      const earlier = rotationDays.get(identity);
      if (earlier !== undefined && earlier.days !== options.rotation.days) {
        throw invalidConfig(
          `${path}.rotation.days`,
          options.rotation.days,
          `functions.${earlier.from}.nhi rotates ${identity} every ${earlier.days} days: one identity, one period`,
        );
      }
      rotationDays.set(identity, { days: options.rotation.days, from: fn.key });
    }

    const kmsKey = (() => {
      if (options.sign !== 'kms') {
        if (options.kmsKeyType !== undefined) {
          throw invalidConfig(`${path}.kmsKeyType`, options.kmsKeyType, 'only with sign: kms');
        }
        return undefined;
      }
      if (recordOwner === 'stack') {
        throw invalidConfig(
          `${path}.sign`,
          'kms',
          "the public key of a KMS key is known only once the stack created it, so this stack cannot publish it: keep recordOwner: 'cli' (the default) " +
            `and, after deploying, run nhi-dns publish --kms-key-id ${kmsAliasName(identity, environment)}`,
        );
      }
      const keyType = options.kmsKeyType ?? 'ed25519';
      const key = kmsKeys.get(identity) ?? { keyType, from: fn.key, functions: [] };
      if (key.keyType !== keyType) {
        throw invalidConfig(
          `${path}.kmsKeyType`,
          keyType,
          `functions.${key.from}.nhi signs as ${identity} with a ${key.keyType} KMS key: one identity, one KMS key`,
        );
      }
      key.functions.push(fn.key);
      kmsKeys.set(identity, key);
      return kmsAliasName(identity, environment);
    })();

    const functionEnvironment = objectOrEmpty(fn.environment);
    const { serviceName, set: setServiceName } = serviceNameOf(
      fn.key,
      identity,
      functionEnvironment,
      providerEnvironment,
    );
    const setNamespace = checkNamespace(fn.key, functionEnvironment, providerEnvironment);
    const variables: Record<string, string> = {
      NHI_ZONE: zone,
      NHI_ENVIRONMENT: environment,
      NHI_SELF: name,
    };
    if (allow.length > 0) variables.NHI_ALLOW = allow.join(',');
    if (dnsServers !== undefined) variables.NHI_DNS_SERVERS = dnsServers.join(',');
    if (setServiceName) variables.POWERTOOLS_SERVICE_NAME = serviceName;
    if (setNamespace) variables.POWERTOOLS_METRICS_NAMESPACE = METRICS_NAMESPACE;
    // identity-sign signs with this KMS key when given no signingKey.
    if (kmsKey !== undefined) variables.NHI_KMS_KEY_ID = kmsKey;
    for (const [variable, value] of Object.entries(variables)) {
      const given = functionEnvironment[variable];
      if (given !== undefined && given !== value) {
        throw invalidConfig(
          `functions.${fn.key}.environment.${variable}`,
          given,
          `the plugin sets ${variable} to ${JSON.stringify(value)} from the nhi settings: remove it or give the same value`,
        );
      }
    }
    return {
      key: fn.key,
      identity,
      name,
      allow,
      secrets,
      ...(options.sign === true ? { signingKey: `/${environment}/nhi/${identity}/signing-key` } : {}),
      ...(kmsKey === undefined ? {} : { kmsKey }),
      selfCheck: options.selfCheck === true,
      serviceName,
      environment: Object.freeze(variables),
    };
  });

  const resolvedRecords = [...records].map(([identity, record]): ResolvedRecord => {
    if (record.keys.length === 0) {
      throw invalidConfig(
        `functions.${record.functions[0]}.nhi.publicKey`,
        undefined,
        `with recordOwner: 'stack' the stack publishes the record of ${identity}: give publicKey or publicKeyFile (output of nhi-dns keygen --json or nhi-dns render)`,
      );
    }
    return {
      identity,
      name: formatIdentityName({ service: identity, environment, zone }),
      keys: record.keys,
      ...(record.attributes === undefined ? {} : { attributes: record.attributes }),
      functions: record.functions,
    };
  });

  const rotationModule = service.rotationModule ?? DEFAULT_ROTATION_MODULE;
  const rotations = [...rotationDays].map(([identity, { days }]): ResolvedRotation => {
    const custody = kmsKeys.has(identity) ? 'kms' : 'secret';
    const serviceName = `nhi-rotation.${identity}.${environment}`;
    const hostedZoneId = service.hostedZoneId as string | CfnIntrinsic;
    return {
      identity,
      name: formatIdentityName({ service: identity, environment, zone }),
      days,
      custody,
      keyName:
        custody === 'kms'
          ? kmsAliasName(identity, environment)
          : `/${environment}/nhi/${identity}/signing-key`,
      functionKey: `nhiRotation${identity
        .split('-')
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join('')}`,
      handler: `${rotationModule}.${custody === 'kms' ? KMS_ROTATION_HANDLER : SECRET_ROTATION_HANDLER}`,
      serviceName,
      environment: {
        NHI_ZONE: zone,
        NHI_HOSTED_ZONE_ID:
          typeof hostedZoneId === 'string' ? hostedZoneId.replace(/^\/hostedzone\//, '') : hostedZoneId,
        ...(dnsServers === undefined ? {} : { NHI_DNS_SERVERS: dnsServers.join(',') }),
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    };
  });
  for (const rotation of rotations) {
    if (input.functions.some((fn) => fn.key === rotation.functionKey)) {
      throw invalidConfig(
        `functions.${rotation.functionKey}`,
        '<given>',
        `the plugin adds the rotation function of ${rotation.identity} under this key: rename that function`,
      );
    }
  }

  return {
    zone,
    environment,
    recordOwner,
    ...(service.hostedZoneId === undefined ? {} : { hostedZoneId: service.hostedZoneId }),
    ...(service.recordTtl === undefined ? {} : { recordTtl: service.recordTtl }),
    ...(dnsServers === undefined ? {} : { dnsServers }),
    alarms,
    dashboard: service.dashboard === true,
    allowBroadSecretsGrant: service.allowBroadSecretsGrant === true,
    functions,
    records: resolvedRecords,
    kmsKeys: [...kmsKeys].map(([identity, key]) => ({
      identity,
      name: formatIdentityName({ service: identity, environment, zone }),
      alias: kmsAliasName(identity, environment),
      keyType: key.keyType,
      functions: key.functions,
    })),
    rotations,
  };
};

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;

/** Every option the plugin knows, by level (for the schema and the README's table). */
export const KNOWN_OPTIONS = {
  service: Object.keys(SERVICE_RULES),
  alarms: Object.keys(ALARM_RULES),
  function: Object.keys(FUNCTION_RULES),
  key: Object.keys(KEY_RULES),
  rotation: Object.keys(ROTATION_RULES),
} as const;
