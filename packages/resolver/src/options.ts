import { parseTrustAnchors, type TrustAnchor } from './dnssec/trust-anchor.js';
import { parseServer, type Server } from './servers.js';
import type { ResolverOptions } from './types.js';

/** Defaults of {@link ResolverOptions}, as documented there and in the README. */
export const DEFAULTS = Object.freeze({
  port: 53,
  timeout: 1000,
  attempts: 2,
  minTtl: 0,
  maxTtl: 300,
  maxNegativeTtl: 30,
  maxEntries: 10_000,
  maxNegativeEntries: 1_000,
  maxBytes: 16 * 1024 * 1024,
  maxNegativeBytes: 1024 * 1024,
  caseRandomization: true,
  staleTtl: 0,
  resolvConfPath: '/etc/resolv.conf',
});

/** Options after validation; `servers`, `timeout` and `attempts` may still come from resolv.conf. */
export interface NormalisedOptions {
  servers: Server[] | undefined;
  port: number;
  timeout: number | undefined;
  attempts: number | undefined;
  minTtl: number;
  maxTtl: number;
  maxNegativeTtl: number;
  maxEntries: number;
  maxNegativeEntries: number;
  maxBytes: number;
  maxNegativeBytes: number;
  caseRandomization: boolean;
  staleTtl: number;
  cache: boolean;
  now: () => number;
  resolvConfPath: string;
  /** Parsed `trustAnchors`; empty when in-process validation is off. */
  trustAnchors: readonly TrustAnchor[];
}

const check = (name: string, value: unknown, fallback: number, min: number, integer: boolean): number => {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(`resolver option ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
  }
  return value;
};

const trustAnchorsOf = (lines: ResolverOptions['trustAnchors']): readonly TrustAnchor[] => {
  if (lines === undefined) return [];
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every((line) => typeof line === 'string')) {
    throw new TypeError(
      'resolver option trustAnchors must be a non-empty array of DS or DNSKEY record lines',
    );
  }
  return Object.freeze(parseTrustAnchors(lines));
};

/**
 * Validates options once, at creation, so that a bad configuration fails at init and not on
 * the first request. Does no I/O.
 * @throws {TypeError | RangeError} on an invalid option.
 */
export const normaliseOptions = (options: ResolverOptions = {}): NormalisedOptions => {
  const port = check('port', options.port, DEFAULTS.port, 1, true);
  if (port > 65535) throw new RangeError('resolver option port must be <= 65535');
  if (options.servers !== undefined && (!Array.isArray(options.servers) || options.servers.length === 0)) {
    throw new TypeError('resolver option servers must be a non-empty array when given');
  }
  const minTtl = check('minTtl', options.minTtl, DEFAULTS.minTtl, 0, false);
  const maxTtl = check('maxTtl', options.maxTtl, DEFAULTS.maxTtl, 0, false);
  if (minTtl > maxTtl) throw new RangeError('resolver option minTtl must not exceed maxTtl');
  for (const flag of ['cache', 'caseRandomization'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new TypeError(`resolver option ${flag} must be a boolean`);
    }
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('resolver option now must be a function returning ms since epoch');
  }
  return {
    servers: options.servers?.map((server) => parseServer(server, port)),
    port,
    timeout: options.timeout === undefined ? undefined : check('timeout', options.timeout, 0, 1, true),
    attempts: options.attempts === undefined ? undefined : check('attempts', options.attempts, 0, 1, true),
    minTtl,
    maxTtl,
    maxNegativeTtl: check('maxNegativeTtl', options.maxNegativeTtl, DEFAULTS.maxNegativeTtl, 0, false),
    maxEntries: check('maxEntries', options.maxEntries, DEFAULTS.maxEntries, 1, true),
    maxNegativeEntries: check(
      'maxNegativeEntries',
      options.maxNegativeEntries,
      DEFAULTS.maxNegativeEntries,
      1,
      true,
    ),
    maxBytes: check('maxBytes', options.maxBytes, DEFAULTS.maxBytes, 1, true),
    maxNegativeBytes: check('maxNegativeBytes', options.maxNegativeBytes, DEFAULTS.maxNegativeBytes, 1, true),
    caseRandomization: options.caseRandomization !== false,
    staleTtl: check('staleTtl', options.staleTtl, DEFAULTS.staleTtl, 0, false),
    cache: options.cache !== false,
    now: options.now ?? Date.now,
    resolvConfPath: options.resolvConfPath ?? DEFAULTS.resolvConfPath,
    trustAnchors: trustAnchorsOf(options.trustAnchors),
  };
};
