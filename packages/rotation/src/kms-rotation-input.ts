/**
 * What a scheduled KMS rotation run is told: the identity, from the schedule's input, and the zone,
 * from the function's environment. Both are checked before any AWS call, so a bad schedule fails
 * with a message that names the field instead of a `TypeError` half-way through a rotation.
 */
import {
  aNumber,
  DEFAULT_CLOCK_SKEW,
  MAX_WIT_LIFETIME,
  type OptionRule,
  type OptionRules,
  required,
  validateOptions,
} from '@nhi-dns/core';
import {
  KMS_ROTATION_PACKAGE,
  KmsRotationConfigError,
  KmsRotationInputError,
} from './kms-rotation-errors.js';

/** Longest rotation period the input accepts, in days: ten years (beyond it the schedule is a mistake). */
export const MAX_KMS_ROTATION_DAYS = 3650;

/** Largest `clockSkew` the input accepts, seconds (core's verifiers refuse more). */
export const MAX_KMS_ROTATION_CLOCK_SKEW = 300;

/**
 * The input of the EventBridge Scheduler schedule: which identity to rotate, who signs for it and
 * how often. Unknown fields are refused (a misspelt `rotationDays` must not mean "the default").
 *
 * @example
 * ```json
 * { "service": "billing", "environment": "prod",
 *   "signerRoles": ["arn:aws:iam::123456789012:role/billing-function"], "rotationDays": 90 }
 * ```
 */
export interface KmsRotationInput {
  /** Service label of the identity, e.g. `billing`. */
  readonly service: string;
  /** Environment label of the identity, e.g. `prod`. */
  readonly environment: string;
  /** IAM role ARNs that may sign with the next key (the workload's function roles), one account. */
  readonly signerRoles: readonly string[];
  /** Rotate once the key the alias names is older than this many days (KMS `CreationDate`). */
  readonly rotationDays: number;
  /**
   * Longest `witLifetime` of the identity's signers, seconds: the old key stays published that
   * long (plus the clock skew) after the alias moves. The ceiling by default, since a signer may
   * be configured up to it; give identity-sign's real `witLifetime` (its default is 3600) to shorten it.
   * @default 86400
   */
  readonly maxWitLifetime?: number;
  /**
   * Largest `clockSkew` of the identity's verifiers, seconds.
   * @default 60
   */
  readonly clockSkew?: number;
}

/** The function's configuration, from its environment. */
export interface KmsRotationEnvironment {
  /** `NHI_ZONE`: the identity zone, e.g. `auth.example.com`. */
  readonly zone: string;
  /** `NHI_HOSTED_ZONE_ID`: the Route 53 hosted zone that serves it. */
  readonly hostedZoneId: string;
}

/** A DNS label of an identity name (DESIGN §2): what `svc=` and `env=` accept. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** An IAM role ARN, as the CLI's key policy requires. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** A zone name: lower-case labels, no trailing dot. */
const ZONE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A Route 53 hosted zone id, bare or as `/hostedzone/<id>`. */
const HOSTED_ZONE_ID = /^(?:\/hostedzone\/)?[A-Z0-9]{1,32}$/;

const aLabel: OptionRule = {
  allowed: 'a DNS label: 1..63 of a-z, 0-9 and -, not starting or ending with -',
  test: (value) => typeof value === 'string' && LABEL.test(value),
};

const aRoleList: OptionRule = {
  allowed: 'a non-empty array of IAM role ARNs, e.g. ["arn:aws:iam::123456789012:role/billing-function"]',
  test: (value) =>
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => typeof item === 'string' && ROLE_ARN.test(item)),
};

/** One rule per field of {@link KmsRotationInput}. */
const INPUT_RULES: OptionRules = {
  service: required(aLabel),
  environment: required(aLabel),
  signerRoles: required(aRoleList),
  rotationDays: required(aNumber(1, { integer: true, max: MAX_KMS_ROTATION_DAYS, unit: 'days' })),
  maxWitLifetime: aNumber(1, { integer: true, max: MAX_WIT_LIFETIME }),
  clockSkew: aNumber(0, { integer: true, max: MAX_KMS_ROTATION_CLOCK_SKEW }),
};

/** A {@link KmsRotationInput} with its defaults applied. */
export type ResolvedKmsRotationInput = Required<KmsRotationInput>;

/**
 * Checks the schedule's input and applies the defaults once.
 * @throws {KmsRotationInputError} naming the first field that is missing, unknown or out of range.
 */
export const parseKmsRotationInput = (event: unknown): ResolvedKmsRotationInput => {
  validateOptions(
    `${KMS_ROTATION_PACKAGE} schedule input`,
    event,
    INPUT_RULES,
    (message) => new KmsRotationInputError(message),
  );
  const input = event as KmsRotationInput;
  const [account] = input.signerRoles.map((arn) => arn.split(':')[4]);
  // The key policy names one account's roles (the key's): refused here, before anything is created.
  if (input.signerRoles.some((arn) => arn.split(':')[4] !== account)) {
    throw new KmsRotationInputError(
      `${KMS_ROTATION_PACKAGE} schedule input: every signer role must be in one account (the key's)`,
    );
  }
  return {
    service: input.service,
    environment: input.environment,
    signerRoles: [...input.signerRoles],
    rotationDays: input.rotationDays,
    // The ceiling by default: a signer may live on WITs that long (see rotate --kms).
    maxWitLifetime: input.maxWitLifetime ?? MAX_WIT_LIFETIME,
    clockSkew: input.clockSkew ?? DEFAULT_CLOCK_SKEW,
  };
};

/**
 * Reads `NHI_ZONE` and `NHI_HOSTED_ZONE_ID`.
 * @throws {KmsRotationConfigError} naming the variable that is missing or malformed.
 */
export const readKmsRotationEnvironment = (env: NodeJS.ProcessEnv): KmsRotationEnvironment => {
  const zone = env.NHI_ZONE?.trim().toLowerCase().replace(/\.$/, '');
  const hostedZoneId = env.NHI_HOSTED_ZONE_ID?.trim();
  if (zone === undefined || !ZONE.test(zone)) {
    throw new KmsRotationConfigError(
      `${KMS_ROTATION_PACKAGE}: NHI_ZONE is ${zone === undefined || zone === '' ? 'not set' : `'${zone}'`}; set it to the identity zone, e.g. auth.example.com`,
    );
  }
  if (hostedZoneId === undefined || !HOSTED_ZONE_ID.test(hostedZoneId)) {
    throw new KmsRotationConfigError(
      `${KMS_ROTATION_PACKAGE}: NHI_HOSTED_ZONE_ID is ${hostedZoneId === undefined || hostedZoneId === '' ? 'not set' : `'${hostedZoneId}'`}; set it to the Route 53 hosted zone id of ${zone}`,
    );
  }
  return { zone, hostedZoneId };
};
