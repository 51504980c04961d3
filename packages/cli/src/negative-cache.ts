import { ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { canonicalName } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from './deps.js';
import { CliError, EXIT_CODE } from './errors.js';
import type { IdentityTarget } from './record-update.js';
import { type RetryOptions, withRetry } from './retry.js';
import { normalizeHostedZoneId } from './route53-rrset.js';

/** Seconds added to a cache lifetime in the default propagation waits. */
export const PROPAGATION_MARGIN_SECONDS = 5;

/** The negative-caching TTL of a hosted zone (RFC 2308 §5): min(SOA TTL, SOA MINIMUM). */
export interface NegativeCacheTtl {
  /** Apex of the hosted zone, canonical. */
  readonly apex: string;
  readonly soaTtl: number;
  readonly soaMinimum: number;
  /** How long a resolver may cache NXDOMAIN/NODATA for a name of the zone, in seconds. */
  readonly seconds: number;
}

/**
 * Reads the SOA of a hosted zone from Route 53 (`ListResourceRecordSets` only, which the CLI
 * needs anyway): the listing is sorted by name with the labels reversed, so its first RRset is
 * at the apex; a second call reads the apex's SOA. Returns min(SOA TTL, SOA MINIMUM), how long a
 * resolver may cache a negative answer (RFC 2308 §5; 900 s on Route 53's default SOA).
 *
 * @throws {CliError} `no_soa` when the hosted zone has no readable SOA (Route 53 always has one).
 */
export const readNegativeCacheTtl = async (
  route53: Route53Client,
  hostedZoneId: string,
  retry: RetryOptions = {},
): Promise<NegativeCacheTtl> => {
  const zoneId = normalizeHostedZoneId(hostedZoneId);
  const list = (input: { StartRecordName?: string; StartRecordType?: 'SOA' }) =>
    withRetry(
      () => route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 1, ...input })),
      retry,
    );
  const fail = (detail: string): never => {
    throw new CliError('no_soa', `hosted zone ${zoneId}: ${detail}`, EXIT_CODE.other);
  };
  const first = (await list({})).ResourceRecordSets?.[0]?.Name;
  if (first === undefined) return fail('no record sets, so no SOA to read the negative TTL from');
  const apex = canonicalName(first);
  const soa = (await list({ StartRecordName: apex, StartRecordType: 'SOA' })).ResourceRecordSets?.[0];
  if (soa?.Type !== 'SOA' || soa.Name === undefined || canonicalName(soa.Name) !== apex) {
    return fail(`no SOA at the apex ${apex}`);
  }
  const fields = (soa.ResourceRecords?.[0]?.Value ?? '').trim().split(/\s+/);
  const soaMinimum = Number(fields[6]);
  const soaTtl = soa.TTL;
  if (fields.length !== 7 || !Number.isSafeInteger(soaMinimum) || soaTtl === undefined) {
    return fail(`the SOA at ${apex} is not readable`);
  }
  return { apex, soaTtl, soaMinimum, seconds: Math.min(soaTtl, soaMinimum) };
};

/** How long a command holds a key back after `INSYNC`, and why. */
export interface PropagationPlan {
  /** Seconds to wait (in a dry run: that would be waited). */
  readonly seconds: number;
  /** For a name that had no TXT RRset: the zone's negative TTL the wait has to outlast. */
  readonly negativeCacheTtlSeconds?: number;
  /**
   * Set when the wait is shorter than the zone's negative TTL for a new name: resolvers that
   * cached NXDOMAIN/NODATA (anyone can make them, by asking) keep denying the name that long.
   */
  readonly warning?: string;
}

/**
 * The propagation wait of `keygen` and `publish`. For a name that already had a TXT RRset,
 * resolvers hold that RRset for its TTL: default `ttl` + {@link PROPAGATION_MARGIN_SECONDS}
 * (`existingDefault` decides whether that default applies). For a new name, resolvers may hold
 * a negative answer, which anyone can plant by asking for the name before it is published, for
 * the zone's negative TTL (min(SOA TTL, SOA MINIMUM)): default that + the margin, and any
 * shorter `requested` wait comes with a loud warning.
 */
export const planPropagationWait = async (
  target: IdentityTarget,
  recordSet: { readonly exists: boolean; readonly ttl?: number },
  requested: number | undefined,
  deps: CommandDeps,
  existingDefault: (ttl: number) => number,
): Promise<PropagationPlan> => {
  if (recordSet.exists) return { seconds: requested ?? existingDefault(recordSet.ttl ?? 300) };
  const negative = await readNegativeCacheTtl(deps.route53, target.hostedZoneId, retryOptionsOf(deps));
  const needed = negative.seconds + PROPAGATION_MARGIN_SECONDS;
  const seconds = requested ?? needed;
  if (seconds >= negative.seconds) return { seconds, negativeCacheTtlSeconds: negative.seconds };
  return {
    seconds,
    negativeCacheTtlSeconds: negative.seconds,
    warning:
      `WARNING: the name had no TXT RRset and the zone's negative TTL is ${negative.seconds} s ` +
      `(SOA TTL ${negative.soaTtl}, MINIMUM ${negative.soaMinimum}); with a ${seconds} s wait, resolvers ` +
      `that cached NXDOMAIN/NODATA for it (anyone can cause that by asking first) may deny its ` +
      `callers for up to ${negative.seconds - seconds} s more. Do not tell signers to use the key ` +
      `before then (or wait the default ${needed} s)`,
  };
};

/** Sleeps out a propagation wait, saying so (the one wait of keygen, publish and rotate). */
export const waitForPropagation = async (deps: CommandDeps, seconds: number, why: string): Promise<void> => {
  if (seconds <= 0) return;
  deps.log?.(`waiting ${seconds} s ${why}`);
  await deps.sleep(seconds * 1000);
};
