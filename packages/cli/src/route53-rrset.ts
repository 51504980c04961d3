import {
  type Change,
  type ChangeBatch,
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
  waitUntilResourceRecordSetsChanged,
} from '@aws-sdk/client-route-53';
import {
  canonicalName,
  formatRecord,
  type IdentityRecord,
  type IdentityRecordInput,
  parseRecord,
} from '@nhi-dns/core';
import { CliError, EXIT_CODE } from './errors.js';
import { type RetryOptions, withRetry } from './retry.js';
import { formatTxtValue, parseTxtValue } from './txt-presentation.js';

/** The TXT RRset at a name as Route 53 holds it. */
export interface TxtRecordSet {
  /** Canonical owner name (lower case, no trailing dot). */
  readonly name: string;
  /** False when Route 53 has no TXT RRset at the name. */
  readonly exists: boolean;
  /** TTL in seconds, when the RRset exists. */
  readonly ttl?: number;
  /** The RR values in Route 53 presentation form, in Route 53's order. */
  readonly values: readonly string[];
}

/** One RR of an RRset, with its NHI1 content when it is a valid NHI1 RR for the name. */
export interface ClassifiedValue {
  /** Presentation form, exactly as Route 53 returned it. */
  readonly value: string;
  /** The parsed key, for valid NHI1 RRs only; anything else is foreign and kept untouched. */
  readonly record?: IdentityRecord;
}

/** Route 53 hosted zone ids come as `Z123` or `/hostedzone/Z123`; the API takes either. */
export const normalizeHostedZoneId = (id: string): string => id.replace(/^\/?hostedzone\//, '');

/**
 * Route 53 writes `*` and other special characters of names as `\ooo` escapes; decodes them so
 * that names compare in canonical form.
 */
const decodeRoute53Name = (name: string): string =>
  canonicalName(
    name.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
  );

/**
 * Reads the TXT RRset at `name` with one `ListResourceRecordSets` call (`StartRecordName`,
 * `StartRecordType`, `MaxItems: 1`). The listing starts *at or after* the given name, so the
 * returned RRset's name and type are checked: anything else means there is no TXT RRset.
 *
 * @throws {CliError} `unsupported_rrset` when the RRset uses a routing policy or an alias
 * (the CLI only manages simple RRsets, which UPSERT replaces as a whole).
 */
export const readTxtRecordSet = async (
  route53: Route53Client,
  hostedZoneId: string,
  name: string,
  retry: RetryOptions = {},
): Promise<TxtRecordSet> => {
  const canonical = canonicalName(name);
  const output = await withRetry(
    () =>
      route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: normalizeHostedZoneId(hostedZoneId),
          StartRecordName: canonical,
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
      ),
    retry,
  );
  const rrset = output.ResourceRecordSets?.[0];
  if (rrset?.Name === undefined || rrset.Type !== 'TXT' || decodeRoute53Name(rrset.Name) !== canonical) {
    return { name: canonical, exists: false, values: [] };
  }
  if (rrset.SetIdentifier !== undefined || rrset.AliasTarget !== undefined) {
    throw new CliError(
      'unsupported_rrset',
      `the TXT RRset at ${canonical} uses a routing policy or alias; only simple RRsets are managed`,
      EXIT_CODE.other,
    );
  }
  const values = (rrset.ResourceRecords ?? []).flatMap((rr) => (rr.Value === undefined ? [] : [rr.Value]));
  return { name: canonical, exists: true, ...(rrset.TTL === undefined ? {} : { ttl: rrset.TTL }), values };
};

/** Splits an RRset's values into NHI1 keys of `name` and foreign values (kept as they are). */
export const classifyValues = (name: string, values: readonly string[]): ClassifiedValue[] =>
  values.map((value) => {
    const strings = parseTxtValue(value);
    if (strings === undefined) return { value };
    const result = parseRecord(strings, name);
    return result.status === 'valid' ? { value, record: result.record } : { value };
  });

/** Converts a parsed key back into the input of `formatRecord`. */
export const recordInput = (record: IdentityRecord): IdentityRecordInput => ({
  service: record.service,
  environment: record.environment,
  kid: record.kid,
  keyType: record.keyType,
  publicKey: record.publicKey,
  attributes: record.attributes,
  ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
  // A key's client-certificate pin goes wherever the key goes (rotate's exp, publish again).
  ...(record.certThumbprint === undefined ? {} : { certThumbprint: record.certThumbprint }),
  // So does its custody: an exp written by rotate must not turn a KMS-held key into an exportable one.
  ...(record.keyCustody === undefined ? {} : { keyCustody: record.keyCustody }),
});

/** Changes to apply to the NHI1 keys of an RRset. */
export interface KeyChanges {
  /** Keys to add, or to replace when an RR with the same `kid` exists. */
  readonly put?: readonly IdentityRecordInput[];
  /** Key ids whose RRs are removed. */
  readonly remove?: readonly string[];
}

/**
 * Merges key changes into an RRset's values by `kid`. Foreign TXT values (SPF, verification
 * tokens, other NHI versions, invalid RRs) and untouched keys keep their exact presentation
 * form and their position; replaced keys stay where they were; new keys are appended. A key
 * whose formatted text equals the existing RR keeps the existing value verbatim, so an
 * unchanged key never causes a change.
 */
export const mergeKeys = (name: string, values: readonly string[], changes: KeyChanges): string[] => {
  const put = new Map((changes.put ?? []).map((input) => [input.kid, formatRecord(input)]));
  const remove = new Set(changes.remove ?? []);
  const merged: string[] = [];
  for (const { value, record } of classifyValues(name, values)) {
    if (record === undefined) {
      merged.push(value);
      continue;
    }
    if (remove.has(record.kid)) continue;
    const text = put.get(record.kid);
    if (text === undefined) {
      merged.push(value);
      continue;
    }
    put.delete(record.kid);
    merged.push(text === formatRecord(recordInput(record)) ? value : formatTxtValue(text));
  }
  for (const text of put.values()) merged.push(formatTxtValue(text));
  return merged;
};

/** True when two RRsets hold the same values (order aside) and the same TTL. */
export const sameRecordSet = (
  current: Pick<TxtRecordSet, 'values' | 'ttl' | 'exists'>,
  values: readonly string[],
  ttl: number,
): boolean => {
  if (!current.exists) return values.length === 0;
  if (current.ttl !== ttl || current.values.length !== values.length) return false;
  const sortedCurrent = [...current.values].sort();
  const sortedNext = [...values].sort();
  return sortedCurrent.every((value, index) => value === sortedNext[index]);
};

/**
 * Builds the change batch that makes the TXT RRset at `name` hold exactly `values`. UPSERT
 * replaces the whole RRset, which is why callers pass the merged values, never just their own.
 *
 * @throws {CliError} `would_empty` for an empty RRset: the CLI never deletes a whole name.
 */
export const buildChangeBatch = (
  name: string,
  ttl: number,
  values: readonly string[],
  comment: string,
): ChangeBatch => {
  if (values.length === 0) {
    throw new CliError('would_empty', `refusing to leave ${name} without any TXT value`, EXIT_CODE.other);
  }
  const change: Change = {
    Action: 'UPSERT',
    ResourceRecordSet: {
      Name: `${canonicalName(name)}.`,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: values.map((value) => ({ Value: value })),
    },
  };
  return { Comment: comment.slice(0, 256), Changes: [change] };
};

/** Options of {@link submitChange}. */
export interface SubmitChangeOptions {
  readonly route53: Route53Client;
  readonly hostedZoneId: string;
  readonly changeBatch: ChangeBatch;
  /**
   * Seconds to wait for the change to reach `INSYNC` (all Route 53 authoritative servers);
   * `0` does not wait. Default `300`.
   */
  readonly waitTimeoutSeconds?: number;
  /** Shortest delay between `GetChange` polls, in seconds. Default `5`. */
  readonly pollMinDelaySeconds?: number;
  /** Longest delay between `GetChange` polls, in seconds. Default `30`. */
  readonly pollMaxDelaySeconds?: number;
  readonly retry?: RetryOptions;
}

/** Where a submitted change stands. */
export interface SubmittedChange {
  /** Route 53 change id, e.g. `/change/C2682N5HXP0BZ4`. */
  readonly changeId: string;
  /** `INSYNC` once waited for, `PENDING` when not waited for. */
  readonly status: 'INSYNC' | 'PENDING';
}

/**
 * Submits `changeBatch` (retrying throttling and `PriorRequestNotComplete`) and waits for
 * `INSYNC` with the SDK waiter.
 *
 * @throws {CliError} `change_not_insync` (exit code 3) when the wait times out: the change was
 * accepted and will still complete; re-running the same command is safe (it finds nothing to do).
 */
export const submitChange = async (options: SubmitChangeOptions): Promise<SubmittedChange> => {
  const hostedZoneId = normalizeHostedZoneId(options.hostedZoneId);
  const output = await withRetry(
    () =>
      options.route53.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, ChangeBatch: options.changeBatch }),
      ),
    options.retry,
  );
  const changeId = output.ChangeInfo?.Id;
  if (changeId === undefined) {
    throw new CliError('aws_unexpected', 'Route 53 returned no change id', EXIT_CODE.aws);
  }
  const waitTimeoutSeconds = options.waitTimeoutSeconds ?? 300;
  if (output.ChangeInfo?.Status === 'INSYNC') return { changeId, status: 'INSYNC' };
  if (waitTimeoutSeconds <= 0) return { changeId, status: 'PENDING' };
  const minDelay = Math.min(options.pollMinDelaySeconds ?? 5, waitTimeoutSeconds / 2);
  try {
    await waitUntilResourceRecordSetsChanged(
      {
        client: options.route53,
        maxWaitTime: waitTimeoutSeconds,
        minDelay,
        maxDelay: Math.max(minDelay, options.pollMaxDelaySeconds ?? 30),
      },
      { Id: changeId },
    );
  } catch (error) {
    throw new CliError(
      'change_not_insync',
      `change ${changeId} was accepted but not INSYNC after ${waitTimeoutSeconds}s; it will still ` +
        'complete, re-run the command to confirm (it is idempotent)',
      EXIT_CODE.aws,
      { cause: error },
    );
  }
  return { changeId, status: 'INSYNC' };
};
