import { canonicalName, formatIdentityName } from '@nhi-dns/core';
import { type CommandDeps, retryOptionsOf } from '../deps.js';
import { usageError } from '../errors.js';
import type { PublishedKey } from '../keys.js';
import { currentRecordOf, ttlAfterUpdate } from '../record-update.js';
import { mergeKeys, normalizeHostedZoneId, readTxtRecordSet, type TxtRecordSet } from '../route53-rrset.js';
import { checkLogicalId, checkPublishedKey, checkTarget } from '../validation.js';
import { planPublishKey } from './publish.js';

/** Output formats of {@link render}. */
export const RENDER_FORMATS = ['sam', 'cloudformation', 'zonefile'] as const;
/** One of {@link RENDER_FORMATS}. */
export type RenderFormat = (typeof RENDER_FORMATS)[number];

/** Options of {@link render}. */
export interface RenderOptions {
  readonly service: string;
  readonly environment: string;
  readonly zone: string;
  readonly format: RenderFormat;
  /** The keys to publish; every one becomes one RR of the RRset. */
  readonly keys: readonly PublishedKey[];
  /**
   * `x-` attributes, put on every key. Default, as `publish`: the attributes a key already has
   * in {@link published}, else those its other usable keys agree on; none in a new RRset.
   */
  readonly attributes?: Readonly<Record<string, string>>;
  /** TTL in seconds. Default: the TTL of {@link published}, else `DEFAULT_TTL`. */
  readonly ttl?: number;
  /** `HostedZoneId` of the resource; default: `HostedZoneName` from the zone. */
  readonly hostedZoneId?: string;
  /** Logical id of the resource. Default `NhiIdentity<Service><Environment>` (alphanumerics only). */
  readonly logicalId?: string;
  /**
   * The TXT RRset published at the name, as `readTxtRecordSet` returns it. Given, the output is
   * what `publish` would write into it, key after key: foreign values and the other keys kept
   * verbatim (attributes, `exp` and pin included), a published `kid` keeping what it has unless
   * set here. Omitted, the output holds `keys` only, and deployed it replaces whatever is
   * published at the name: right for an RRset the stack alone owns, wrong for one `publish`,
   * `rotate` or another stack also writes.
   */
  readonly published?: TxtRecordSet;
}

/** Options of {@link renderPublished}: those of {@link render}, read against Route 53. */
export interface RenderPublishedOptions extends Omit<RenderOptions, 'published' | 'hostedZoneId'> {
  /** Hosted zone whose published RRset the output keeps; also the resource's `HostedZoneId`. */
  readonly hostedZoneId: string;
}

const pascal = (label: string): string =>
  label
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** Parses `--format`. @throws {CliError} usage error. */
export const parseRenderFormat = (value: string): RenderFormat => {
  const format = RENDER_FORMATS.find((candidate) => candidate === value);
  if (format === undefined) throw usageError(`--format must be one of ${RENDER_FORMATS.join(', ')}`);
  return format;
};

/**
 * YAML of a plain JSON value. Every string is written JSON-quoted, which YAML 1.2 reads as the
 * same string, so TXT values full of `"`, `;` and `=` need no YAML escaping rules of their own.
 */
const toYaml = (value: unknown, indent = ''): string => {
  if (Array.isArray(value)) {
    return value.map((item) => `${indent}- ${toYaml(item, `${indent}  `).trimStart()}`).join('\n');
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([key, item]) =>
        typeof item === 'object' && item !== null
          ? `${indent}${key}:\n${toYaml(item, `${indent}  `)}`
          : `${indent}${key}: ${toYaml(item)}`,
      )
      .join('\n');
  }
  return JSON.stringify(value);
};

/** Checks every option of a render before any AWS call. @throws {CliError} usage error. */
const checkRenderOptions = (options: Omit<RenderOptions, 'format'>): void => {
  checkTarget(options);
  if (options.keys.length === 0) throw usageError('render needs at least one key');
  for (const key of options.keys) checkPublishedKey(key);
  if (options.logicalId !== undefined) checkLogicalId(options.logicalId);
};

/**
 * Refuses a render that can neither see what is published nor was told to replace it. A
 * `RecordSet` resource, like a zone file, owns the whole RRset, so the keys it does not list are
 * removed when it deploys; the warning on stderr that a pipe into a stack would hide is not
 * enough, hence a refusal that names both ways out.
 *
 * @throws {CliError} usage error (exit code 2) without `hostedZoneId` and without `replace`.
 */
export const checkRenderScope = (options: {
  readonly hostedZoneId?: string | undefined;
  readonly replace?: boolean | undefined;
}): void => {
  if (options.hostedZoneId !== undefined || options.replace === true) return;
  throw usageError(
    'render without --hosted-zone-id cannot see the keys already published, and a stack or zone file ' +
      'that deploys its output replaces the whole RRset: give --hosted-zone-id to render what publish ' +
      'would write (published keys kept), or --replace to render only the given keys',
  );
};

/**
 * Renders the identity RRset for teams that deploy DNS as code: an `AWS::Route53::RecordSet`
 * resource (YAML for SAM, JSON for CloudFormation) or zone-file lines. Offline: calls nothing.
 * Like UPSERT, such a resource owns the whole RRset: with {@link RenderOptions.published} it is
 * what `publish` would write, without it it holds `keys` only.
 *
 * @throws {CliError} usage error for a bad option; `kid_conflict` (exit code 4, as `publish`)
 * for two different keys under one `kid` or a key other than the published one under its `kid`;
 * `kid_revoked` (exit code 4) for a key under a revoked `kid`.
 */
export const render = (options: RenderOptions): string => {
  checkRenderOptions(options);
  const name = formatIdentityName(options);
  const published = options.published ?? { name, exists: false, values: [] };
  if (canonicalName(published.name) !== name) {
    throw usageError(`the published RRset is that of ${published.name}, not of ${name}`);
  }
  const ttl = ttlAfterUpdate(options.ttl, published);
  // Publish the keys one after the other with publish's own plan, so that what render prints is
  // what publish would write: two different keys under one kid are a kid_conflict (verifiers
  // reject both RRs), the same key twice is one RR, a revoked kid stays revoked.
  let values = published.values;
  for (const key of options.keys) {
    const changes = planPublishKey(currentRecordOf({ name, exists: true, values }), key, {
      service: options.service,
      environment: options.environment,
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(key.certThumbprint === undefined ? {} : { certThumbprint: key.certThumbprint }),
    });
    values = mergeKeys(name, values, changes);
  }
  if (options.format === 'zonefile') {
    return `${values.map((value) => `${name}.\t${ttl}\tIN\tTXT\t${value}`).join('\n')}\n`;
  }
  const logicalId =
    options.logicalId ?? `NhiIdentity${pascal(options.service)}${pascal(options.environment)}`;
  const zone = name.slice(`${options.service}.${options.environment}.`.length);
  const template = {
    Resources: {
      [logicalId]: {
        Type: 'AWS::Route53::RecordSet',
        Properties: {
          ...(options.hostedZoneId === undefined
            ? { HostedZoneName: `${zone}.` }
            : { HostedZoneId: normalizeHostedZoneId(options.hostedZoneId) }),
          Name: `${name}.`,
          Type: 'TXT',
          TTL: String(ttl),
          ResourceRecords: values,
        },
      },
    },
  };
  return options.format === 'cloudformation'
    ? `${JSON.stringify(template, null, 2)}\n`
    : `${toYaml(template)}\n`;
};

/**
 * Reads the TXT RRset published at the name (one `ListResourceRecordSets`) and renders what
 * `publish` would write into it (see {@link RenderOptions.published}), so that a stack deploying
 * the output keeps the keys published before it. The output shows Route 53 as it was when read:
 * a key published between this render and the deploy is removed by the deploy, so render again.
 *
 * @throws {CliError} as {@link render}, every usage error before the read; `unsupported_rrset`
 * (exit code 4) for an RRset with a routing policy or an alias; AWS errors (exit code 3).
 */
export const renderPublished = async (
  options: RenderPublishedOptions,
  deps: CommandDeps,
): Promise<string> => {
  checkRenderOptions(options);
  const name = formatIdentityName(options);
  const published = await readTxtRecordSet(deps.route53, options.hostedZoneId, name, retryOptionsOf(deps));
  deps.log?.(
    published.exists
      ? `${name}: rendered over the ${published.values.length} TXT values published there (TTL ${published.ttl})`
      : `${name}: no TXT RRset is published there; rendered the given keys only`,
  );
  return render({ ...options, published });
};
