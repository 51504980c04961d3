import type { CommandDeps } from '../deps.js';
import { CliError, EXIT_CODE } from '../errors.js';
import {
  type IdentityTarget,
  isUsableKey,
  type RecordUpdateResult,
  updateIdentityRecord,
  type WriteOptions,
} from '../record-update.js';
import { recordInput } from '../route53-rrset.js';
import { checkTarget } from '../validation.js';

/** Options of {@link revoke}. */
export interface RevokeOptions extends IdentityTarget, WriteOptions {
  /** Key id to revoke. */
  readonly kid: string;
}

/** Outcome of {@link revoke}. */
export interface RevokeResult extends RecordUpdateResult {
  readonly kid: string;
  /** Keys that can still verify proofs; `0` means the name is now fully revoked (kill switch). */
  readonly usableKeys: number;
}

/**
 * Revokes a key: its RR stays, with an empty `p=`, so that verifiers answer `revoked_key`
 * (and self checks fail) instead of `unknown_kid`. Revoking the last usable key is allowed on
 * purpose: it is the kill switch. Running it again changes nothing.
 *
 * @throws {CliError} `unknown_kid` when the key is not published at the name.
 */
export const revoke = async (options: RevokeOptions, deps: CommandDeps): Promise<RevokeResult> => {
  checkTarget(options);
  const now = Math.floor(deps.now() / 1000);
  let usableKeys = 0;
  const result = await updateIdentityRecord(options, options, deps, (current) => {
    const target = current.keys.find((key) => key.kid === options.kid);
    if (target === undefined) {
      throw new CliError(
        'unknown_kid',
        `kid ${options.kid} is not published at ${current.name}`,
        EXIT_CODE.other,
      );
    }
    usableKeys = current.keys.filter((key) => key.kid !== options.kid && isUsableKey(key, now)).length;
    return { put: [{ ...recordInput(target), publicKey: '' }] };
  });
  if (usableKeys === 0) deps.log?.(`${result.name} has no usable key left: every proof will be refused`);
  return { ...result, kid: options.kid, usableKeys };
};
