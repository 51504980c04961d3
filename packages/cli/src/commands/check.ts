import type { Route53Client } from '@aws-sdk/client-route-53';
import { formatIdentityName, type IdentityRecord, parseRecordSet } from '@nhi-dns/core';
import type { DnsErrorReason } from '@nhi-dns/resolver';
import { isUsableKey, type KeySummary } from '../record-update.js';
import type { RetryOptions } from '../retry.js';
import { classifyValues, readTxtRecordSet } from '../route53-rrset.js';
import { checkTarget } from '../validation.js';

/** What `check` needs of a DNS resolver: the `@nhi-dns/resolver` contract, structurally. */
export interface TxtResolver {
  resolveTxt(
    name: string,
    options?: { dnssec?: boolean },
  ): Promise<{
    readonly records: readonly (readonly (string | Uint8Array)[])[];
    readonly ttl: number;
    readonly ad: boolean;
    readonly outcome: string;
  }>;
}

/** Why a check failed: a closed set, one entry per finding. */
export type CheckProblemCode =
  | 'dns_failure'
  | 'no_record'
  | 'no_usable_key'
  | 'invalid_rr'
  | 'dnssec_required'
  | 'kid_not_usable'
  | 'route53_mismatch';

/**
 * Why the DNS lookup of `check` failed (`dns_failure`): a closed set, the resolver's own
 * {@link DnsErrorReason} (`timeout`, `servfail`, `refused`, `network`, …), or `dns_failure` for a
 * failure the resolver did not type.
 */
export type DnsFailureReason = DnsErrorReason | 'dns_failure';

/** One finding of {@link check}. */
export interface CheckProblem {
  readonly code: CheckProblemCode;
  readonly detail: string;
  /** For `dns_failure` only: why the lookup failed. */
  readonly reason?: DnsFailureReason;
}

/** Options of {@link check}. */
export interface CheckOptions {
  readonly service: string;
  readonly environment: string;
  readonly zone: string;
  /** When given, DNS must publish exactly the keys Route 53 holds in this hosted zone. */
  readonly hostedZoneId?: string;
  /**
   * Fail unless the answer is DNSSEC-authenticated (AD). Default `false`. DNSSEC (the DO bit) is
   * asked for either way, so the AD bit reported in {@link CheckResult.dns} is always truthful.
   */
  readonly requireDnssec?: boolean;
  /** A key id that must be published and usable, e.g. the one just deployed. */
  readonly kid?: string;
}

/** Dependencies of {@link check}. */
export interface CheckDeps {
  readonly resolver: TxtResolver;
  /** Needed only with `hostedZoneId`. */
  readonly route53?: Route53Client;
  readonly now: () => number;
  readonly retry?: RetryOptions;
}

/** Outcome of {@link check}; `ok` is what the exit code reports. */
export interface CheckResult {
  readonly ok: boolean;
  readonly name: string;
  readonly problems: readonly CheckProblem[];
  /** What DNS answered; absent when the lookup failed. */
  readonly dns?: {
    readonly outcome: string;
    readonly ad: boolean;
    readonly ttl: number;
    readonly keys: readonly KeySummary[];
  };
  /** What Route 53 holds, when compared. */
  readonly route53?: { readonly keys: readonly KeySummary[] };
}

/** The resolver's reasons, as a record so that a reason added there fails to compile here. */
const DNS_ERROR_REASONS: Readonly<Record<DnsErrorReason, true>> = {
  timeout: true,
  servfail: true,
  refused: true,
  malformed: true,
  network: true,
  deadline: true,
  cname_loop: true,
  invalid_name: true,
};

/**
 * The closed-set reason of a failed lookup: the resolver's typed `reason` when it has one
 * (checked by value, since `TxtResolver` is structural and may not be `@nhi-dns/resolver`).
 */
const dnsFailureReason = (error: unknown): DnsFailureReason => {
  const reason = (error as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' && Object.hasOwn(DNS_ERROR_REASONS, reason)
    ? (reason as DnsErrorReason)
    : 'dns_failure';
};

const summary = (record: IdentityRecord): KeySummary => ({
  kid: record.kid,
  keyType: record.keyType,
  revoked: record.publicKey === '',
  ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
});

/** Everything a verifier acts on, as one comparable string per key. */
const fingerprint = (record: IdentityRecord): string =>
  JSON.stringify([
    record.kid,
    record.keyType,
    record.publicKey,
    record.expiresAt ?? null,
    Object.entries(record.attributes).sort(),
  ]);

/**
 * Resolves the identity name through DNS, as verifiers will, and checks what they would see:
 * at least one usable key, no invalid RR (an RR for another service or environment is one),
 * the expected `kid` usable, DNSSEC when asked, and, given a hosted zone, exactly the keys
 * Route 53 holds (a difference means the change has not propagated or a cache is stale).
 * Never throws for what it finds: DNS failures are reported as problems.
 */
export const check = async (options: CheckOptions, deps: CheckDeps): Promise<CheckResult> => {
  checkTarget(options);
  const name = formatIdentityName(options);
  const now = Math.floor(deps.now() / 1000);
  const problems: CheckProblem[] = [];
  let answer: Awaited<ReturnType<TxtResolver['resolveTxt']>>;
  try {
    // Always ask with the DO bit: without it a validating resolver clears AD even for a signed
    // zone, and the report would say `AD false` for a zone that is in fact authenticated.
    answer = await deps.resolver.resolveTxt(name, { dnssec: true });
  } catch (error) {
    const reason = dnsFailureReason(error);
    const message = error instanceof Error && error.message !== '' ? ` (${error.message})` : '';
    return {
      ok: false,
      name,
      problems: [{ code: 'dns_failure', reason, detail: `lookup failed: ${reason}${message}` }],
    };
  }
  const parsed = parseRecordSet(name, answer.records);
  for (const problem of parsed.problems) {
    problems.push({
      code: 'invalid_rr',
      detail: `RR ${problem.index}: ${problem.problem}: ${problem.detail}`,
    });
  }
  if (parsed.keys.length === 0) {
    problems.push({ code: 'no_record', detail: `no valid NHI1 record at ${name} (${answer.outcome})` });
  } else if (!parsed.keys.some((key) => isUsableKey(key, now))) {
    problems.push({ code: 'no_usable_key', detail: 'every published key is revoked or expired' });
  }
  if (options.requireDnssec === true && !answer.ad) {
    problems.push({
      code: 'dnssec_required',
      detail: 'the answer was not DNSSEC-authenticated (AD bit clear)',
    });
  }
  if (options.kid !== undefined) {
    const key = parsed.keys.find((record) => record.kid === options.kid);
    if (key === undefined || !isUsableKey(key, now)) {
      problems.push({
        code: 'kid_not_usable',
        detail: `kid ${options.kid} is not published as a usable key`,
      });
    }
  }
  let route53: CheckResult['route53'];
  if (options.hostedZoneId !== undefined && deps.route53 !== undefined) {
    const recordSet = await readTxtRecordSet(deps.route53, options.hostedZoneId, name, deps.retry);
    const held = classifyValues(name, recordSet.values).flatMap(({ record }) => (record ? [record] : []));
    route53 = { keys: held.map(summary) };
    const dnsPrints = parsed.keys.map(fingerprint).sort();
    const heldPrints = held.map(fingerprint).sort();
    if (
      dnsPrints.length !== heldPrints.length ||
      dnsPrints.some((print, index) => print !== heldPrints[index])
    ) {
      problems.push({
        code: 'route53_mismatch',
        detail: 'DNS does not publish the keys Route 53 holds yet (propagation or a cached answer)',
      });
    }
  }
  return {
    ok: problems.length === 0,
    name,
    problems,
    dns: { outcome: answer.outcome, ad: answer.ad, ttl: answer.ttl, keys: parsed.keys.map(summary) },
    ...(route53 === undefined ? {} : { route53 }),
  };
};
