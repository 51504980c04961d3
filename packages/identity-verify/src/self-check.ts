import type { IdentityRecordSet, VerificationKey } from '@nhi-dns/core';

/** What a function expects of its own record (self mode). */
export interface SelfExpectation {
  /** Expected `svc`. Default: the first label of `self`. */
  service?: string;
  /** Expected `env`. Default: the second label of `self`. */
  environment?: string;
  /** Attributes the record must carry with exactly these values. */
  attributes?: Readonly<Record<string, string>>;
}

/** The parts of a resolved own record the self check reads. */
export interface OwnRecord {
  readonly service: string;
  readonly environment: string;
  readonly keys: ReadonlyMap<string, VerificationKey>;
  readonly attributes: IdentityRecordSet['attributes'];
}

/**
 * Why an own record fails its self check, or `undefined` when it passes: it must carry the
 * expected service, environment and attributes and hold at least one key that is neither
 * revoked nor expired. Revoking every key is the kill switch.
 */
export const selfCheckFailure = (
  record: OwnRecord,
  expect: SelfExpectation,
  now: number,
): string | undefined => {
  if (expect.service !== undefined && record.service !== expect.service) return 'service differs';
  if (expect.environment !== undefined && record.environment !== expect.environment)
    return 'environment differs';
  for (const [attribute, value] of Object.entries(expect.attributes ?? {})) {
    if (record.attributes[attribute] !== value) return `attribute ${attribute} differs`;
  }
  const usable = [...record.keys.values()].some(
    (key) => !key.revoked && (key.expiresAt === undefined || key.expiresAt > now),
  );
  return usable ? undefined : 'no usable key (revoked or expired)';
};
