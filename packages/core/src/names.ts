import { NhiError } from './errors.js';

/** Maximum length of a DNS name in presentation form, without the trailing dot (RFC 1035). */
const MAX_NAME_LENGTH = 253;
/** A service or environment label: lower-case LDH, 1..63 characters (DESIGN §1). */
const IDENTITY_LABEL = /^[a-z0-9-]{1,63}$/;
/** A zone label: LDH plus `_` (service labels such as `_nhi` are fine in a zone). */
const ZONE_LABEL = /^[a-z0-9_-]{1,63}$/;

/** An identity name split into its parts; every part is in canonical form. */
export interface IdentityName {
  /** The full canonical name, e.g. `billing.prod.auth.example.com`. */
  readonly name: string;
  /** First label, e.g. `billing`. */
  readonly service: string;
  /** Second label, e.g. `prod`. */
  readonly environment: string;
  /** The zone the identity lives in, e.g. `auth.example.com`. */
  readonly zone: string;
}

/**
 * Canonical form of a DNS name (DESIGN §2): lower case, without a trailing dot.
 * Only ASCII letters are folded, as in DNS (RFC 4343); other characters are kept and later
 * rejected by the label rules.
 */
export const canonicalName = (name: string): string => {
  const lower = name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
};

/** True when `label` is a valid service or environment label. */
export const isIdentityLabel = (label: string): boolean => IDENTITY_LABEL.test(label);

/**
 * Validates and canonicalises a zone name such as `auth.example.com.`.
 * @throws {NhiError} `invalid_zone` when it is not a valid DNS name.
 */
export const parseZone = (zone: string): string => {
  const canonical = canonicalName(zone);
  if (canonical.length === 0 || canonical.length > MAX_NAME_LENGTH) {
    throw new NhiError('invalid_zone', 'zone must be a DNS name of 1..253 characters');
  }
  if (!canonical.split('.').every((label) => ZONE_LABEL.test(label))) {
    throw new NhiError('invalid_zone', 'zone labels must be 1..63 characters of [a-z0-9_-]');
  }
  return canonical;
};

/**
 * Splits `name` into service, environment and zone when it is an identity name directly
 * under `zone` (`<service>.<environment>.<zone>`); returns `undefined` otherwise.
 * Never throws: use it on untrusted input (a proof's `iss`).
 *
 * @param name - candidate name, any case, trailing dot allowed.
 * @param zone - the zone in canonical form (see {@link parseZone}).
 */
export const tryParseIdentityName = (name: unknown, zone: string): IdentityName | undefined => {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH + 1) return undefined;
  const canonical = canonicalName(name);
  const suffix = `.${zone}`;
  if (!canonical.endsWith(suffix)) return undefined;
  const head = canonical.slice(0, -suffix.length);
  const dot = head.indexOf('.');
  if (dot < 0) return undefined;
  const service = head.slice(0, dot);
  const environment = head.slice(dot + 1);
  if (!isIdentityLabel(service) || !isIdentityLabel(environment)) return undefined;
  return { name: canonical, service, environment, zone };
};

/**
 * Like {@link tryParseIdentityName} but throws.
 * @throws {NhiError} `outside_zone` when `name` is not `<service>.<environment>.<zone>`.
 */
export const parseIdentityName = (name: string, zone: string): IdentityName => {
  const parsed = tryParseIdentityName(name, parseZone(zone));
  if (parsed === undefined) {
    throw new NhiError('outside_zone', 'name is not <service>.<environment> directly under the zone');
  }
  return parsed;
};

/**
 * Builds the identity name of a workload.
 * @throws {NhiError} `invalid_name` when a label breaks the rules, `invalid_zone` for a bad zone.
 */
export const formatIdentityName = (parts: { service: string; environment: string; zone: string }): string => {
  const zone = parseZone(parts.zone);
  const service = canonicalName(parts.service);
  const environment = canonicalName(parts.environment);
  if (!isIdentityLabel(service) || !isIdentityLabel(environment)) {
    throw new NhiError(
      'invalid_name',
      'service and environment must be labels of 1..63 characters [a-z0-9-]',
    );
  }
  const name = `${service}.${environment}.${zone}`;
  if (name.length > MAX_NAME_LENGTH) throw new NhiError('invalid_name', 'identity name longer than 253');
  return name;
};

/** Splits an identity name into its first two labels without checking a zone (for records). */
export const splitIdentityLabels = (name: string): { service: string; environment: string } | undefined => {
  const labels = canonicalName(name).split('.');
  const [service, environment] = labels;
  if (labels.length < 3 || service === undefined || environment === undefined) return undefined;
  return { service, environment };
};
