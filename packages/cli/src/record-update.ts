import type { ChangeBatch } from '@aws-sdk/client-route-53';
import { formatIdentityName, type IdentityRecord, type KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from './deps.js';
import {
  buildChangeBatch,
  classifyValues,
  type KeyChanges,
  mergeKeys,
  readTxtRecordSet,
  sameRecordSet,
  submitChange,
  type TxtRecordSet,
} from './route53-rrset.js';
import { checkTtl } from './validation.js';

/** Default TTL of a new identity RRset, in seconds. */
export const DEFAULT_TTL = 300;
/** Default time to wait for `INSYNC`, in seconds. */
export const DEFAULT_WAIT_TIMEOUT = 300;

/** Which identity record a command works on. */
export interface IdentityTarget {
  /** Service label, e.g. `billing`. */
  readonly service: string;
  /** Environment label, e.g. `prod`. */
  readonly environment: string;
  /** Zone, e.g. `auth.example.com`. */
  readonly zone: string;
  /** Route 53 hosted zone id (`Z123…` or `/hostedzone/Z123…`). */
  readonly hostedZoneId: string;
}

/** How a command writes to Route 53. */
export interface WriteOptions {
  /** TTL of the RRset; default: the existing RRset's TTL, else {@link DEFAULT_TTL}. */
  readonly ttl?: number;
  /** Print the change batch and write nothing. Default `false`. */
  readonly dryRun?: boolean;
  /** Seconds to wait for `INSYNC`, `0` not to wait. Default {@link DEFAULT_WAIT_TIMEOUT}. */
  readonly waitTimeoutSeconds?: number;
  /** Shortest delay between `GetChange` polls, in seconds. Default `5`. */
  readonly pollMinDelaySeconds?: number;
}

/** A key as shown to operators: no key material beyond what DNS publishes anyway. */
export interface KeySummary {
  readonly kid: string;
  readonly keyType: KeyType;
  readonly revoked: boolean;
  readonly expiresAt?: number;
}

/** Outcome of a record update. */
export interface RecordUpdateResult {
  /** Identity name, canonical. */
  readonly name: string;
  /** `unchanged`: nothing to do; `dry-run`: batch printed, nothing written; else the change status. */
  readonly status: 'unchanged' | 'dry-run' | 'INSYNC' | 'PENDING';
  readonly ttl: number;
  /** The batch that was (or, in a dry run, would have been) submitted. */
  readonly changeBatch?: ChangeBatch;
  readonly changeId?: string;
  /** NHI1 keys of the RRset after the update. */
  readonly keys: readonly KeySummary[];
  /** The RRset's values after the update (presentation form). */
  readonly values: readonly string[];
}

/** The state a key-change plan is computed from. */
export interface CurrentRecord {
  readonly name: string;
  readonly recordSet: TxtRecordSet;
  /** Valid NHI1 keys of the name, in RRset order. */
  readonly keys: readonly IdentityRecord[];
}

/** Summarises the NHI1 keys of a name. */
export const summarizeKeys = (name: string, values: readonly string[]): KeySummary[] =>
  classifyValues(name, values).flatMap(({ record }) =>
    record === undefined
      ? []
      : [
          {
            kid: record.kid,
            keyType: record.keyType,
            revoked: record.publicKey === '',
            ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
          },
        ],
  );

/** True when a key can verify proofs at `nowSeconds`: not revoked, not expired. */
export const isUsableKey = (record: Pick<IdentityRecord, 'publicKey' | 'expiresAt'>, nowSeconds: number) =>
  record.publicKey !== '' && (record.expiresAt === undefined || record.expiresAt > nowSeconds);

/** Reads the identity RRset of `target` and its NHI1 keys. */
export const readIdentityRecord = async (
  target: IdentityTarget,
  deps: CommandDeps,
): Promise<CurrentRecord> => {
  const name = formatIdentityName(target);
  return currentRecordOf(
    await readTxtRecordSet(deps.route53, target.hostedZoneId, name, retryOptionsOf(deps)),
  );
};

/** Builds the plan input of an RRset. */
export const currentRecordOf = (recordSet: TxtRecordSet): CurrentRecord => ({
  name: recordSet.name,
  recordSet,
  keys: classifyValues(recordSet.name, recordSet.values).flatMap(({ record }) => (record ? [record] : [])),
});

/**
 * TTL of an RRset after an update: the one asked for, else the RRset's own (a key change does
 * not change how long resolvers cache the name), else {@link DEFAULT_TTL} for a new RRset.
 * @throws {CliError} usage error for a TTL out of range.
 */
export const ttlAfterUpdate = (
  requested: number | undefined,
  recordSet: Pick<TxtRecordSet, 'ttl'>,
): number => (requested === undefined ? (recordSet.ttl ?? DEFAULT_TTL) : checkTtl(requested));

/**
 * Read, merge, write, wait: applies the key changes that `plan` computes from the current RRset.
 * When the merged RRset equals the current one nothing is written (idempotent); in a dry run the
 * change batch is returned and nothing is written either.
 */
export const updateIdentityRecord = async (
  target: IdentityTarget,
  write: WriteOptions,
  deps: CommandDeps,
  plan: (current: CurrentRecord) => KeyChanges,
  /** Plan against this state instead of reading Route 53 (a dry run's later steps). */
  assumed?: CurrentRecord,
): Promise<RecordUpdateResult> => {
  const current = assumed ?? (await readIdentityRecord(target, deps));
  const { name, recordSet } = current;
  const ttl = ttlAfterUpdate(write.ttl, recordSet);
  const values = mergeKeys(name, recordSet.values, plan(current));
  const keys = summarizeKeys(name, values);
  if (sameRecordSet(recordSet, values, ttl)) return { name, status: 'unchanged', ttl, keys, values };
  const changeBatch = buildChangeBatch(name, ttl, values, `nhi-dns: update ${name}`);
  if (write.dryRun === true) return { name, status: 'dry-run', ttl, changeBatch, keys, values };
  const submitted = await submitChange({
    route53: deps.route53,
    hostedZoneId: target.hostedZoneId,
    changeBatch,
    waitTimeoutSeconds: write.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT,
    ...(write.pollMinDelaySeconds === undefined ? {} : { pollMinDelaySeconds: write.pollMinDelaySeconds }),
    retry: retryOptionsOf(deps),
  });
  deps.log?.(`${name}: change ${submitted.changeId} ${submitted.status}`);
  return { name, status: submitted.status, ttl, changeBatch, changeId: submitted.changeId, keys, values };
};

/** Attributes on which every given key agrees (what verifiers will see for the name). */
export const agreedAttributes = (keys: readonly IdentityRecord[]): Record<string, string> => {
  const [first, ...rest] = keys;
  if (first === undefined) return {};
  return Object.fromEntries(
    Object.entries(first.attributes).filter(([attribute, value]) =>
      rest.every((key) => key.attributes[attribute] === value),
    ),
  );
};
