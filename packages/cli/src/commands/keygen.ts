import type { KeyType } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import { checkKid, defaultKid, generateSigningKey } from '../keys.js';
import {
  agreedAttributes,
  type IdentityTarget,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { type StoredSigningKey, signingKeySecretName, storeSigningKey } from '../secret-store.js';
import { planPutKey } from './publish.js';

/** Options of {@link keygen}. */
export interface KeygenOptions extends IdentityTarget, WriteOptions {
  /** Key type. Default `ed25519`. */
  readonly keyType?: KeyType;
  /** Key id. Default: `k` + the UTC time (`k20261125T151300Z`). */
  readonly kid?: string;
  /** `x-` attributes of the key; default: those every published key agrees on. */
  readonly attributes?: Readonly<Record<string, string>>;
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
  readonly record: RecordUpdateResult;
}

/**
 * Generates a key pair, publishes its public half and then stores its private half (a JWK
 * with `kid` and `alg`) in Secrets Manager. DNS goes first and is waited for: signers pick up
 * the secret's new version, so a key must be in DNS before anyone can sign with it. An
 * interruption in between leaves only an unused public key behind.
 */
export const keygen = async (options: KeygenOptions, deps: CommandDeps): Promise<KeygenResult> => {
  const kid = checkKid(options.kid ?? defaultKid(deps.now()));
  const keyType = options.keyType ?? 'ed25519';
  const current = await readIdentityRecord(options, deps);
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
  const base = { kid, keyType, publicKey: key.publicKey, secretName, record };
  if (options.dryRun === true) return base;
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
