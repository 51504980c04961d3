import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import { defaultKid, generateSigningKey } from '../keys.js';
import {
  agreedAttributes,
  DEFAULT_TTL,
  type IdentityTarget,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { type StoredSigningKey, signingKeySecretName, storeSigningKey } from '../secret-store.js';
import { checkKid, checkTarget } from '../validation.js';
import { planPutKey } from './publish.js';
import { checkPropagationWait, PROPAGATION_MARGIN_SECONDS } from './rotate.js';

/**
 * Default `--propagation-wait` of `keygen` for a brand-new name, in seconds. There was no RRset,
 * so resolvers may have cached the negative answer (NXDOMAIN/NODATA) for the SOA minimum (900
 * s in Route 53's default SOA, though resolvers clamp it); a new workload has no callers yet,
 * so a short wait is enough for the first ones not to be turned away.
 */
export const KEYGEN_NEW_NAME_PROPAGATION_WAIT = 60;

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
   * + 5; for a brand-new name {@link KEYGEN_NEW_NAME_PROPAGATION_WAIT}. `0` does not wait.
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
  const propagationWait =
    requestedWait !== undefined
      ? requestedWait
      : current.recordSet.exists
        ? (current.recordSet.ttl ?? DEFAULT_TTL) + PROPAGATION_MARGIN_SECONDS
        : KEYGEN_NEW_NAME_PROPAGATION_WAIT;
  if (current.keys.some((key) => key.kid === kid)) {
    throw new CliError('kid_conflict', `kid ${kid} is already published at ${current.name}`, EXIT_CODE.other);
  }
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
    record,
  };
  if (options.dryRun === true) return base;
  if (propagationWait > 0) {
    deps.log?.(
      `waiting ${propagationWait} s for resolver caches to drop what they held for ${record.name} ` +
        `before storing ${kid}`,
    );
    await deps.sleep(propagationWait * 1000);
  }
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
