// The one place where option values are checked. Every command runs these checks before it
// talks to AWS or DNS, so a bad value is a usage error (exit code 2) and never a half-done
// change, an AWS error or a lookup of a name nobody meant.
import { isIP } from 'node:net';
import {
  canonicalName,
  DEFAULT_MAX_LIFETIME,
  formatIdentityName,
  formatRecord,
  isIdentityLabel,
  KID_PATTERN,
  NhiError,
  type ProofAlgorithm,
  parseZone,
  splitIdentityLabels,
} from '@nhi-dns/core';
import { CliError, EXIT_CODE, usageError } from './errors.js';
import type { PublishedKey } from './keys.js';

/**
 * A Route 53 hosted zone id: upper-case letters and digits, at most 32 (as the API documents it;
 * real ids start with `Z` but nothing promises it, and emulators such as moto make others),
 * optionally after `/hostedzone/`.
 */
const HOSTED_ZONE_ID = /^(?:\/hostedzone\/)?[A-Z0-9]{1,32}$/;
/** An AWS region name such as `eu-west-1`, `us-gov-west-1` or `ap-southeast-4`. */
const REGION = /^[a-z]{2,}(?:-[a-z0-9]+)*-[0-9]{1,2}$/;
/** `[v6]` or `[v6]:port`. */
const BRACKETED_SERVER = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/;
/** `v4:port`. */
const IPV4_WITH_PORT = /^([0-9.]+):([0-9]{1,5})$/;
/** A CloudFormation logical id. */
const LOGICAL_ID = /^[A-Za-z0-9]{1,255}$/;
/** Largest TTL Route 53 (and RFC 2181) allows. */
const MAX_TTL = 2_147_483_647;
/** An HTTP method name, as core's signers accept it for `htm`. */
const HTTP_METHOD = /^[A-Za-z]{1,32}$/;

/**
 * Checks a service or environment label. Unlike DNS names, labels are not lower-cased: they
 * also name the secret (`/<env>/nhi/<service>/…`) and appear verbatim in the record (`svc=`,
 * `env=`), where verifiers compare them exactly.
 *
 * @param flag - the option, for the message (`--service`, `--env`).
 * @throws {CliError} `invalid_name`, exit code 2.
 */
export const checkLabel = (flag: string, label: string): string => {
  if (!isIdentityLabel(label)) {
    throw new CliError(
      'invalid_name',
      `${flag} must be a lower-case label of 1..63 characters [a-z0-9-], not ${JSON.stringify(label)}`,
      EXIT_CODE.usage,
    );
  }
  return label;
};

/**
 * Checks `--zone` and returns it in canonical form (lower case, no trailing dot).
 * @throws {CliError} `invalid_zone`, exit code 2.
 */
export const checkZone = (zone: string): string => {
  try {
    return parseZone(zone);
  } catch (error) {
    if (error instanceof NhiError) {
      throw new CliError(error.reason, `--zone: ${error.message}`, EXIT_CODE.usage);
    }
    throw error;
  }
};

/** Checks `--hosted-zone-id` (`Z0123…` or `/hostedzone/Z0123…`). @throws {CliError} usage error. */
export const checkHostedZoneId = (id: string): string => {
  if (!HOSTED_ZONE_ID.test(id)) {
    throw usageError(
      `--hosted-zone-id must be a Route 53 hosted zone id (up to 32 upper-case letters and digits, ` +
        `optionally after /hostedzone/), not ${JSON.stringify(id)}`,
    );
  }
  return id;
};

/** Checks a key id against the record format (`--kid`). @throws {CliError} usage error. */
export const checkKid = (kid: string): string => {
  if (!KID_PATTERN.test(kid)) throw usageError('--kid must be 1..64 characters [A-Za-z0-9._-]');
  return kid;
};

/** Checks `--region` (an AWS region name such as `eu-west-1`). @throws {CliError} usage error. */
export const checkRegion = (region: string): string => {
  if (!REGION.test(region)) {
    throw usageError(`--region must be an AWS region such as eu-west-1, not ${JSON.stringify(region)}`);
  }
  return region;
};

/**
 * Checks `--server`: an IPv4 or IPv6 address with an optional port (`10.0.0.2`, `10.0.0.2:53`,
 * `::1`, `[::1]:5353`), the forms `@nhi-dns/resolver` accepts. Checked here so that a typo is a
 * usage error rather than a resolver failure. @throws {CliError} usage error.
 */
export const checkServer = (server: string): string => {
  const fail = (): never => {
    throw usageError(
      `--server must be an IPv4 or IPv6 address with an optional port (10.0.0.2:53, [::1]:53), ` +
        `not ${JSON.stringify(server)}`,
    );
  };
  const bracketed = BRACKETED_SERVER.exec(server);
  const v4 = IPV4_WITH_PORT.exec(server);
  const [address, port] = bracketed
    ? [bracketed[1] ?? '', bracketed[2]]
    : v4
      ? [v4[1] ?? '', v4[2]]
      : [server, undefined];
  const family = isIP(address);
  if (family === 0 || (bracketed !== null && family !== 6)) fail();
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) fail();
  return server;
};

/** Checks `--ttl`. @throws {CliError} usage error. */
export const checkTtl = (ttl: number): number => {
  if (!Number.isSafeInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw usageError(`--ttl must be a whole number of seconds in 0..${MAX_TTL}`);
  }
  return ttl;
};

/**
 * Runs core's record formatter on a stand-in record that carries only `fields`, so that key
 * material and attributes are held to exactly the rules the real record will be (no copy of
 * them here), before anything is read from AWS.
 */
const checkRecordFields = (flag: string, fields: Partial<Parameters<typeof formatRecord>[0]>): void => {
  try {
    formatRecord({ service: 'a', environment: 'a', kid: 'a', publicKey: '', ...fields });
  } catch (error) {
    if (error instanceof NhiError) throw usageError(`${flag}: ${error.message}`);
    throw error;
  }
};

/** Checks one `--attr NAME=VALUE` (an `x-` attribute of the record). @throws {CliError} usage error. */
export const checkAttribute = (name: string, value: string): void =>
  checkRecordFields('--attr', { attributes: { [name]: value } });

/**
 * Checks a key given on the command line (`--public-key`, its `--kid` and `--alg`).
 * @throws {CliError} usage error.
 */
export const checkPublishedKey = (key: PublishedKey): PublishedKey => {
  checkKid(key.kid);
  checkRecordFields('--public-key', { keyType: key.keyType, publicKey: key.publicKey });
  return key;
};

/** Checks `--logical-id` (a CloudFormation logical id: alphanumerics only). @throws {CliError} usage error. */
export const checkLogicalId = (id: string): string => {
  if (!LOGICAL_ID.test(id)) throw usageError('--logical-id must be alphanumeric');
  return id;
};

/** The parts of a command's options that name an identity. */
export interface TargetToCheck {
  readonly service: string;
  readonly environment: string;
  readonly zone: string;
  readonly hostedZoneId?: string;
  readonly kid?: string;
  readonly ttl?: number;
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * Checks every identity-naming option of a command at once. Each command calls it first, so
 * library callers get the same usage errors as the command line, before any AWS call.
 *
 * @throws {CliError} usage error naming the first bad option.
 */
export const checkTarget = (target: TargetToCheck): void => {
  checkLabel('--service', target.service);
  checkLabel('--env', target.environment);
  checkZone(target.zone);
  if (target.hostedZoneId !== undefined) checkHostedZoneId(target.hostedZoneId);
  if (target.kid !== undefined) checkKid(target.kid);
  if (target.ttl !== undefined) checkTtl(target.ttl);
  for (const [name, value] of Object.entries(target.attributes ?? {})) checkAttribute(name, value);
};

/**
 * Checks an identity name given on the command line (`sign --iss`, `--aud`):
 * `<service>.<env>.<zone>` with lower-case-able labels, returned in canonical form (lower case,
 * no trailing dot), as proofs carry it.
 *
 * @throws {CliError} usage error.
 */
export const checkIdentityName = (flag: string, name: string): string => {
  const canonical = canonicalName(name);
  const labels = splitIdentityLabels(canonical);
  try {
    if (labels === undefined) throw new NhiError('invalid_name', 'too few labels');
    return formatIdentityName({ ...labels, zone: canonical.split('.').slice(2).join('.') });
  } catch (error) {
    if (!(error instanceof NhiError)) throw error;
    throw usageError(
      `${flag} must be an identity name <service>.<env>.<zone> (labels [a-z0-9-], e.g. ` +
        `billing.prod.auth.example.com), not ${JSON.stringify(name)}`,
    );
  }
};

/** Checks `sign --method` (an HTTP method name, bound as `htm`). @throws {CliError} usage error. */
export const checkHttpMethod = (method: string): string => {
  if (!HTTP_METHOD.test(method)) {
    throw usageError(`--method must be an HTTP method such as POST, not ${JSON.stringify(method)}`);
  }
  return method.toUpperCase();
};

/**
 * Checks `sign --url`: an absolute `https:` or `http:` URL (bound as `htu`; verifiers compare
 * scheme, host and path). @throws {CliError} usage error.
 */
export const checkProofUrl = (url: string): string => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw usageError(`--url must be an absolute https:// (or http://) URL, not ${JSON.stringify(url)}`);
  }
  return url;
};

/** Longest `sign --lifetime`: the verifier's default `maxLifetime` (DESIGN §3). */
export const MAX_SIGN_LIFETIME = DEFAULT_MAX_LIFETIME;

/**
 * Checks `sign --lifetime` (seconds until `exp`): a whole number in 1..300, since verifiers
 * refuse a longer proof (`lifetime_too_long`) with their default `maxLifetime`.
 * @throws {CliError} usage error.
 */
export const checkProofLifetime = (seconds: number): number => {
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > MAX_SIGN_LIFETIME) {
    throw usageError(
      `--lifetime must be a whole number of seconds in 1..${MAX_SIGN_LIFETIME} ` +
        `(verifiers refuse proofs that live longer than ${MAX_SIGN_LIFETIME} s by default)`,
    );
  }
  return seconds;
};

/** The header algorithms `sign --alg` takes, by lower-cased name. */
const PROOF_ALGORITHMS: ReadonlyMap<string, ProofAlgorithm> = new Map([
  ['eddsa', 'EdDSA'],
  ['ed25519', 'Ed25519'],
  ['es256', 'ES256'],
]);

/**
 * Parses `sign --alg`: `EdDSA` or `Ed25519` (RFC 9864's name) for an Ed25519 key, `ES256` for a
 * P-256 key (any case). Whether it fits the key is checked once the key is read.
 * @throws {CliError} usage error.
 */
export const parseProofAlgorithm = (value: string): ProofAlgorithm => {
  const algorithm = PROOF_ALGORITHMS.get(value.toLowerCase());
  if (algorithm === undefined) {
    throw usageError(
      `--alg must be EdDSA or Ed25519 (Ed25519 keys) or ES256 (P-256 keys), not ${JSON.stringify(value)}`,
    );
  }
  return algorithm;
};
