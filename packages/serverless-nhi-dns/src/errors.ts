import { NhiError } from '@nhi-dns/core';

/** The package name, first in every message. */
export const PLUGIN_NAME = 'serverless-nhi-dns';

/** Short JSON of a value for messages (never a secret: configuration only). */
export const show = (value: unknown): string => {
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
};

/**
 * A configuration error naming the option by its path in serverless.yml
 * (`custom.nhi.zone`, `functions.ledger.nhi.secrets`), the value given and what is allowed:
 * an `NhiError` with reason `invalid_config`, as the middlewares' `validateOptions` throw.
 */
export const invalidConfig = (option: string, value: unknown, allowed: string, cause?: unknown): NhiError =>
  new NhiError(
    'invalid_config',
    `${PLUGIN_NAME}: ${option} ${show(value)} is not allowed: ${allowed}`,
    cause === undefined ? {} : { cause },
  );
