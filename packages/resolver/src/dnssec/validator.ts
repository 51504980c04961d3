/**
 * In-process DNSSEC validation of positive answers (RFC 4033-4035, RFC 6840): each RRset of the
 * answer (every CNAME of the chain, then the records) must carry an RRSIG that verifies with a
 * DNSKEY of its signer zone, whose DNSKEY RRset is signed by a key the parent's validated DS (or a
 * trust anchor) names, up to a configured anchor. Negative answers are not validated: an identity
 * layer only grants on a positive answer, so an unproven NXDOMAIN/NODATA is a denial anyway.
 *
 * Zone keys (DNSKEY + DS) are fetched through the resolver (cached by their TTLs, single flight)
 * and kept validated here until the first of their TTL or their signatures' expiration.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalDnsName } from '../query-name.js';
import type { DnsRecord } from '../types.js';
import { importDnskey, SUPPORTED_ALGORITHMS, verifySignature } from './algorithms.js';
import type { TrustAnchor } from './trust-anchor.js';
import {
  DIGEST_ALGORITHMS,
  type DnskeyData,
  type DsData,
  dsMatches,
  isAtOrBelow,
  keyTag,
  labelCount,
  REVOKE_FLAG,
  type RrsigData,
  signedData,
  ZONE_KEY_FLAG,
} from './wire.js';

/**
 * Result of validating an answer:
 * - `secure`: every RRset verified up to a trust anchor, here;
 * - `insecure`: provably unsigned (a delegation without DS, proven by a signed NSEC), signed only
 *   with unsupported algorithms, or outside every trust anchor;
 * - `bogus`: a signature or the chain failed (forged, expired, unknown key, DS matching no key,
 *   signatures stripped from a signed zone, a wildcard-expanded answer).
 *
 * A chain that could not be fetched is not a status: the lookup rejects with its `DnsError`.
 */
export type DnssecStatus = 'secure' | 'insecure' | 'bogus';

/** A validation result and why (for operators: names and key tags, never record contents). */
export interface DnssecVerdict {
  readonly status: DnssecStatus;
  /** Why it is not secure (or which anchor and key made it secure). */
  readonly reason: string;
  /** Until when (ms since epoch) the verdict holds: signature expirations and the keys' TTLs. */
  readonly validUntil: number;
}

/** An answer with the DNSSEC records that came with it. */
export interface SignedAnswer {
  readonly kind: 'answer' | 'nxdomain' | 'nodata';
  /** Records of the queried type (at the end of the CNAME chain). */
  readonly answers: readonly DnsRecord[];
  /** The CNAME RRs of the chain, in order. */
  readonly aliases: readonly DnsRecord[];
  /** RRSIG RRs of the answer section. */
  readonly signatures: readonly DnsRecord[];
  /** NSEC, SOA and RRSIG RRs of the authority section. */
  readonly authority: readonly DnsRecord[];
  /** Seconds the answer stays cached. */
  readonly ttl: number;
}

/** What the validator needs from its resolver. */
export interface ValidatorOptions {
  readonly anchors: readonly TrustAnchor[];
  /** Looks up `name`/`type` with DO and CD set; rejects with the resolver's `DnsError`. */
  readonly query: (name: string, type: 'DNSKEY' | 'DS') => Promise<SignedAnswer>;
  /** Clock, ms since epoch. */
  readonly now: () => number;
}

/** A key of a validated DNSKEY RRset. */
interface ZoneKey {
  readonly tag: number;
  readonly algorithm: number;
  readonly key: KeyObject;
}

type ZoneVerdict =
  | {
      readonly status: 'secure';
      readonly keys: readonly ZoneKey[];
      readonly validUntil: number;
      readonly reason: string;
    }
  | { readonly status: 'insecure' | 'bogus'; readonly reason: string; readonly validUntil: number };

/** Most zones a chain may climb through before reaching its anchor (a loop guard, not a real limit). */
const MAX_CHAIN_DEPTH = 16;
/** How long a bogus or insecure zone verdict is kept when nothing else bounds it, ms. */
const NEGATIVE_VERDICT_MS = 5_000;

const HALF_SERIAL = 2 ** 31;
/** RFC 1982 serial comparison on 32-bit times: `a <= b`. */
const serialLte = (a: number, b: number): boolean => (b - a) >>> 0 < HALF_SERIAL;

const rrsigOf = (record: DnsRecord): RrsigData => record.data as RrsigData;

/**
 * {@link signedData}, or `undefined` when an RR's RDATA has no canonical form (a name cut short or
 * compressed in raw RDATA): it cannot be checked, so its RRset is bogus, not an error of the lookup.
 */
const signedDataOrUndefined = (
  rrsig: RrsigData,
  owner: string,
  rrset: readonly DnsRecord[],
): Buffer | undefined => {
  try {
    return signedData(rrsig, owner, rrset);
  } catch {
    return undefined;
  }
};

const worst = (verdicts: readonly DnssecVerdict[]): DnssecVerdict => {
  const validUntil = Math.min(...verdicts.map((verdict) => verdict.validUntil));
  const bogus = verdicts.find((verdict) => verdict.status === 'bogus');
  if (bogus !== undefined) return { ...bogus, validUntil };
  const insecure = verdicts.find((verdict) => verdict.status === 'insecure');
  if (insecure !== undefined) return { ...insecure, validUntil };
  return { ...verdicts[0]!, validUntil };
};

/** Validates answers against trust anchors; one per resolver, shared by every lookup. */
export class DnssecValidator {
  readonly #options: ValidatorOptions;
  /** Zone → its keys' verdict (a promise: single flight), until `expiresAt`. */
  readonly #zones = new Map<string, { verdict: Promise<ZoneVerdict>; expiresAt: number }>();

  constructor(options: ValidatorOptions) {
    this.#options = options;
  }

  /** The anchor closest to `name` (the deepest zone that holds it), if any. */
  anchorFor(name: string): TrustAnchor | undefined {
    let best: TrustAnchor | undefined;
    for (const anchor of this.#options.anchors) {
      if (isAtOrBelow(name, anchor.zone) && (best === undefined || anchor.zone.length > best.zone.length)) {
        best = anchor;
      }
    }
    return best;
  }

  /**
   * Validates a positive answer for `name`: each CNAME of the chain, then the records.
   * @throws {DnsError} when a DNSKEY or DS lookup of the chain fails (indeterminate).
   */
  async validate(name: string, answer: SignedAnswer): Promise<DnssecVerdict> {
    const ttlBound = this.#options.now() + answer.ttl * 1000;
    const rrsets: Array<{ owner: string; type: string; records: readonly DnsRecord[] }> = [];
    for (const alias of answer.aliases) rrsets.push({ owner: alias.name, type: 'CNAME', records: [alias] });
    const owner = answer.answers[0]?.name ?? canonicalDnsName(name);
    rrsets.push({ owner, type: answer.answers[0]?.type ?? 'TXT', records: answer.answers });
    const verdicts: DnssecVerdict[] = [];
    for (const rrset of rrsets) {
      verdicts.push(await this.#rrsetVerdict(rrset.owner, rrset.type, rrset.records, answer.signatures, 0));
    }
    const verdict = worst(verdicts);
    return { ...verdict, validUntil: Math.min(verdict.validUntil, ttlBound) };
  }

  /**
   * Fetches and validates the keys of the DNS zone that holds `zone` ahead of need (init), so
   * that the first lookup of a name in it costs one query. `zone` need not be a zone apex (the
   * identity zone `auth.example.com` may be names inside `example.com`): the nearest name at or
   * above it that has a DNSKEY RRset is prepared. Resolves with that zone's status.
   * @throws {DnsError} when the chain cannot be fetched.
   */
  async prepare(zone: string): Promise<DnssecStatus> {
    let name = canonicalDnsName(zone);
    for (let depth = 0; depth <= MAX_CHAIN_DEPTH; depth++) {
      const keys = await this.#options.query(name, 'DNSKEY');
      if ((keys.kind === 'answer' && keys.answers.length > 0) || name === '') break;
      const dot = name.indexOf('.');
      name = dot < 0 ? '' : name.slice(dot + 1);
    }
    return (await this.#zoneKeys(name, 0)).status;
  }

  /** The verdict on one RRset and the RRSIGs that came with it. */
  async #rrsetVerdict(
    owner: string,
    type: string,
    records: readonly DnsRecord[],
    signatures: readonly DnsRecord[],
    depth: number,
  ): Promise<DnssecVerdict> {
    const now = this.#options.now();
    const anchor = this.anchorFor(owner);
    if (anchor === undefined) {
      return {
        status: 'insecure',
        reason: `no trust anchor covers ${owner}`,
        validUntil: Number.POSITIVE_INFINITY,
      };
    }
    const covering = signatures.filter(
      (record) => record.name === owner && rrsigOf(record).typeCovered === type,
    );
    if (covering.length === 0) {
      // The parent's own records (DS, NSEC) exist only in a signed parent: unsigned, they are forged
      // or stripped. (Walking the cuts for them would only climb back to the same question.)
      if (type === 'DS' || type === 'NSEC' || depth > MAX_CHAIN_DEPTH) {
        return {
          status: 'bogus',
          reason: `${type} ${owner} has no RRSIG`,
          validUntil: now + NEGATIVE_VERDICT_MS,
        };
      }
      return this.#unsignedVerdict(owner, type, anchor, depth);
    }

    const ownerLabels = labelCount(owner);
    const bySigner = new Map<string, RrsigData[]>();
    let refusal = '';
    for (const record of covering) {
      const rrsig = rrsigOf(record);
      const signer = canonicalDnsName(rrsig.signersName);
      // A DS RRset, and the NSEC that proves a cut has none, are the parent's: signed by a zone
      // above their owner (which also keeps the chain climbing: a zone never waits on itself).
      if (
        !isAtOrBelow(owner, signer) ||
        !isAtOrBelow(signer, anchor.zone) ||
        ((type === 'DS' || type === 'NSEC') && signer === owner)
      ) {
        refusal ||= `the RRSIG of ${type} ${owner} names signer ${signer || '.'}, which does not hold it under the anchor`;
        continue;
      }
      if (rrsig.labels !== ownerLabels) {
        // Fewer labels: the answer was synthesised from a wildcard, which only an NSEC proof that
        // the name itself does not exist makes safe; identity records are never wildcards.
        refusal ||=
          rrsig.labels < ownerLabels
            ? `${type} ${owner} is a wildcard-expanded answer (RRSIG labels ${rrsig.labels} < ${ownerLabels})`
            : `the RRSIG of ${type} ${owner} claims more labels than its owner`;
        continue;
      }
      bySigner.set(signer, [...(bySigner.get(signer) ?? []), rrsig]);
    }
    if (bySigner.size === 0)
      return { status: 'bogus', reason: refusal, validUntil: now + NEGATIVE_VERDICT_MS };

    const seconds = Math.floor(now / 1000);
    const results: DnssecVerdict[] = [];
    for (const [signer, rrsigs] of bySigner) {
      const zone = await this.#zoneKeys(signer, depth + 1);
      if (zone.status !== 'secure') {
        results.push({ status: zone.status, reason: zone.reason, validUntil: zone.validUntil });
        continue;
      }
      let why = `no RRSIG of ${type} ${owner} by ${signer || '.'} has a supported algorithm`;
      for (const rrsig of rrsigs) {
        if (!SUPPORTED_ALGORITHMS.has(rrsig.algorithm)) continue;
        if (!serialLte(rrsig.inception, seconds) || !serialLte(seconds, rrsig.expiration)) {
          why = `the RRSIG of ${type} ${owner} (key ${rrsig.keyTag}) is outside its validity period`;
          continue;
        }
        const keys = zone.keys.filter((key) => key.tag === rrsig.keyTag && key.algorithm === rrsig.algorithm);
        if (keys.length === 0) {
          why = `the RRSIG of ${type} ${owner} names key ${rrsig.keyTag}, which the DNSKEY RRset of ${signer || '.'} does not hold`;
          continue;
        }
        const data = signedDataOrUndefined(rrsig, owner, records);
        if (data === undefined) {
          why = `an RR of ${type} ${owner} has RDATA without a canonical form (RFC 4034 §6.2)`;
          continue;
        }
        if (keys.some((key) => verifySignature(rrsig.algorithm, key.key, data, rrsig.signature))) {
          const expires = (seconds + ((rrsig.expiration - seconds) >>> 0)) * 1000;
          return {
            status: 'secure',
            reason: `${type} ${owner} signed by ${signer || '.'} key ${rrsig.keyTag}`,
            validUntil: Math.min(expires, zone.validUntil),
          };
        }
        why = `the RRSIG of ${type} ${owner} (key ${rrsig.keyTag}) does not verify`;
      }
      results.push({ status: 'bogus', reason: why, validUntil: now + NEGATIVE_VERDICT_MS });
    }
    return worst(results);
  }

  /**
   * An RRset without RRSIGs is insecure only below a delegation proven to have no DS (a signed
   * NSEC at the cut with NS and without DS); anywhere else under a secure anchor it is bogus
   * (signatures stripped: a downgrade). Walks the names from the anchor down to the owner.
   */
  async #unsignedVerdict(
    owner: string,
    type: string,
    anchor: TrustAnchor,
    depth: number,
  ): Promise<DnssecVerdict> {
    const now = this.#options.now();
    const top = await this.#zoneKeys(anchor.zone, depth + 1);
    if (top.status !== 'secure') return top;
    const below = owner === anchor.zone ? [] : owner.slice(0, owner.length - anchor.zone.length).split('.');
    const labels = below.filter(Boolean);
    for (let i = labels.length - 1; i >= 0; i--) {
      const cut = [...labels.slice(i), anchor.zone].filter(Boolean).join('.');
      const ds = await this.#options.query(cut, 'DS');
      if (ds.kind === 'answer' && ds.answers.length > 0) {
        const verdict = await this.#rrsetVerdict(cut, 'DS', ds.answers, ds.signatures, depth + 1);
        if (verdict.status !== 'secure') return verdict;
        continue; // a signed child zone: its data must be signed too
      }
      if (await this.#provesInsecureDelegation(cut, ds, depth)) {
        return {
          status: 'insecure',
          reason: `${cut} is delegated without DS (NSEC proof)`,
          validUntil: now + ds.ttl * 1000,
        };
      }
    }
    return {
      status: 'bogus',
      reason: `${type} ${owner} has no RRSIG, but its zone is signed (from anchor ${anchor.zone || '.'})`,
      validUntil: now + NEGATIVE_VERDICT_MS,
    };
  }

  /** Whether a DS NODATA answer at `cut` carries a validated NSEC proving a delegation without DS. */
  async #provesInsecureDelegation(cut: string, answer: SignedAnswer, depth: number): Promise<boolean> {
    const nsecs = answer.authority.filter((record) => record.type === 'NSEC' && record.name === cut);
    if (nsecs.length !== 1) return false;
    const types = new Set(((nsecs[0]!.data as { rrtypes?: string[] }).rrtypes ?? []).map(String));
    if (!types.has('NS') || types.has('DS') || types.has('SOA')) return false;
    const verdict = await this.#rrsetVerdict(cut, 'NSEC', nsecs, answer.authority, depth + 1);
    return verdict.status === 'secure';
  }

  /** The validated keys of `zone`, cached until their verdict expires (failures are not cached). */
  #zoneKeys(zone: string, depth: number): Promise<ZoneVerdict> {
    const now = this.#options.now();
    const cached = this.#zones.get(zone);
    if (cached !== undefined && now < cached.expiresAt) return cached.verdict;
    if (depth > MAX_CHAIN_DEPTH) {
      return Promise.resolve({ status: 'bogus', reason: 'the chain of trust is too long', validUntil: now });
    }
    const entry = { verdict: this.#fetchZoneKeys(zone, depth), expiresAt: Number.POSITIVE_INFINITY };
    this.#zones.set(zone, entry);
    entry.verdict.then(
      (verdict) => {
        entry.expiresAt = verdict.validUntil;
      },
      () => {
        if (this.#zones.get(zone) === entry) this.#zones.delete(zone);
      },
    );
    return entry.verdict;
  }

  async #fetchZoneKeys(zone: string, depth: number): Promise<ZoneVerdict> {
    const now = this.#options.now();
    const negative = (status: 'insecure' | 'bogus', reason: string): ZoneVerdict => ({
      status,
      reason,
      validUntil: now + NEGATIVE_VERDICT_MS,
    });
    const anchor = this.#options.anchors.find((candidate) => candidate.zone === zone);
    let trusted: { ds: readonly DsData[]; dnskeys: readonly DnskeyData[]; validUntil: number; from: string };
    if (anchor !== undefined) {
      trusted = {
        ds: anchor.ds,
        dnskeys: anchor.dnskeys,
        validUntil: Number.POSITIVE_INFINITY,
        from: 'trust anchor',
      };
    } else {
      const ds = await this.#options.query(zone, 'DS');
      if (ds.kind !== 'answer' || ds.answers.length === 0) {
        return (await this.#provesInsecureDelegation(zone, ds, depth))
          ? negative('insecure', `${zone} is delegated without DS (NSEC proof)`)
          : negative('bogus', `${zone} has no DS in its parent, and no signed NSEC proves it unsigned`);
      }
      const verdict = await this.#rrsetVerdict(zone, 'DS', ds.answers, ds.signatures, depth);
      if (verdict.status !== 'secure') {
        return {
          status: verdict.status,
          reason: verdict.reason,
          validUntil: Math.min(verdict.validUntil, now + ds.ttl * 1000),
        };
      }
      trusted = {
        ds: ds.answers.map((record) => record.data as DsData),
        dnskeys: [],
        validUntil: Math.min(verdict.validUntil, now + ds.ttl * 1000),
        from: `DS of ${zone}`,
      };
    }
    const usableDs = trusted.ds.filter(
      (ds) => SUPPORTED_ALGORITHMS.has(ds.algorithm) && DIGEST_ALGORITHMS.has(ds.digestType),
    );
    const usableAnchorKeys = trusted.dnskeys.filter((key) => SUPPORTED_ALGORITHMS.has(key.algorithm));
    if (usableDs.length === 0 && usableAnchorKeys.length === 0) {
      // RFC 6840 §5.2: a zone whose DS set names no supported algorithm is treated as insecure.
      return negative('insecure', `the ${trusted.from} names no supported algorithm or digest`);
    }

    const dnskey = await this.#options.query(zone, 'DNSKEY');
    const keys = dnskey.kind === 'answer' ? dnskey.answers : [];
    const entryPoints = keys.filter((record) => {
      const key = record.data as DnskeyData;
      if ((key.flags & ZONE_KEY_FLAG) === 0 || (key.flags & REVOKE_FLAG) !== 0) return false;
      return (
        usableDs.some((ds) => dsMatches(ds, zone, key)) ||
        usableAnchorKeys.some(
          (anchorKey) => anchorKey.algorithm === key.algorithm && anchorKey.key.equals(key.key),
        )
      );
    });
    if (entryPoints.length === 0) {
      return negative('bogus', `no DNSKEY of ${zone || '.'} matches the ${trusted.from}`);
    }
    const entryKeys = entryPoints.flatMap((record) => toZoneKey(record.data as DnskeyData));
    const seconds = Math.floor(now / 1000);
    const rrsigs = dnskey.signatures.filter(
      (record) =>
        record.name === zone &&
        rrsigOf(record).typeCovered === 'DNSKEY' &&
        canonicalDnsName(rrsigOf(record).signersName) === zone &&
        rrsigOf(record).labels === labelCount(zone),
    );
    for (const record of rrsigs) {
      const rrsig = rrsigOf(record);
      if (!serialLte(rrsig.inception, seconds) || !serialLte(seconds, rrsig.expiration)) continue;
      const signers = entryKeys.filter(
        (key) => key.tag === rrsig.keyTag && key.algorithm === rrsig.algorithm,
      );
      if (signers.length === 0) continue;
      const data = signedData(rrsig, zone, keys);
      if (!signers.some((key) => verifySignature(rrsig.algorithm, key.key, data, rrsig.signature))) continue;
      const expires = (seconds + ((rrsig.expiration - seconds) >>> 0)) * 1000;
      const zoneKeys = keys.flatMap((candidate) => {
        const key = candidate.data as DnskeyData;
        return (key.flags & ZONE_KEY_FLAG) !== 0 && (key.flags & REVOKE_FLAG) === 0 ? toZoneKey(key) : [];
      });
      return {
        status: 'secure',
        keys: zoneKeys,
        reason: `DNSKEY ${zone || '.'} signed by key ${rrsig.keyTag} of the ${trusted.from}`,
        validUntil: Math.min(expires, trusted.validUntil, now + dnskey.ttl * 1000),
      };
    }
    return negative(
      'bogus',
      `the DNSKEY RRset of ${zone || '.'} is not signed by a key the ${trusted.from} names`,
    );
  }
}

const toZoneKey = (key: DnskeyData): ZoneKey[] => {
  if (!SUPPORTED_ALGORITHMS.has(key.algorithm)) return [];
  const imported = importDnskey(key.algorithm, key.key);
  return imported === undefined ? [] : [{ tag: keyTag(key), algorithm: key.algorithm, key: imported }];
};
