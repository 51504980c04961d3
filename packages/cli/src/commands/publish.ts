import { readFile } from 'node:fs/promises';
import { certThumbprint, type IdentityRecordInput } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE, usageError } from '../errors.js';
import type { PublishedKey } from '../keys.js';
import { planPropagationWait, waitForPropagation } from '../negative-cache.js';
import {
  agreedAttributes,
  type CurrentRecord,
  type IdentityTarget,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import type { KeyChanges } from '../route53-rrset.js';
import { FINGERPRINT_PATTERN, readPublishedKey } from '../secret-store.js';
import { checkPublishedKey, checkTarget } from '../validation.js';
import { checkPropagationWait } from './rotate.js';

/** Checks `--trust-stored-key`: a SHA-256 fingerprint, base64url. @throws {CliError} usage error. */
export const checkTrustedFingerprint = (value: string): string => {
  if (!FINGERPRINT_PATTERN.test(value)) {
    throw usageError(
      '--trust-stored-key takes the fingerprint of the stored key (43 base64url characters), as the untrusted_key refusal prints it',
    );
  }
  return value;
};

/**
 * The `x5t-s256` pin of the certificate in a file (PEM or DER): what `--cert` publishes.
 * @throws {CliError} usage error when the file cannot be read or holds no X.509 certificate.
 */
export const certThumbprintOfFile = async (path: string): Promise<string> => {
  let contents: Buffer;
  try {
    contents = await readFile(path);
  } catch {
    throw usageError(`--cert: cannot read ${path}`);
  }
  const text = contents.toString('utf8');
  const thumbprint = certThumbprint(text.includes('-----BEGIN CERTIFICATE-----') ? text : contents);
  if (thumbprint === undefined) throw usageError(`--cert: ${path} holds no X.509 certificate (PEM or DER)`);
  return thumbprint;
};

/** What {@link planPublishKey} writes with a key besides the key itself. */
export interface PublishSettings extends Pick<IdentityTarget, 'service' | 'environment'> {
  /**
   * `x-` attributes of the key; default: the attributes the key already has in DNS, else the
   * attributes every other usable key agrees on (verifiers drop attributes the keys disagree on).
   */
  readonly attributes?: Readonly<Record<string, string>>;
  /** `exp=` of the key in Unix seconds; default: what the key already has in DNS. */
  readonly expiresAt?: number;
  /**
   * `x5t-s256=` of the key: the RFC 8705 thumbprint of the client certificate API Gateway mutual
   * TLS must present with this key's proofs (see `certThumbprintOfFile`); default: what the key
   * already has in DNS.
   */
  readonly certThumbprint?: string;
}

/** Options of {@link publish}. */
export interface PublishOptions extends IdentityTarget, WriteOptions, PublishSettings {
  /** Key to publish; default: the public half of the workload's current signing-key secret. */
  readonly key?: PublishedKey;
  /**
   * Seconds to wait after `INSYNC` before returning, when a change was made. Default: for a name
   * that had no TXT RRset, the zone's negative TTL (min(SOA TTL, SOA MINIMUM)) + 5, since
   * resolvers may have cached NXDOMAIN for it (anyone can make them, by asking first); else `0`.
   * A shorter wait for a new name is warned about (`warning`).
   */
  readonly propagationWaitSeconds?: number;
  /**
   * Fingerprint (SHA-256 of the `p=` bytes, base64url) of a current secret version that the
   * CLI's `nhi:current` mark does not name, to publish it anyway (a key stored by an nhi-dns
   * without marks): it must equal the stored key's, and the version is then marked (not in a
   * dry run). Without it such a version is refused (`untrusted_key`).
   */
  readonly trustStoredKey?: string;
}

/** Outcome of {@link publish}. */
export interface PublishResult extends RecordUpdateResult {
  readonly kid: string;
  /** Seconds waited (in a dry run: to be waited) after `INSYNC`; 0 when nothing changed. */
  readonly propagationWaitSeconds: number;
  /** For a new name: the zone's negative TTL (how long resolvers may cache NXDOMAIN). */
  readonly negativeCacheTtlSeconds?: number;
  /** Set when the wait is shorter than the negative TTL of a new name. */
  readonly warning?: string;
}

/**
 * Plans putting `input` into the RRset, refusing what would weaken it: a `kid` is immutable
 * (a different key under a published `kid` would make verifiers with a cached RRset disagree),
 * and a revoked `kid` stays revoked (a deploy must not undo the kill switch).
 */
export const planPutKey = (current: CurrentRecord, input: IdentityRecordInput): KeyChanges => {
  const existing = current.keys.find((key) => key.kid === input.kid);
  if (existing !== undefined && existing.publicKey === '' && input.publicKey !== '') {
    throw new CliError(
      'kid_revoked',
      `kid ${input.kid} is revoked at ${current.name}; generate a new key (keygen or rotate)`,
      EXIT_CODE.other,
    );
  }
  if (existing !== undefined && existing.publicKey !== '' && input.publicKey !== '') {
    if (existing.publicKey !== input.publicKey || existing.keyType !== (input.keyType ?? 'ed25519')) {
      throw new CliError(
        'kid_conflict',
        `kid ${input.kid} is already published at ${current.name} with another key; key ids are immutable`,
        EXIT_CODE.other,
      );
    }
  }
  return { put: [input] };
};

/**
 * The change `publish` makes to put `key` into the RRset: the key's RR by `kid`, with the
 * settings given and, for each one left out, what DNS already has (see {@link PublishSettings}),
 * so that publishing a key again never strips its attributes, `exp` or pin. `render` plans with
 * it too: what it prints for a published RRset is what `publish` would write, by the same rule.
 *
 * @throws {CliError} `kid_conflict` or `kid_revoked` (exit code 4), as {@link planPutKey}.
 */
export const planPublishKey = (
  current: CurrentRecord,
  key: PublishedKey,
  settings: PublishSettings,
): KeyChanges => {
  const existing = current.keys.find((record) => record.kid === key.kid);
  const attributes =
    settings.attributes ??
    existing?.attributes ??
    agreedAttributes(current.keys.filter((record) => record.publicKey !== ''));
  const expiresAt = settings.expiresAt ?? existing?.expiresAt;
  const certThumbprint = settings.certThumbprint ?? existing?.certThumbprint;
  return planPutKey(current, {
    service: settings.service,
    environment: settings.environment,
    kid: key.kid,
    keyType: key.keyType,
    publicKey: key.publicKey,
    attributes,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(certThumbprint === undefined ? {} : { certThumbprint }),
  });
};

/**
 * Publishes one key into the identity RRset: read the TXT RRset, merge the key's RR by `kid`
 * (other keys and foreign TXT values untouched), UPSERT, wait for `INSYNC`, then, for a name
 * that had no TXT RRset, wait out the zone's negative TTL (see
 * {@link PublishOptions.propagationWaitSeconds}). Running it again changes nothing.
 */
export const publish = async (options: PublishOptions, deps: CommandDeps): Promise<PublishResult> => {
  checkTarget(options);
  if (options.key !== undefined) checkPublishedKey(options.key);
  if (options.trustStoredKey !== undefined) checkTrustedFingerprint(options.trustStoredKey);
  const requestedWait =
    options.propagationWaitSeconds === undefined
      ? undefined
      : checkPropagationWait(options.propagationWaitSeconds);
  const key =
    options.key ??
    (await readPublishedKey({
      secrets: deps.secrets,
      service: options.service,
      environment: options.environment,
      retry: retryOptionsOf(deps),
      ...(options.trustStoredKey === undefined ? {} : { trustFingerprint: options.trustStoredKey }),
      markTrusted: options.dryRun !== true,
      ...(deps.log === undefined ? {} : { log: deps.log }),
    }));
  const before = await readIdentityRecord(options, deps);
  const result = await updateIdentityRecord(
    options,
    options,
    deps,
    (current) => planPublishKey(current, key, options),
    before,
  );
  if (result.status === 'unchanged') return { ...result, kid: key.kid, propagationWaitSeconds: 0 };
  const plan = await planPropagationWait(options, before.recordSet, requestedWait, deps, () => 0);
  if (plan.warning !== undefined) deps.log?.(plan.warning);
  if (result.status !== 'dry-run') {
    await waitForPropagation(
      deps,
      plan.seconds,
      `for resolver caches to drop ${before.recordSet.exists ? 'the previous RRset' : 'a negative answer'} ` +
        `they may hold for ${result.name} before ${key.kid} is used`,
    );
  }
  return {
    ...result,
    kid: key.kid,
    propagationWaitSeconds: plan.seconds,
    ...(plan.negativeCacheTtlSeconds === undefined
      ? {}
      : { negativeCacheTtlSeconds: plan.negativeCacheTtlSeconds }),
    ...(plan.warning === undefined ? {} : { warning: plan.warning }),
  };
};
