import {
  canonicalName,
  type DecodedProof,
  IdentityError,
  type IdentityName,
  lambdaDeadline,
  NhiError,
  type Observability,
  tryParseIdentityName,
} from '@nhi-dns/core';
import {
  createResolver,
  IANA_ROOT_ANCHORS,
  type Resolver,
  type ResolverOptions,
  type TxtResult,
} from '@nhi-dns/resolver';
import type { RecordSource, ResolvedIdentity } from './identity-resolve.js';
import { ParsedIdentityCache } from './key-cache.js';
import { reportCaseFallback, reportChainLookup, reportLookup } from './lookup-telemetry.js';
import { PACKAGE_NAME } from './proof-source.js';

/** Environment variable naming the DNS servers of the default resolver, e.g. `10.0.0.2,127.0.0.1:5353`. */
export const DNS_SERVERS_VARIABLE = 'NHI_DNS_SERVERS';

/**
 * Environment variable that turns DNS 0x20 (the resolver's `caseRandomization`) off in the default
 * resolver: `off`, for a forwarder known not to preserve letter case (the resolver copes with one
 * by itself, at one extra exchange per server every 10 minutes); `on`, the default.
 */
export const DNS_0X20_VARIABLE = 'NHI_DNS_0X20';

/** Shared default resolvers, one per set of trust anchors ('' for the one that does not validate). */
const sharedResolvers = new Map<string, Resolver>();

/** `caseRandomization` from `NHI_DNS_0X20`: undefined (the default) when unset or empty. */
const caseRandomizationFrom = (value: string | undefined): boolean | undefined => {
  const setting = (value ?? '').trim().toLowerCase();
  if (setting === '') return undefined;
  if (setting === 'on' || setting === 'off') return setting === 'on';
  // A typo must not leave an operator believing 0x20 is off: fail at init, as a bad server does.
  throw new TypeError(`${DNS_0X20_VARIABLE} must be on or off, not ${JSON.stringify(value?.slice(0, 20))}`);
};

/**
 * Options of the shared default resolver: servers from `NHI_DNS_SERVERS` when set, else
 * `/etc/resolv.conf`; DNS 0x20 off when `NHI_DNS_0X20=off`.
 * @throws {TypeError} when `NHI_DNS_0X20` is neither `on` nor `off`.
 */
export const defaultResolverOptions = (env: NodeJS.ProcessEnv = process.env): ResolverOptions => {
  const servers = (env[DNS_SERVERS_VARIABLE] ?? '')
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean);
  const caseRandomization = caseRandomizationFrom(env[DNS_0X20_VARIABLE]);
  return {
    ...(servers.length > 0 ? { servers } : {}),
    ...(caseRandomization === undefined ? {} : { caseRandomization }),
  };
};

const isResolver = (option: Resolver | ResolverOptions): option is Resolver =>
  typeof (option as Resolver).resolveTxt === 'function';

/** In-process DNSSEC validation wanted of {@link resolverFrom}. */
export interface ValidationSettings {
  /** Validate (identity-resolve's `validateDnssec`). */
  readonly validate: boolean;
  /** Anchors for a resolver made here. Default `IANA_ROOT_ANCHORS`. */
  readonly trustAnchors?: readonly string[] | undefined;
}

/**
 * A resolver given, one made from options, or the one shared by every middleware of the process.
 * With validation, a resolver made here gets the trust anchors (the IANA root KSKs by default)
 * unless its options name their own, and a resolver given must be able to validate.
 * @throws {NhiError} `invalid_config` for a given resolver that cannot validate, or bad anchors.
 */
export const resolverFrom = (
  option: Resolver | ResolverOptions | undefined,
  validation: ValidationSettings = { validate: false },
  packageName: string = PACKAGE_NAME,
): Resolver => {
  const trustAnchors = validation.validate ? (validation.trustAnchors ?? IANA_ROOT_ANCHORS) : undefined;
  if (option !== undefined && isResolver(option)) {
    if (trustAnchors !== undefined && typeof option.prepareValidation !== 'function') {
      throw new NhiError(
        'invalid_config',
        `${packageName}: validateDnssec needs a resolver that validates (createResolver with trustAnchors)`,
      );
    }
    return option;
  }
  try {
    if (option !== undefined) {
      return createResolver(
        trustAnchors === undefined || option.trustAnchors !== undefined
          ? option
          : { ...option, trustAnchors },
      );
    }
    const key = trustAnchors?.join('\n') ?? '';
    let shared = sharedResolvers.get(key);
    if (shared === undefined) {
      const defaults = defaultResolverOptions();
      shared = createResolver(trustAnchors === undefined ? defaults : { ...defaults, trustAnchors });
      sharedResolvers.set(key, shared);
    }
    return shared;
  } catch (error) {
    // The resolver checks its options (servers, anchors) with a TypeError naming the option.
    if (error instanceof TypeError) throw new NhiError('invalid_config', `${packageName}: ${error.message}`);
    throw error;
  }
};

/** Remembers when each name was last refreshed; bounded, oldest names forgotten first. */
class RefreshCooldown {
  readonly #last = new Map<string, number>();
  readonly #intervalMs: number;

  constructor(
    intervalMs: number,
    readonly maxNames = 10_000,
  ) {
    this.#intervalMs = intervalMs;
  }

  /** True (and the time noted) when `name` was not refreshed within the interval. */
  allow(name: string): boolean {
    const now = Date.now();
    const last = this.#last.get(name);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#last.delete(name);
    this.#last.set(name, now);
    if (this.#last.size > this.maxNames) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    return true;
  }
}

const sourceOf = (result: TxtResult): RecordSource =>
  result.outcome === 'stale' ? 'stale' : result.fromCache ? 'cache' : 'network';

/**
 * A resolved record with its identity's labels (and the caller's proof), as one literal: every
 * request builds one, and a fixed shape keeps the readers' property access monomorphic.
 */
const withIdentity = (
  resolved: Omit<ResolvedIdentity, 'service' | 'environment' | 'proof'>,
  identity: { readonly service: string; readonly environment: string },
  proof: DecodedProof | undefined,
): ResolvedIdentity => ({
  name: resolved.name,
  service: identity.service,
  environment: identity.environment,
  keys: resolved.keys,
  attributes: resolved.attributes,
  ad: resolved.ad,
  dnssec: resolved.dnssec,
  ttl: resolved.ttl,
  source: resolved.source,
  problems: resolved.problems,
  proof,
});

/** True when canonical `name` is `zone` or below it. */
const isInsideZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

/** Options of {@link IdentityDirectory}. */
export interface IdentityDirectoryOptions {
  /** Canonical zone. */
  readonly zone: string;
  readonly resolver: Resolver;
  /** Ask for DNSSEC (DO bit). */
  readonly dnssec: boolean;
  /** Validate DNSSEC in-process (the resolver holds the trust anchors); bogus records are denied. */
  readonly validate?: boolean;
  /** Milliseconds kept back from the Lambda's remaining time for the DNS deadline. */
  readonly deadlineMargin: number;
  /** Seconds between two refreshes of one name triggered by an unknown kid. */
  readonly unknownKidRefreshInterval: number;
  /** Logs and metrics (created on first use). */
  readonly telemetry: () => Observability;
}

/**
 * Looks identities up in DNS, Middy-free: resolves a name's TXT RRset through the resolver (cached,
 * single flight), parses it once per answer, follows CNAMEs only inside the zone, and logs and
 * counts every lookup. identity-resolve uses one per middleware; identity-verify's record
 * verifier uses one for every record of a batch, so records of one issuer share one lookup.
 */
export class IdentityDirectory {
  readonly #options: IdentityDirectoryOptions;
  readonly #cache = new ParsedIdentityCache();
  readonly #refreshes: RefreshCooldown;
  /** Servers already warned about for not preserving letter case (DNS 0x20). */
  readonly #caseWarned = new Set<string>();

  constructor(options: IdentityDirectoryOptions) {
    this.#options = options;
    this.#refreshes = new RefreshCooldown(options.unknownKidRefreshInterval * 1000);
    if (options.validate === true) {
      // The validator's own DNSKEY and DS queries are DNS lookups too: logged and counted.
      options.resolver.on('lookup', (event) => {
        if (event.type !== 'DNSKEY' && event.type !== 'DS') return;
        const telemetry = options.telemetry();
        reportChainLookup(telemetry, event);
        if (event.caseFallback !== undefined) {
          reportCaseFallback(telemetry, event.name || '.', event.caseFallback, this.#caseWarned);
        }
      });
    }
  }

  /** Starts resolving `name` (a cold-start prefetch); failures surface on the next real lookup. */
  prefetch(name: string): void {
    const { resolver, dnssec, validate } = this.#options;
    const lookup = resolver.resolveTxt(name, validate === true ? { dnssec, validate } : { dnssec });
    lookup.catch(() => undefined);
  }

  /**
   * Fetches and validates the zone's DNSKEY/DS chain ahead of need (a cold-start prefetch), so the
   * first lookup of a caller pays one query; a failure surfaces on the first real lookup.
   */
  prepareValidation(): void {
    const { resolver, validate, zone } = this.#options;
    if (validate === true) resolver.prepareValidation?.(zone).catch(() => undefined);
  }

  /**
   * The record of the caller a proof claims (`iss`), decoded but not verified: `iss` must be an
   * identity directly inside the zone; a `kid` the cached record lacks triggers one refresh per
   * name per cooldown (a key published mid-rotation).
   * @param caller - `iss` as parsed against the zone, when the caller already parsed it.
   * @throws {IdentityError} `outside_zone`, `no_record`, `dns_failure`.
   */
  async resolveCaller(
    proof: DecodedProof,
    context: unknown,
    caller: IdentityName | undefined = tryParseIdentityName(proof.claims.iss, this.#options.zone),
  ): Promise<ResolvedIdentity> {
    if (caller === undefined) throw new IdentityError('outside_zone', PACKAGE_NAME);
    let resolved = await this.resolve(caller.name, context, 'no_record');
    if (
      !resolved.keys.has(proof.header.kid) &&
      resolved.source !== 'network' &&
      this.#refreshes.allow(caller.name)
    ) {
      // A key published after the record was cached (a rotation that just began): look again,
      // once per name per cooldown, as jose's remote JWK sets do on an unknown kid.
      resolved = await this.resolve(caller.name, context, 'no_record', true);
    }
    return withIdentity(resolved, caller, proof);
  }

  /**
   * Resolves and parses the record of `identity`.
   * @throws {IdentityError} `notFound` for no usable record, `outside_zone`, `dns_failure`.
   */
  async resolveIdentity(
    identity: IdentityName,
    context: unknown,
    notFound: 'no_record' | 'self_mismatch',
  ): Promise<ResolvedIdentity> {
    const resolved = await this.resolve(identity.name, context, notFound);
    return withIdentity(resolved, identity, undefined);
  }

  async resolve(
    name: string,
    context: unknown,
    notFound: 'no_record' | 'self_mismatch',
    refresh = false,
  ): Promise<Omit<ResolvedIdentity, 'service' | 'environment' | 'proof'>> {
    const { resolver, dnssec, validate, deadlineMargin, zone, telemetry } = this.#options;
    let result: TxtResult;
    let parsedByAccept: ReturnType<ParsedIdentityCache['get']> | undefined;
    try {
      const deadline = lambdaDeadline(context, deadlineMargin);
      // One shape for every call (absent options undefined): this object is built per request.
      result = await resolver.resolveTxt(name, {
        dnssec,
        validate: validate === true,
        deadline,
        refresh,
        // An answer with no usable key for this name (junk under a wildcard, say) is cached by the
        // resolver as unusable, never as a positive record that a flood could use to evict real ones.
        accept: (records) => {
          parsedByAccept = this.#cache.get(name, records);
          return parsedByAccept.parsed.keys.size > 0;
        },
      });
    } catch (error) {
      reportLookup(telemetry(), name, undefined, error);
      throw new IdentityError('dns_failure', PACKAGE_NAME, error);
    }
    reportLookup(telemetry(), name, result);
    if (result.caseFallback !== undefined) {
      reportCaseFallback(telemetry(), name, result.caseFallback, this.#caseWarned);
    }
    // A CNAME hop outside the zone would let whoever controls that other zone publish this
    // identity's keys: the zone's owner vouches only for data inside the zone (fail closed).
    const escapedTo = result.cnameChain?.find((target) => !isInsideZone(canonicalName(target), zone));
    if (escapedTo !== undefined) {
      throw new IdentityError(
        'outside_zone',
        PACKAGE_NAME,
        'record reached through a CNAME outside the zone',
      );
    }
    if (result.outcome === 'unusable' && parsedByAccept !== undefined)
      this.#reportProblems(name, parsedByAccept);
    if (result.records.length === 0)
      throw new IdentityError(notFound, PACKAGE_NAME, `no TXT record (${result.outcome})`);
    // Fail closed: a record whose signatures fail, or that a resolver did not judge, is no record.
    const verdict = result.dnssec;
    if (validate === true && verdict !== 'secure' && verdict !== 'insecure') {
      throw new IdentityError('dnssec_bogus', PACKAGE_NAME, result.dnssecReason ?? 'not validated');
    }
    const { parsed, fresh } = parsedByAccept ?? this.#cache.get(name, result.records);
    this.#reportProblems(name, { parsed, fresh });
    if (parsed.keys.size === 0) throw new IdentityError(notFound, PACKAGE_NAME, 'no valid NHI1 RR');
    return {
      name,
      keys: parsed.keys,
      attributes: parsed.set.attributes,
      ad: result.ad,
      dnssec: verdict === 'secure' || verdict === 'insecure' ? verdict : undefined,
      ttl: result.ttl,
      source: sourceOf(result),
      problems: parsed.problems,
    };
  }

  /** Warns once per DNS answer (when it was parsed) about the RRs it rejected. */
  #reportProblems(name: string, { parsed, fresh }: ReturnType<ParsedIdentityCache['get']>): void {
    if (fresh && parsed.problems.length > 0) {
      this.#options.telemetry().logger.warn('identity record has invalid RRs', {
        'nhi.name': name,
        'nhi.problems': parsed.problems,
      });
    }
  }
}
