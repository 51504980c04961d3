import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import { defaultKid, generateSigningKey } from '../keys.js';
import { PROPAGATION_MARGIN_SECONDS, planPropagationWait, waitForPropagation } from '../negative-cache.js';
import {
  agreedAttributes,
  type IdentityTarget,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { type StoredSigningKey, signingKeySecretName, storeSigningKey } from '../secret-store.js';
import { checkKid, checkTarget } from '../validation.js';
import { planPutKey } from './publish.js';
import { checkPropagationWait } from './rotate.js';

/** Options of {@link keygen}. */
export interface KeygenOptions extends IdentityTarget, WriteOptions {
  /** Key type. Default `ed25519`. */
  readonly keyType?: KeyType;
  /** Key id. Default: `k` + the UTC time (`k20261125T151300Z`). */
  readonly kid?: string;
  /** `x-` attributes of the key; default: those every published key agrees on. */
  readonly attributes?: Readonly<Record<string, string>>;
  /**
   * Seconds to wait, once the key is `INSYNC`, before storing the private key: resolvers keep
   * serving what they cached before the change. Default: when the name had a TXT RRset, its TTL
   * + 5; for a brand-new name the zone's negative TTL (min(SOA TTL, SOA MINIMUM), read from
   * Route 53) + 5, since anyone can make a resolver cache NXDOMAIN for the name beforehand. `0`
   * does not wait; a wait shorter than the negative TTL of a new name is warned about.
   */
  readonly propagationWaitSeconds?: number;
}

/** Outcome of {@link keygen}: public facts only, never the private key. */
export interface KeygenResult {
  readonly kid: string;
  readonly keyType: KeyType;
  /** The published public key (base64), as it appears in DNS. */
  readonly publicKey: string;
  readonly secretName: string;
  /** Absent in a dry run. */
  readonly secret?: Omit<StoredSigningKey, 'secretName'>;
  /** Seconds waited (in a dry run: to be waited) between `INSYNC` and storing the key. */
  readonly propagationWaitSeconds: number;
  /** For a new name: the zone's negative TTL (how long resolvers may cache NXDOMAIN). */
  readonly negativeCacheTtlSeconds?: number;
  /** Set when the wait is shorter than the negative TTL of a new name (see {@link PropagationPlan}). */
  readonly warning?: string;
  readonly record: RecordUpdateResult;
}

/**
 * Generates a key pair, publishes its public half and then stores its private half (a JWK
 * with `kid` and `alg`) in Secrets Manager. DNS goes first and is waited for: signers pick up
 * the secret's new version, so a key must be in DNS before anyone can sign with it, and in
 * resolver caches too: after `INSYNC` it waits `propagationWaitSeconds` (see
 * {@link KeygenOptions.propagationWaitSeconds}). An interruption before the store leaves only
 * an unused public key behind (nobody can sign with it); a re-run publishes another key next
 * to it, and the unused one can be revoked.
 */
export const keygen = async (options: KeygenOptions, deps: CommandDeps): Promise<KeygenResult> => {
  checkTarget(options);
  const kid = checkKid(options.kid ?? defaultKid(deps.now()));
  const keyType = options.keyType ?? 'ed25519';
  const requestedWait =
    options.propagationWaitSeconds === undefined
      ? undefined
      : checkPropagationWait(options.propagationWaitSeconds);
  const current = await readIdentityRecord(options, deps);
  if (current.keys.some((key) => key.kid === kid)) {
    throw new CliError('kid_conflict', `kid ${kid} is already published at ${current.name}`, EXIT_CODE.other);
  }
  const plan = await planPropagationWait(
    options,
    current.recordSet,
    requestedWait,
    deps,
    (ttl) => ttl + PROPAGATION_MARGIN_SECONDS,
  );
  const propagationWait = plan.seconds;
  if (plan.warning !== undefined) deps.log?.(plan.warning);
  const key = await generateSigningKey(keyType, kid);
  const attributes =
    options.attributes ?? agreedAttributes(current.keys.filter((record) => record.publicKey !== ''));
  const record = await updateIdentityRecord(
    options,
    options,
    deps,
    (latest) =>
      planPutKey(latest, {
        service: options.service,
        environment: options.environment,
        kid,
        keyType,
        publicKey: key.publicKey,
        attributes,
      }),
    current,
  );
  const secretName = signingKeySecretName(options.service, options.environment);
  const base = {
    kid,
    keyType,
    publicKey: key.publicKey,
    secretName,
    propagationWaitSeconds: propagationWait,
    ...(plan.negativeCacheTtlSeconds === undefined
      ? {}
      : { negativeCacheTtlSeconds: plan.negativeCacheTtlSeconds }),
    ...(plan.warning === undefined ? {} : { warning: plan.warning }),
    record,
  };
  if (options.dryRun === true) return base;
  await waitForPropagation(
    deps,
    propagationWait,
    `for resolver caches to drop what they held for ${record.name} ` +
      `(${current.recordSet.exists ? 'the previous RRset' : 'a negative answer'}) before storing ${kid}`,
  );
  const { secretName: _name, ...secret } = await storeSigningKey({
    secrets: deps.secrets,
    service: options.service,
    environment: options.environment,
    privateJwk: key.privateJwk,
    retry: retryOptionsOf(deps),
  });
  deps.log?.(`stored the private key of ${kid} in ${secretName}`);
  return { ...base, secret };
};
